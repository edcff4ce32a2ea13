"""Trials, paid plans, cancellation at period end and past-due handling."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from billing.models import Subscription, Tier, Usage
from billing.services import (
    QuotaExceeded,
    subscription_start_trial,
    trials_expire,
    usage_reserve,
)
from tests.billing.helpers import deliver_all, subscribe
from tests.generations.factories import GenerationFactory

pytestmark = pytest.mark.django_db


def reserve(user, credits=1):
    return usage_reserve(user=user, credits=credits, generation_id=GenerationFactory(user=user).id)


def test_a_new_user_gets_a_seven_day_creator_trial_without_a_card(alice):
    subscription = subscription_start_trial(user=alice)
    assert (subscription.tier, subscription.status) == (Tier.CREATOR, "trialing")
    assert subscription.stripe_customer_id == ""
    assert subscription.trial_ends_at - timezone.now() > timedelta(days=6, hours=23)
    reserve(alice)
    assert Usage.objects.get(user=alice).monthly_limit == 100
    assert subscription_start_trial(user=alice).id == subscription.id  # idempotent


def test_an_ended_trial_falls_back_to_free(alice, make_subscription):
    make_subscription(alice, Tier.FREE)  # lifts the hourly limit for FREE
    Subscription.objects.filter(user=alice).update(
        tier=Tier.CREATOR,
        status=Subscription.Status.TRIALING,
        trial_ends_at=timezone.now() - timedelta(minutes=1),
        current_period_start=timezone.now() - timedelta(days=7),
        current_period_end=timezone.now() - timedelta(minutes=1),
    )
    for _ in range(10):
        reserve(alice)
    with pytest.raises(QuotaExceeded):
        reserve(alice)
    subscription = Subscription.objects.get(user=alice)
    assert (subscription.tier, subscription.status) == (Tier.FREE, "active")
    assert trials_expire() == 0  # the lazy check already did it


def test_the_beat_task_ends_trials(alice, bob):
    subscription_start_trial(user=alice)
    subscription_start_trial(user=bob)
    Subscription.objects.filter(user=alice).update(trial_ends_at=timezone.now())
    assert trials_expire() == 1
    assert Subscription.objects.get(user=alice).tier == Tier.FREE
    assert Subscription.objects.get(user=bob).tier == Tier.CREATOR


def test_a_trial_user_who_subscribes_keeps_creator_after_the_trial_date(
    alice, stripe_standin, stripe_catalogue, deliver
):
    subscription_start_trial(user=alice)
    subscribe(alice, stripe_standin, deliver)
    Subscription.objects.filter(user=alice).update(trial_ends_at=timezone.now())
    assert trials_expire() == 0
    assert Subscription.objects.get(user=alice).effective_tier == Tier.CREATOR


def test_cancelling_keeps_the_plan_until_the_period_ends(
    alice, stripe_standin, stripe_catalogue, deliver
):
    subscription_start_trial(user=alice)
    sub_id = subscribe(alice, stripe_standin, deliver)

    _, updated = stripe_standin.subscription_update(sub_id, cancel_at_period_end=True)
    deliver_all(deliver, [updated])
    subscription = Subscription.objects.get(user=alice)
    assert subscription.cancel_at_period_end
    assert (subscription.tier, subscription.status) == (Tier.CREATOR, "active")

    _, deleted = stripe_standin.subscription_cancel(sub_id)
    deliver_all(deliver, [deleted])
    subscription.refresh_from_db()
    assert (subscription.tier, subscription.status) == (Tier.FREE, "cancelled")
    assert subscription.effective_tier == Tier.FREE


def test_a_failed_renewal_makes_the_subscription_past_due_and_emails_once(
    alice, stripe_standin, stripe_catalogue, deliver, django_capture_on_commit_callbacks
):
    subscription_start_trial(user=alice)
    sub_id = subscribe(alice, stripe_standin, deliver)
    invoice_created, period_updated = stripe_standin.subscription_renew(sub_id)
    deliver_all(deliver, [invoice_created, period_updated])
    failed = stripe_standin.invoice_finalize_and_pay(
        invoice_created["data"]["object"]["id"], succeed=False
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        deliver_all(deliver, failed + failed)

    subscription = Subscription.objects.get(user=alice)
    assert subscription.status == Subscription.Status.PAST_DUE
    assert subscription.tier == Tier.CREATOR
    assert [m.subject for m in mail.outbox] == [
        "[Creator] Your payment failed — please update your card"
    ]

    paid = stripe_standin.invoice_finalize_and_pay(invoice_created["data"]["object"]["id"])
    deliver_all(deliver, paid)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.past_due_notified_at is None


def test_past_due_users_get_no_overage(alice, make_subscription):
    make_subscription(alice, Tier.CREATOR, paid=True, status=Subscription.Status.PAST_DUE)
    for _ in range(100):
        reserve(alice)
    with pytest.raises(QuotaExceeded) as error:
        reserve(alice)
    assert "payment" in error.value.message


def test_a_renewal_starts_a_fresh_allowance(alice, stripe_standin, stripe_catalogue, deliver):
    subscription_start_trial(user=alice)
    sub_id = subscribe(alice, stripe_standin, deliver)
    reserve(alice, credits=60)
    deliver_all(deliver, stripe_standin.subscription_renew(sub_id))
    reserve(alice, credits=60)  # would be overage without the reset
    rows = list(Usage.objects.filter(user=alice).order_by("period_start"))
    assert [(r.allowance_used, r.overage) for r in rows][-2:] == [(60, 0), (60, 0)]


def test_a_late_renewal_webhook_does_not_open_an_unbilled_allowance(
    alice, make_subscription, stripe_standin, stripe_catalogue, deliver
):
    make_subscription(alice, Tier.CREATOR)  # lifts the hourly limit
    alice.subscription.delete()
    subscription_start_trial(user=alice)
    subscribe(alice, stripe_standin, deliver)
    Subscription.objects.filter(user=alice).update(
        current_period_start=timezone.now() - timedelta(days=30),
        current_period_end=timezone.now() - timedelta(minutes=5),
    )
    reserve(alice, credits=100)
    assert reserve(alice).overage == 1  # still the old period until Stripe renews
    assert Usage.objects.filter(user=alice).count() == 1
