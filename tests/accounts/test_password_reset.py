"""Password reset links work once and expire after one hour (SPEC §3)."""

from datetime import datetime, timedelta

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.test import Client

from tests.accounts.conftest import link_in_last_email, log_in

NEW_PASSWORD = "a-brand-new-passphrase-99"


def request_reset_link(email: str) -> str:
    Client().post("/accounts/password/reset/", {"email": email})
    return link_in_last_email("/accounts/password/reset/key/")


def use_reset_link(link: str) -> str:
    """Follow the link like a browser and say what happened: "password set" or
    "link refused" (allauth's bad-token page)."""
    browser = Client()
    response = browser.get(link, follow=True)
    if response.context.get("token_fail"):
        return "link refused"
    # allauth moves the key into the session and redirects to a key-less URL.
    form_path = response.redirect_chain[-1][0]
    response = browser.post(form_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302, response.content.decode()
    return "password set"


def shift_clock(monkeypatch, by: timedelta) -> None:
    # The token generator's own clock (a library clock): moving it is how a
    # link "ages" without sleeping for an hour.
    real_now = datetime.now()
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: real_now + by)


@pytest.mark.django_db
def test_it_sets_a_new_password_with_a_fresh_link(alice):
    link = request_reset_link(alice.email)

    assert use_reset_link(link) == "password set"
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert log_in(Client(), alice.email, NEW_PASSWORD)["Location"] == "/dashboard/"


@pytest.mark.django_db
def test_it_refuses_a_link_that_was_already_used(alice):
    link = request_reset_link(alice.email)
    assert use_reset_link(link) == "password set"

    assert use_reset_link(link) == "link refused"


@pytest.mark.django_db
def test_it_accepts_a_link_just_under_one_hour_old(alice, monkeypatch):
    link = request_reset_link(alice.email)
    shift_clock(monkeypatch, timedelta(minutes=59))

    assert use_reset_link(link) == "password set"


@pytest.mark.django_db
def test_it_refuses_a_link_older_than_one_hour(alice, monkeypatch):
    old_hash = alice.password
    link = request_reset_link(alice.email)
    shift_clock(monkeypatch, timedelta(hours=1, seconds=1))

    assert use_reset_link(link) == "link refused"
    alice.refresh_from_db()
    assert alice.password == old_hash


@pytest.mark.django_db
def test_it_does_not_reveal_whether_an_email_has_an_account(client, alice):
    known = client.post("/accounts/password/reset/", {"email": alice.email})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]


@pytest.mark.django_db
def test_it_refuses_a_tampered_link_and_changes_nothing(alice):
    link = request_reset_link(alice.email)
    old_hash = alice.password
    prefix, token = link.rstrip("/").rsplit("-", 1)
    tampered = f"{prefix}-{token[:-2]}{'aa' if token[-2:] != 'aa' else 'bb'}/"

    assert use_reset_link(tampered) == "link refused"
    alice.refresh_from_db()
    assert alice.password == old_hash
    assert use_reset_link(link) == "password set"  # the real link still works
