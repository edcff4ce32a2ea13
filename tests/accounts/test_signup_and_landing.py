"""Sign-up → verify the email → log in → onboarding → dashboard (SPEC §3)."""

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from accounts.models import User
from billing.models import Subscription, Tier
from tests.accounts.conftest import link_in_last_email, log_in

PASSWORD = "a-long-unusual-passphrase-42"


def sign_up(client, email="newcomer@example.com"):
    return client.post(
        "/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


@pytest.mark.django_db
def test_it_sends_a_verification_email_on_sign_up(client):
    response = sign_up(client)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["newcomer@example.com"]
    assert "/accounts/confirm-email/" in mail.outbox[0].body
    assert not EmailAddress.objects.get(email="newcomer@example.com").verified


@pytest.mark.django_db
def test_it_refuses_login_until_the_email_is_verified(client):
    sign_up(client)

    browser = Client()
    response = log_in(browser, "newcomer@example.com", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in browser.session
    assert browser.get("/dashboard/").status_code == 302


@pytest.mark.django_db
def test_it_lands_a_verified_newcomer_on_onboarding_then_on_the_dashboard(client):
    sign_up(client)
    confirm_path = link_in_last_email("/accounts/confirm-email/")

    # The link itself only shows a form (no state change on GET); POST confirms.
    assert client.get(confirm_path).status_code == 200
    assert not EmailAddress.objects.get(email="newcomer@example.com").verified
    client.post(confirm_path)
    assert EmailAddress.objects.get(email="newcomer@example.com").verified

    browser = Client()
    response = log_in(browser, "newcomer@example.com", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/onboarding/"
    assert browser.get("/onboarding/").status_code == 200

    finish = browser.post("/onboarding/")
    assert finish["Location"] == "/dashboard/"

    next_browser = Client()
    response = log_in(next_browser, "newcomer@example.com", PASSWORD)
    assert response["Location"] == "/dashboard/"


@pytest.mark.django_db
def test_it_starts_the_creator_trial_on_sign_up(client, settings):
    sign_up(client)

    user = User.objects.get(email="newcomer@example.com")
    subscription = Subscription.objects.get(user=user)
    assert subscription.tier == Tier.CREATOR
    assert subscription.status == Subscription.Status.TRIALING
    trial_days = (subscription.trial_ends_at - user.created_at).total_seconds() / 86400
    assert trial_days == pytest.approx(settings.TRIAL_DAYS, abs=0.01)


def test_emails_name_the_site_from_site_url_not_example_com(db, client, mailoutbox, settings):
    from django.contrib.sites.models import Site

    assert Site.objects.get(id=settings.SITE_ID).domain == "127.0.0.1:8000"
    client.post(
        "/accounts/signup/",
        {
            "email": "new@example.com",
            "password1": "a-long-Passw0rd!",
            "password2": "a-long-Passw0rd!",
        },
    )
    body = mailoutbox[-1].body
    assert "example.com" not in body.replace("new@example.com", "")
    assert "127.0.0.1:8000" in body
