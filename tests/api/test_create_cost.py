"""What creating a job costs the database, and how the per-key rate limit
refills over time (`make bench` measures the speed; these pin the work)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.throttles import TierRateThrottle
from billing.models import Reservation, Subscription, Tier, Usage
from billing.services import plan_get, subscription_start_trial
from generations.models import Generation
from tests.api.conftest import assert_error, key_client
from tests.api.test_jobs import create_job

pytestmark = pytest.mark.django_db


def _statements(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = create_job(client)
    assert response.status_code == 201, response.content
    return [q["sql"] for q in queries.captured_queries]


def _reads(statements: list[str], table: str) -> list[int]:
    """Where `table` is read as the main table of a SELECT (not joined in)."""
    return [
        i for i, s in enumerate(statements) if s.startswith("SELECT") and f' FROM "{table}" ' in s
    ]


def test_creating_a_job_reads_what_it_needs_with_the_key_and_reserves_last(
    alice, preset_workflows, generous_rate_limits
):
    client = key_client(alice)
    create_job(client)  # the first job of a period also opens its usage row

    statements = _statements(client)

    # The owner and their subscription come with the key, the workflow with
    # its version: none of them is read again.
    assert _reads(statements, "accounts_apikey") == [0]
    assert 'JOIN "billing_subscription"' in statements[0]
    for table in ("accounts_user", "billing_subscription", "workflows_workflow"):
        assert _reads(statements, table) == [], table
    # The balance lock is taken once, after the job's rows are written, so
    # it is held for the reservation only: nothing after it writes the job.
    locks = [i for i, s in enumerate(statements) if "FOR UPDATE" in s]
    assert len(locks) == 1 and _reads(statements, "billing_creditbalance") == locks
    job_writes = [i for i, s in enumerate(statements) if s.startswith('INSERT INTO "generations_')]
    assert job_writes and max(job_writes) < locks[0]
    after_lock = [s for s in statements[locks[0] + 1 :] if "SAVEPOINT" not in s]
    assert after_lock and all('"billing_' in s.split(" WHERE ")[0] for s in after_lock), after_lock
    assert after_lock[-1].startswith('INSERT INTO "billing_reservation"')
    usage = Usage.objects.get(user=alice)
    assert usage.allowance_used == 2
    assert Reservation.objects.filter(user=alice).count() == 2
    assert Generation.objects.filter(user=alice).count() == 2


def test_a_refused_reservation_leaves_no_job_and_takes_nothing(
    alice, preset_workflows, generous_rate_limits
):
    plan = plan_get(tier=Tier.FREE)
    plan.jobs_per_hour = 0  # the monthly allowance is what this is about
    plan.save()
    client = key_client(alice)
    for _ in range(10):  # FREE: ten images a month
        assert create_job(client).status_code == 201

    response = create_job(client)

    assert_error(response, 402, "quota_exceeded")
    assert Generation.objects.filter(user=alice).count() == 10
    assert Usage.objects.get(user=alice).allowance_used == 10
    assert Reservation.objects.filter(user=alice).count() == 10


def test_the_request_limit_refills_one_slot_per_share_of_the_window(alice, settings, monkeypatch):
    settings.API_REQUEST_RATES = {"free": "3/min"}
    clock = [1_000_000.0]
    monkeypatch.setattr(TierRateThrottle, "timer", lambda self: clock[0])
    client = key_client(alice)

    burst = [client.get("/api/v1/jobs") for _ in range(3)]
    refused = client.get("/api/v1/jobs")
    clock[0] += 19
    still_refused = client.get("/api/v1/jobs")
    clock[0] += 1  # 20 s: a third of the minute, one request's share
    allowed = client.get("/api/v1/jobs")
    again = client.get("/api/v1/jobs")

    assert [r.status_code for r in burst] == [200, 200, 200]
    assert [r["RateLimit-Remaining"] for r in burst] == ["2", "1", "0"]
    assert_error(refused, 429, "rate_limited")
    assert refused["Retry-After"] == "20"
    assert still_refused.status_code == 429 and still_refused["Retry-After"] == "1"
    assert allowed.status_code == 200 and allowed["RateLimit-Remaining"] == "0"
    assert again.status_code == 429


@pytest.mark.django_db(transaction=True)
def test_reading_the_quota_does_not_wait_on_a_job_being_reserved(alice, generous_rate_limits):
    """`me` (and every dashboard page's quota banner) reads the usage row
    without the balance lock that job creation holds."""
    import threading

    from django.db import transaction

    from billing.models import CreditBalance
    from billing.services import usage_current

    usage_current(user=alice)  # this period's row exists, as after any first job
    held, release = threading.Event(), threading.Event()

    def reserve_in_progress():
        try:
            with transaction.atomic():
                CreditBalance.objects.select_for_update().get(user=alice)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=reserve_in_progress)
    holder.start()
    try:
        assert held.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")  # waiting would fail, not hang
        response = key_client(alice).get("/api/v1/me")
    finally:
        release.set()
        holder.join(10)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert response.status_code == 200, response.content
    assert response.json()["quota"]["used"] == 0


def test_me_reads_the_key_with_its_subscription_then_plan_usage_and_credits(alice):
    client = key_client(alice)
    client.get("/api/v1/me")  # this period's usage row exists, as after any first call

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/me")

    assert response.status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]
    assert _reads(statements, "accounts_apikey") == [0]
    assert 'JOIN "billing_subscription"' in statements[0]  # read with the key
    assert _reads(statements, "billing_subscription") == []
    assert _reads(statements, "accounts_user") == []
    plan, usage, credits = (
        _reads(statements, table)
        for table in ("billing_plan", "billing_usage", "billing_creditbalance")
    )
    assert len(plan) == len(usage) == len(credits) == 1
    assert plan < usage < credits
    assert not any("FOR UPDATE" in s for s in statements)  # a plain read: no lock


def test_a_plan_change_shows_on_the_next_request_with_the_same_key(alice):
    """The subscription comes with the key on every request: nothing of it
    is kept from one request to the next."""
    subscription_start_trial(user=alice)
    client = key_client(alice)
    before = client.get("/api/v1/me").json()

    Subscription.objects.filter(user=alice).update(
        tier=Tier.STUDIO, status="active", stripe_subscription_id="sub_test"
    )
    after = client.get("/api/v1/me").json()

    assert (before["tier"], before["quota"]["monthly_limit"]) == ("creator", 100)
    assert after["tier"] == after["quota"]["tier"] == "studio"
    assert after["quota"]["monthly_limit"] == plan_get(tier=Tier.STUDIO).monthly_limit


def test_a_trial_that_ended_ends_on_the_first_api_request(alice, preset_workflows):
    """The subscription read with the key still goes through the trial check:
    the request sees FREE, and the row is moved to FREE."""
    subscription_start_trial(user=alice)
    Subscription.objects.filter(user=alice).update(
        trial_ends_at=timezone.now() - timedelta(minutes=1),
        current_period_start=timezone.now() - timedelta(days=7),
        current_period_end=timezone.now() - timedelta(minutes=1),
    )
    client = key_client(alice)

    me = client.get("/api/v1/me").json()
    job = create_job(client)

    assert (me["tier"], me["subscription_status"]) == ("free", None)
    assert me["quota"]["monthly_limit"] == plan_get(tier=Tier.FREE).monthly_limit
    subscription = Subscription.objects.get(user=alice)
    assert (subscription.tier, subscription.status) == (Tier.FREE, "active")
    assert job.status_code == 201, job.content
    reservation = Reservation.objects.select_related("usage").get(generation_id=job.json()["id"])
    assert reservation.usage.tier == Tier.FREE
