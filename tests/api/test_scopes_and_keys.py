"""Who may call what: API keys with scopes, revoked keys, session users (SPEC §8)."""

import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.api.conftest import assert_error, key_client
from tests.generations.conftest import png_bytes

pytestmark = pytest.mark.django_db

# (method, path, scope it needs)
ENDPOINTS = [
    ("get", "/api/v1/jobs", "jobs:read"),
    ("post", "/api/v1/jobs", "generate"),
    ("get", f"/api/v1/jobs/{uuid.uuid4()}", "jobs:read"),
    ("post", f"/api/v1/jobs/{uuid.uuid4()}/cancel", "jobs:write"),
    ("post", "/api/v1/generate", "generate"),
    ("post", "/api/v1/uploads", "generate"),
    ("get", "/api/v1/workflows", "workflows:read"),
    ("get", "/api/v1/workflows/portrait_pro", "workflows:read"),
]
ALL_SCOPES = ["generate", "jobs:read", "jobs:write", "workflows:read"]


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_a_key_without_the_scope_is_forbidden(alice, method, path, scope):
    client = key_client(alice, scopes=[s for s in ALL_SCOPES if s != scope])

    response = getattr(client, method)(path, {}, format="json")

    error = assert_error(response, 403, "forbidden")
    assert scope in error["message"]


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_a_key_with_only_that_scope_gets_past_the_permission_check(
    alice, preset_workflows, method, path, scope
):
    client = key_client(alice, scopes=[scope])

    response = getattr(client, method)(path, {}, format="json")

    # Not a 401/403: the request reached the endpoint (an empty body is a
    # 400, an unknown job a 404, and a multipart-only endpoint a 415).
    assert response.status_code in (200, 400, 404, 415), response.content


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_anonymous_requests_are_unauthenticated(method, path, scope):
    response = getattr(APIClient(), method)(path, {}, format="json")

    assert_error(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_an_unknown_key_is_a_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer sk_live_not-a-real-key")

    assert_error(client.get("/api/v1/jobs"), 401, "unauthenticated")


def test_a_revoked_key_is_a_401(alice):
    client = key_client(alice)
    client.api_key.revoked_at = timezone.now()
    client.api_key.save()

    error = assert_error(client.get("/api/v1/jobs"), 401, "unauthenticated")
    assert "revoked" in error["message"]


def test_a_dashboard_session_has_every_scope(alice, preset_workflows):
    client = APIClient()
    client.force_login(alice)

    assert client.get("/api/v1/jobs").status_code == 200
    assert client.get("/api/v1/workflows").status_code == 200
    response = client.post(
        "/api/v1/jobs",
        {"workflow": "portrait_pro", "image": _png_file()},
        format="multipart",
    )
    assert response.status_code == 201, response.content


def test_session_posts_still_need_the_csrf_token(alice, preset_workflows):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post(
        "/api/v1/jobs", {"workflow": "portrait_pro", "image": _png_file()}, format="multipart"
    )

    assert_error(response, 403, "forbidden")


def test_me_describes_the_account_and_the_key(alice):
    client = key_client(alice, scopes=["jobs:read"])

    response = client.get("/api/v1/me")

    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "alice@example.com"
    assert body["tier"] == "free"
    assert body["subscription_status"] is None
    assert body["api_key"]["prefix"] == client.api_key.prefix
    assert body["api_key"]["scopes"] == ["jobs:read"]
    assert body["rate_limit"]["limit"] >= body["rate_limit"]["remaining"] > 0
    assert "key_hash" not in str(body)
    # Reading the quota made the account's FREE row: still no subscription.
    again = client.get("/api/v1/me").json()
    assert (again["tier"], again["subscription_status"]) == ("free", None)


def test_me_shows_the_plan_of_a_subscriber(alice):
    from billing.models import Subscription, Tier

    Subscription.objects.create(user=alice, tier=Tier.STUDIO, status="active")

    body = key_client(alice, scopes=["generate"]).get("/api/v1/me").json()

    assert (body["tier"], body["subscription_status"]) == ("studio", "active")


def _png_file(name="me.png", data=None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data or png_bytes((64, 64)), content_type="image/png")
