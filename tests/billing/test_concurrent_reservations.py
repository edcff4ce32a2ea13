"""Fifty requests at once for a user with ten left: exactly ten win."""

import threading

import pytest
from django.db import connection

from billing.models import CreditBalance, CreditEntry, Reservation, Tier, Usage
from billing.services import QuotaExceeded, credits_grant, plan_get, usage_reserve
from tests.generations.factories import GenerationFactory


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_reservations_accept_exactly_ten(alice, make_subscription):
    make_subscription(alice, Tier.FREE)
    plan = plan_get(tier=Tier.FREE)
    plan.monthly_limit, plan.jobs_per_hour = 4, None
    plan.save()
    credits_grant(
        user=alice, kind=CreditEntry.Kind.BONUS, amount=6, idempotency_key="b", description="x"
    )
    jobs = [GenerationFactory(user=alice) for _ in range(50)]
    start = threading.Barrier(50)
    accepted, refused, errors = [], [], []

    def attempt(job):
        try:
            start.wait()
            usage_reserve(user=alice, credits=1, generation_id=job.id)
            accepted.append(job.id)
        except QuotaExceeded:
            refused.append(job.id)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert (len(accepted), len(refused)) == (10, 40)
    assert CreditBalance.objects.get(user=alice).balance == 0
    assert Reservation.objects.filter(user=alice).count() == 10
    usage = Usage.objects.get(user=alice)
    assert (usage.allowance_used, usage.credits_used) == (4, 6)
    entries = list(CreditEntry.objects.filter(user=alice).order_by("created_at", "id"))
    assert sum(e.amount for e in entries) == 0
    assert min(e.balance_after for e in entries) == 0
