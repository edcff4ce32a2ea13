"""A failed or cancelled job gets back exactly what it took, once."""

import pytest

from billing.models import CreditEntry, Tier, Usage
from billing.services import (
    credits_balance,
    credits_grant,
    usage_record_outcome,
    usage_refund,
    usage_reserve,
)
from tests.generations.factories import GenerationFactory

pytestmark = pytest.mark.django_db


def test_a_failed_job_is_refunded_once_even_if_reported_twice(alice, make_subscription):
    make_subscription(alice, Tier.FREE)
    credits_grant(
        user=alice, kind=CreditEntry.Kind.BONUS, amount=5, idempotency_key="b", description="x"
    )
    for _ in range(10):
        usage_reserve(user=alice, credits=1, generation_id=GenerationFactory(user=alice).id)
    job = GenerationFactory(user=alice)
    usage_reserve(user=alice, credits=3, generation_id=job.id)
    assert credits_balance(user=alice) == 2

    assert usage_refund(generation_id=job.id) is True
    assert usage_refund(generation_id=job.id) is False

    assert credits_balance(user=alice) == 5
    refunds = CreditEntry.objects.filter(user=alice, kind=CreditEntry.Kind.REFUND)
    assert [(e.amount, e.balance_after, e.generation_id) for e in refunds] == [(3, 5, job.id)]
    assert Usage.objects.get(user=alice).credits_used == 0


def test_a_refund_returns_allowance_and_overage(alice, make_subscription):
    make_subscription(alice, Tier.CREATOR, paid=True)
    for _ in range(99):
        usage_reserve(user=alice, credits=1, generation_id=GenerationFactory(user=alice).id)
    job = GenerationFactory(user=alice)
    usage_reserve(user=alice, credits=3, generation_id=job.id)
    usage = Usage.objects.get(user=alice)
    assert (usage.allowance_used, usage.overage) == (100, 2)

    usage_refund(generation_id=job.id)
    usage.refresh_from_db()
    assert (usage.allowance_used, usage.overage) == (99, 0)


def test_refunding_an_unknown_job_does_nothing(alice):
    assert usage_refund(generation_id=GenerationFactory(user=alice).id) is False


def test_outcomes_are_counted_once(alice, make_subscription):
    make_subscription(alice, Tier.FREE)
    ok, bad = GenerationFactory(user=alice), GenerationFactory(user=alice)
    usage_reserve(user=alice, credits=1, generation_id=ok.id)
    usage_reserve(user=alice, credits=1, generation_id=bad.id)
    assert usage_record_outcome(generation_id=ok.id, status="completed")
    assert not usage_record_outcome(generation_id=ok.id, status="completed")
    assert usage_record_outcome(generation_id=bad.id, status="failed")
    usage = Usage.objects.get(user=alice)
    assert (usage.processed, usage.failed) == (1, 1)
