"""Creating, listing and revoking keys on the settings page (SPEC §3)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiKey
from accounts.services import api_key_revoke
from creator_site.errors import NotFound
from tests.factories import ApiKeyFactory

PAGE = "/settings/api-keys/"


def revoke_url(api_key) -> str:
    return f"/settings/api-keys/{api_key.id}/revoke/"


@pytest.mark.django_db
def test_it_shows_the_full_key_once_right_after_creation(client, alice):
    client.force_login(alice)

    response = client.post(PAGE, {"name": "Build server", "scopes": ["generate", "jobs:read"]})

    assert response.status_code == 200
    full_key = response.context["new_key"].full_key
    page = response.content.decode()
    assert full_key in page
    assert "only time it is shown" in page
    assert "no-store" in response["Cache-Control"]
    api_key = ApiKey.objects.get(user=alice)
    assert api_key.name == "Build server"
    assert api_key.scopes == ["generate", "jobs:read"]

    again = client.get(PAGE).content.decode()
    assert full_key not in again
    assert api_key.prefix in again


@pytest.mark.django_db
def test_it_stores_the_chosen_expiry_date(client, alice):
    client.force_login(alice)
    expires_on = (timezone.now() + timedelta(days=30)).date()

    client.post(PAGE, {"name": "Temp", "scopes": ["generate"], "expires_on": expires_on})

    api_key = ApiKey.objects.get(user=alice)
    assert api_key.expires_at.date() == expires_on
    assert (api_key.expires_at.hour, api_key.expires_at.minute) == (0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "", "scopes": ["generate"]}, "Give the key a name"),
        ({"name": "x", "scopes": []}, "Choose at least one scope."),
        ({"name": "x", "scopes": ["admin"]}, "Select a valid choice"),
        ({"name": "x", "scopes": ["generate"], "expires_on": "2001-01-01"}, "after today"),
        ({"name": "x" * 101, "scopes": ["generate"]}, "at most 100 characters"),
    ],
)
def test_it_explains_what_is_wrong_with_a_new_key(client, alice, data, message):
    client.force_login(alice)

    response = client.post(PAGE, data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["new_key"] is None
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_it_lists_a_keys_details_and_status(client, alice):
    ApiKeyFactory(user=alice, name="Active one", scopes=["jobs:read"])
    ApiKeyFactory(user=alice, name="Old one", revoked_at=timezone.now())
    ApiKeyFactory(user=alice, name="Stale one", expires_at=timezone.now() - timedelta(days=1))
    client.force_login(alice)

    page = client.get(PAGE).content.decode()

    for text in ["Active one", "Old one", "Stale one", "jobs:read", "Active", "Revoked", "Expired"]:
        assert text in page


@pytest.mark.django_db
def test_it_does_not_list_another_users_keys(client, alice, charlie):
    ApiKeyFactory(user=charlie, name="Charlie's secret project")
    client.force_login(alice)

    assert "Charlie&#x27;s secret project" not in client.get(PAGE).content.decode()


@pytest.mark.django_db
def test_it_asks_for_confirmation_before_revoking(client, alice):
    api_key = ApiKeyFactory(user=alice)
    client.force_login(alice)

    response = client.get(revoke_url(api_key))

    assert response.status_code == 200
    assert "Revoke key" in response.content.decode()
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


@pytest.mark.django_db
def test_it_revokes_a_key_on_post(client, alice):
    api_key = ApiKeyFactory(user=alice)
    client.force_login(alice)

    response = client.post(revoke_url(api_key))

    assert response.status_code == 302
    assert response["Location"] == PAGE
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert not api_key.is_usable


@pytest.mark.django_db
def test_bob_cannot_revoke_alices_key(client, alice, bob):
    api_key = ApiKeyFactory(user=alice)
    client.force_login(bob)

    assert client.get(revoke_url(api_key)).status_code == 404
    assert client.post(revoke_url(api_key)).status_code == 404

    api_key.refresh_from_db()
    assert api_key.revoked_at is None
    assert api_key.is_usable


@pytest.mark.django_db
def test_it_requires_login(client, alice):
    api_key = ApiKeyFactory(user=alice)

    assert client.get(PAGE)["Location"].startswith("/accounts/login/")
    assert client.post(revoke_url(api_key))["Location"].startswith("/accounts/login/")
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


@pytest.mark.django_db
def test_the_revoke_service_answers_not_found_for_another_users_key(alice, bob):
    api_key = ApiKeyFactory(user=alice)

    with pytest.raises(NotFound):
        api_key_revoke(user=bob, key_id=api_key.id)
    with pytest.raises(NotFound):
        api_key_revoke(user=bob, key_id="not-a-uuid")

    api_key.refresh_from_db()
    assert api_key.revoked_at is None
