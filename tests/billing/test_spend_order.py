"""The spend order of SPEC §7: allowance, then credits, then overage."""

import pytest
from django.core import mail

from billing.models import CreditEntry, Tier, Usage
from billing.services import (
    QuotaExceeded,
    RateLimited,
    credits_balance,
    credits_grant,
    plan_get,
    usage_reserve,
)
from tests.generations.factories import GenerationFactory

pytestmark = pytest.mark.django_db


def reserve(user, credits=1):
    job = GenerationFactory(user=user)
    return usage_reserve(user=user, credits=credits, generation_id=job.id)


def test_it_spends_allowance_then_credits_then_refuses_on_free(alice, make_subscription):
    make_subscription(alice, Tier.FREE)
    credits_grant(
        user=alice, kind=CreditEntry.Kind.BONUS, amount=3, idempotency_key="b1", description="Hi"
    )
    taken = [reserve(alice) for _ in range(13)]

    assert [(r.allowance, r.credits, r.overage) for r in taken] == [(1, 0, 0)] * 10 + [
        (0, 1, 0)
    ] * 3
    assert credits_balance(user=alice) == 0
    with pytest.raises(QuotaExceeded) as error:
        reserve(alice)
    assert error.value.code == "quota_exceeded"
    assert "Buy a credit pack" in error.value.message
    usage = Usage.objects.get(user=alice)
    assert (usage.allowance_used, usage.credits_used, usage.overage) == (10, 3, 0)


def test_free_is_blocked_at_ten(alice, make_subscription):
    make_subscription(alice, Tier.FREE)
    for _ in range(10):
        reserve(alice)
    with pytest.raises(QuotaExceeded):
        reserve(alice)
    assert Usage.objects.get(user=alice).allowance_used == 10


def test_a_job_can_straddle_buckets(alice, make_subscription):
    make_subscription(alice, Tier.CREATOR, paid=True)
    credits_grant(
        user=alice, kind=CreditEntry.Kind.BONUS, amount=2, idempotency_key="b", description="x"
    )
    for _ in range(49):
        reserve(alice, credits=2)
    taken = reserve(alice, credits=5)  # 2 allowance left, 2 credits, 1 overage
    assert (taken.allowance, taken.credits, taken.overage) == (2, 2, 1)


def test_creator_goes_into_overage(alice, make_subscription):
    make_subscription(alice, Tier.CREATOR, paid=True)
    for _ in range(100):
        reserve(alice)
    taken = reserve(alice)
    assert taken.overage == 1
    usage = Usage.objects.get(user=alice)
    assert usage.overage == 1
    assert usage.overage_due_cents == 50


def test_a_trial_gets_the_creator_allowance_but_no_overage(alice, make_subscription):
    from billing.services import subscription_start_trial

    make_subscription(alice, Tier.CREATOR)  # lifts the hourly limit
    alice.subscription.delete()
    subscription_start_trial(user=alice)
    for _ in range(100):
        reserve(alice)
    with pytest.raises(QuotaExceeded) as error:
        reserve(alice)
    assert "trial" in error.value.message


def test_studio_has_no_overage(alice, make_subscription):
    make_subscription(alice, Tier.STUDIO, paid=True)
    plan = plan_get(tier=Tier.STUDIO)
    plan.monthly_limit = 2
    plan.save()
    reserve(alice)
    reserve(alice)
    with pytest.raises(QuotaExceeded):
        reserve(alice)


def test_reserving_twice_for_one_job_takes_once(alice, make_subscription):
    make_subscription(alice, Tier.FREE)
    job = GenerationFactory(user=alice)
    first = usage_reserve(user=alice, credits=1, generation_id=job.id)
    second = usage_reserve(user=alice, credits=1, generation_id=job.id)
    assert first == second
    assert Usage.objects.get(user=alice).allowance_used == 1


def test_free_is_rate_limited_per_hour(alice, make_subscription):
    make_subscription(alice, Tier.FREE, rate_limited=True)
    credits_grant(
        user=alice, kind=CreditEntry.Kind.BONUS, amount=50, idempotency_key="b", description="x"
    )
    for _ in range(10):
        reserve(alice)
    with pytest.raises(RateLimited) as error:
        reserve(alice)
    assert 0 < error.value.retry_after <= 3601
    assert "10 jobs an hour" in error.value.message
    assert credits_balance(user=alice) == 50  # the refused job took nothing


def test_it_warns_at_80_and_100_percent_once(
    alice, make_subscription, django_capture_on_commit_callbacks
):
    make_subscription(alice, Tier.FREE)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(10):
            reserve(alice)
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        "[Creator] You have used 80% of this period's images",
        "[Creator] You have used all images included this period",
    ]
    usage = Usage.objects.get(user=alice)
    assert usage.warned_80_at and usage.warned_100_at
