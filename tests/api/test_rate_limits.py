"""Per-key and per-tier rate limits: 429 `rate_limited` with Retry-After,
and RateLimit-* headers on every answer."""

import pytest

from billing.models import Subscription, Tier
from tests.api.conftest import assert_error, key_client
from tests.api.test_jobs import create_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def tight_limits(settings):
    settings.API_REQUEST_RATES = {"free": "3/min", "creator": "6/min", "studio": "6/min"}
    settings.API_JOB_RATES = {"free": "2/hour", "creator": "100/hour", "studio": "100/hour"}


def test_every_answer_says_how_many_requests_are_left(alice_api, tight_limits):
    first = alice_api.get("/api/v1/jobs")
    second = alice_api.get("/api/v1/me")

    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"]) == ("3", "2")
    assert (second["RateLimit-Limit"], second["RateLimit-Remaining"]) == ("3", "1")


def test_going_over_the_limit_is_a_429_with_retry_after(alice_api, tight_limits):
    for _ in range(3):
        assert alice_api.get("/api/v1/jobs").status_code == 200

    response = alice_api.get("/api/v1/jobs")

    error = assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert error["details"]["retry_after"] == int(response["Retry-After"])
    assert response["RateLimit-Remaining"] == "0"


def test_limits_are_per_key(alice, tight_limits):
    busy, fresh = key_client(alice), key_client(alice)
    for _ in range(3):
        busy.get("/api/v1/jobs")

    assert busy.get("/api/v1/jobs").status_code == 429
    assert fresh.get("/api/v1/jobs").status_code == 200


def test_paying_tiers_get_higher_limits(alice, bob, tight_limits):
    Subscription.objects.create(user=bob, tier=Tier.CREATOR, status="active")

    free = key_client(alice).get("/api/v1/me")
    creator = key_client(bob).get("/api/v1/me")

    assert free["RateLimit-Limit"] == "3"
    assert creator["RateLimit-Limit"] == "6"
    assert creator.json()["rate_limit"]["window"] == "6/min"


def test_a_cancelled_subscription_gets_free_limits(alice, tight_limits):
    Subscription.objects.create(user=alice, tier=Tier.STUDIO, status="cancelled")

    assert key_client(alice).get("/api/v1/me")["RateLimit-Limit"] == "3"


def test_job_creation_is_limited_per_account_across_keys(alice, preset_workflows, settings):
    settings.API_JOB_RATES = {"free": "2/hour"}
    first, second = key_client(alice), key_client(alice)

    assert create_job(first).status_code == 201
    assert create_job(second).status_code == 201
    response = create_job(first)

    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 60  # an hourly window
    assert response["RateLimit-Limit"] == "2"
    # Reading is not job creation.
    assert first.get("/api/v1/jobs").status_code == 200


def test_a_refused_request_still_shows_the_limit(alice, tight_limits):
    reader = key_client(alice, scopes=["jobs:read"])

    response = reader.post("/api/v1/jobs/00000000-0000-0000-0000-000000000000/cancel")

    assert response.status_code == 403
    assert response["RateLimit-Limit"] == "3"
