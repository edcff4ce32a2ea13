"""Overage of a period goes on that period's renewal invoice, once."""

import pytest

from billing.models import Usage
from billing.payments import overage_invoice, overage_invoice_due
from billing.services import subscription_start_trial, usage_refund, usage_reserve
from tests.billing.helpers import deliver_all, subscribe
from tests.generations.factories import GenerationFactory

pytestmark = pytest.mark.django_db


def test_creator_overage_is_invoiced_once_with_the_right_amount(
    alice, make_subscription, stripe_standin, stripe_catalogue, deliver
):
    make_subscription(alice, "creator")  # lifts the hourly limit
    alice.subscription.delete()
    subscription_start_trial(user=alice)
    sub_id = subscribe(alice, stripe_standin, deliver)
    jobs = [GenerationFactory(user=alice) for _ in range(104)]
    for job in jobs:
        usage_reserve(user=alice, credits=1, generation_id=job.id)
    usage_refund(generation_id=jobs[-1].id)  # a failed overage job is not billed
    usage = Usage.objects.get(user=alice, stripe_subscription_id=sub_id)
    assert (usage.allowance_used, usage.overage) == (100, 3)

    invoice_created, period_updated = stripe_standin.subscription_renew(sub_id)
    deliver_all(deliver, [invoice_created, period_updated, invoice_created])
    assert overage_invoice_due() == 0
    assert overage_invoice(usage_id=usage.id) is False

    invoice = stripe_standin.get(invoice_created["data"]["object"]["id"])
    items = stripe_standin.of_type("invoiceitem", customer=invoice["customer"])
    assert [(i["amount"], i["invoice"]) for i in items] == [(150, invoice["id"])]
    assert invoice["total"] == 2900 + 150
    usage.refresh_from_db()
    assert usage.overage_charged_cents == 150
    assert usage.overage_invoice_item_id == items[0]["id"]


def test_overage_missed_by_the_renewal_becomes_a_pending_item(
    alice, make_subscription, stripe_standin, stripe_catalogue, deliver
):
    from datetime import timedelta

    from django.utils import timezone

    subscription_start_trial(user=alice)
    sub_id = subscribe(alice, stripe_standin, deliver)
    usage = Usage.objects.create(
        user=alice,
        period_start=timezone.now() - timedelta(days=40),
        period_end=timezone.now() - timedelta(days=10),
        tier="creator",
        monthly_limit=100,
        overage_price_cents=50,
        allowance_used=100,
        overage=7,
        stripe_subscription_id=sub_id,
    )
    assert overage_invoice_due() == 1
    assert overage_invoice_due() == 0
    items = stripe_standin.of_type("invoiceitem")
    assert [(i["amount"], i["invoice"]) for i in items] == [(350, None)]
    usage.refresh_from_db()
    assert usage.overage_charged_cents == 350
