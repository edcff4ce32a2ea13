"""Email notifications, the webhook URL and its signing secret (SPEC §3, §10)."""

import pytest

PAGE = "/settings/notifications/"
ROTATE = "/settings/notifications/rotate-secret/"


@pytest.mark.django_db
def test_it_saves_the_toggle_and_the_webhook_url(client, alice):
    assert alice.email_notifications is True
    client.force_login(alice)

    # An unticked checkbox is simply absent from the form data.
    response = client.post(PAGE, {"webhook_url": "https://hooks.example.com/creator"})

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.email_notifications is False
    assert alice.webhook_url == "https://hooks.example.com/creator"


@pytest.mark.django_db
def test_it_refuses_a_webhook_url_that_is_not_http(client, alice):
    client.force_login(alice)

    response = client.post(PAGE, {"email_notifications": "on", "webhook_url": "file:///etc/passwd"})

    assert response.status_code == 200
    assert "Enter a full web address" in response.content.decode()
    alice.refresh_from_db()
    assert alice.webhook_url == ""


@pytest.mark.django_db
def test_it_shows_the_signing_secret_to_its_owner(client, alice):
    client.force_login(alice)

    assert alice.webhook_secret in client.get(PAGE).content.decode()


@pytest.mark.django_db
def test_it_rotates_the_signing_secret(client, alice):
    old_secret = alice.webhook_secret
    client.force_login(alice)

    response = client.post(ROTATE)

    assert response.status_code == 302
    assert response["Location"] == PAGE
    alice.refresh_from_db()
    assert alice.webhook_secret != old_secret
    assert alice.webhook_secret.startswith("whsec_")


@pytest.mark.django_db
def test_it_rotates_only_on_post(client, alice):
    old_secret = alice.webhook_secret
    client.force_login(alice)

    assert client.get(ROTATE).status_code == 405
    alice.refresh_from_db()
    assert alice.webhook_secret == old_secret


@pytest.mark.django_db
def test_rotating_leaves_other_users_secrets_alone(client, alice, bob):
    bobs_secret = bob.webhook_secret
    client.force_login(alice)

    client.post(ROTATE)

    bob.refresh_from_db()
    assert bob.webhook_secret == bobs_secret
