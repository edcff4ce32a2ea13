"""Repeated failed logins for one email are refused for a while (SPEC §3)."""

import pytest
from django.test import Client

from tests.accounts.conftest import log_in
from tests.factories import TEST_PASSWORD

TOO_MANY = "Too many failed login attempts"


@pytest.mark.django_db
def test_it_refuses_the_sixth_attempt_even_with_the_right_password(alice):
    for _ in range(5):
        response = log_in(Client(), alice.email, "wrong-password")
        assert response.status_code == 200
        assert TOO_MANY not in response.content.decode()

    response = log_in(Client(), alice.email, TEST_PASSWORD)

    assert response.status_code == 200
    assert TOO_MANY in response.content.decode()
    assert "_auth_user_id" not in response.client.session


@pytest.mark.django_db
def test_it_counts_failures_per_email_whatever_the_case(alice):
    for _ in range(5):
        log_in(Client(), alice.email.upper(), "wrong-password")

    response = log_in(Client(), alice.email, TEST_PASSWORD)

    assert TOO_MANY in response.content.decode()


@pytest.mark.django_db
def test_it_does_not_lock_out_other_accounts(alice, bob):
    for _ in range(5):
        log_in(Client(), alice.email, "wrong-password")

    response = log_in(Client(), bob.email, TEST_PASSWORD)

    assert response.status_code == 302


@pytest.mark.django_db
def test_it_uses_the_same_message_for_unknown_and_known_emails(alice):
    known = log_in(Client(), alice.email, "wrong-password").content.decode()
    unknown = log_in(Client(), "nobody@example.com", "wrong-password").content.decode()

    message = "The email address and/or password you specified are not correct."
    assert message in known
    assert message in unknown
