"""The pricing page, the billing page and the quota banner."""

import pytest

from billing.models import CreditEntry, Tier
from billing.services import credits_grant, subscription_start_trial, usage_reserve
from tests.generations.factories import GenerationFactory

pytestmark = pytest.mark.django_db


def test_the_pricing_page_lists_the_plans(client, db):
    body = client.get("/pricing/").content.decode()
    for text in ("Free", "Creator", "Studio", "$29", "$99", "$0.50 per extra image"):
        assert text in body


def test_the_billing_page_needs_a_login(client):
    response = client.get("/billing/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_billing_page_shows_plan_usage_and_ledger(client, alice):
    subscription_start_trial(user=alice)
    credits_grant(
        user=alice,
        kind=CreditEntry.Kind.BONUS,
        amount=7,
        idempotency_key="b",
        description="Welcome gift",
    )
    usage_reserve(user=alice, credits=3, generation_id=GenerationFactory(user=alice).id)
    client.force_login(alice)
    body = client.get("/billing/").content.decode()
    assert "Creator" in body and "Trialing" in body
    assert "of 100 images" in body
    assert "Welcome gift" in body
    assert "<svg" in body


def test_the_banner_warns_at_80_percent_and_at_the_limit(client, alice, make_subscription):
    make_subscription(alice, Tier.FREE)
    client.force_login(alice)
    for _ in range(8):
        usage_reserve(user=alice, credits=1, generation_id=GenerationFactory(user=alice).id)
    assert "used 80% of this period" in client.get("/billing/").content.decode()
    for _ in range(2):
        usage_reserve(user=alice, credits=1, generation_id=GenerationFactory(user=alice).id)
    assert "used all 10 images" in client.get("/billing/").content.decode()


def test_the_portal_button_sends_a_customer_to_stripe(
    client, alice, stripe_standin, stripe_catalogue, deliver
):
    from tests.billing.helpers import subscribe

    subscription_start_trial(user=alice)
    subscribe(alice, stripe_standin, deliver)
    client.force_login(alice)
    response = client.post("/billing/portal/")
    assert response.status_code == 302
    assert response["Location"].startswith(stripe_standin.url + "/p/session/bps_")
    body = client.get("/billing/").content.decode()
    assert "Manage subscription" in body
    assert "$29.00" in body  # the first invoice, synced by dj-stripe from the webhook


def test_revenue_by_tier_counts_paid_invoices(alice, stripe_standin, stripe_catalogue, deliver):
    from datetime import timedelta

    from django.utils import timezone

    from billing.selectors import revenue_by_tier
    from tests.billing.helpers import subscribe

    subscription_start_trial(user=alice)
    subscribe(alice, stripe_standin, deliver, tier=Tier.STUDIO)
    assert revenue_by_tier(since=timezone.now() - timedelta(days=30)) == {"studio": 9900}
