"""`Authorization: Bearer sk_live_…` on the API (SPEC §3, §8)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services
from tests.factories import ApiKeyFactory


def get_me(header: str | None):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    return Client().get("/api/v1/me", **extra)


def assert_unauthenticated(response, message_part: str = ""):
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    error = response.json()["error"]
    assert error["code"] == "unauthenticated"
    assert message_part in error["message"]
    assert set(error) == {"code", "message", "details"}


@pytest.mark.django_db
def test_it_authenticates_with_a_valid_key(alice):
    api_key = ApiKeyFactory(user=alice)

    response = get_me(f"Bearer {api_key.full_key}")

    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.com"


@pytest.mark.django_db
def test_it_accepts_a_key_made_by_the_create_service(alice):
    new_key = services.api_key_create(user=alice, name="CI", scopes=["jobs:read"])

    assert get_me(f"Bearer {new_key.full_key}").status_code == 200


@pytest.mark.django_db
def test_it_rejects_a_revoked_key(alice):
    api_key = ApiKeyFactory(user=alice, revoked_at=timezone.now())

    assert_unauthenticated(get_me(f"Bearer {api_key.full_key}"), "revoked")


@pytest.mark.django_db
def test_it_rejects_an_expired_key(alice):
    api_key = ApiKeyFactory(user=alice, expires_at=timezone.now() - timedelta(seconds=1))

    assert_unauthenticated(get_me(f"Bearer {api_key.full_key}"), "expired")


@pytest.mark.django_db
def test_it_rejects_an_unknown_key(alice):
    ApiKeyFactory(user=alice)

    assert_unauthenticated(get_me("Bearer sk_live_" + "x" * 43), "Invalid API key")


@pytest.mark.django_db
def test_it_rejects_the_key_of_a_deactivated_account(alice):
    api_key = ApiKeyFactory(user=alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    assert_unauthenticated(get_me(f"Bearer {api_key.full_key}"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer a b",
        "Basic dXNlcjpwYXNz",
        "Bearer not_a_key",
        "Bearer sk_live_é",
        "Token sk_live_abc",
    ],
)
def test_it_rejects_a_malformed_authorization_header(alice, header):
    assert_unauthenticated(get_me(header), "Malformed Authorization header")


@pytest.mark.django_db
def test_it_asks_for_credentials_when_none_are_sent():
    assert_unauthenticated(get_me(None))


@pytest.mark.django_db
def test_it_records_when_a_key_was_last_used(alice):
    api_key = ApiKeyFactory(user=alice)
    assert api_key.last_used_at is None
    before = timezone.now()

    get_me(f"Bearer {api_key.full_key}")

    api_key.refresh_from_db()
    assert api_key.last_used_at is not None
    assert api_key.last_used_at >= before


@pytest.mark.django_db
def test_it_does_not_rewrite_last_used_on_every_request(alice):
    # One write per minute at most keeps a busy key from writing on each call.
    recently = timezone.now() - timedelta(seconds=10)
    api_key = ApiKeyFactory(user=alice, last_used_at=recently)

    get_me(f"Bearer {api_key.full_key}")

    api_key.refresh_from_db()
    assert api_key.last_used_at == recently
