import pytest

from billing.models import Subscription, Tier
from billing.services import plan_get


@pytest.fixture
def make_subscription():
    """Put a user on a tier: `paid=True` means a live Stripe subscription.
    The hourly job limit is lifted unless `rate_limited=True`, so tests can
    use up a whole allowance."""

    def make(
        user,
        tier=Tier.FREE,
        *,
        paid=False,
        status=Subscription.Status.ACTIVE,
        rate_limited=False,
        **fields,
    ):
        plan = plan_get(tier=tier)
        if not rate_limited:
            plan.jobs_per_hour = None
            plan.save(update_fields=["jobs_per_hour"])
        subscription, _ = Subscription.objects.update_or_create(
            user=user,
            defaults={
                "tier": tier,
                "status": status,
                "stripe_subscription_id": "sub_test_" + str(user.pk)[:8] if paid else "",
                "stripe_customer_id": "cus_test_" + str(user.pk)[:8] if paid else "",
                **fields,
            },
        )
        return subscription

    return make


STRIPE_KEY = "sk_test_" + "standin0" * 4
WEBHOOK_SECRET = "whsec_standin_secret"


@pytest.fixture
def stripe_standin(settings):
    """The Stripe stand-in on a free loopback port, with the stripe library
    (and so dj-stripe) pointed at it."""
    import stripe

    from tests.standins.stripe import StripeStandIn

    server = StripeStandIn(api_key=STRIPE_KEY).start()
    settings.STRIPE_SECRET_KEY = STRIPE_KEY
    previous = stripe.api_base
    stripe.api_base = server.url
    yield server
    stripe.api_base = previous
    server.stop()


@pytest.fixture
def stripe_catalogue(stripe_standin, db):
    """Prices for the paid plans and the credit packs, as an operator would
    set them up in Stripe and paste into the admin."""
    from billing.models import CreditPack

    prices = {}
    for tier in (Tier.CREATOR, Tier.STUDIO):
        plan = plan_get(tier=tier)
        price = stripe_standin.create_price(name=plan.name, unit_amount=plan.price_cents)
        plan.stripe_price_id = price["id"]
        plan.save(update_fields=["stripe_price_id"])
        prices[tier] = price["id"]
    CreditPack.objects.all().delete()
    packs = {}
    for name, credits, cents in (("50 credits", 50, 900), ("200 credits", 200, 2900)):
        price = stripe_standin.create_price(name=name, unit_amount=cents, recurring=False)
        packs[credits] = CreditPack.objects.create(
            name=name, credits=credits, price_cents=cents, stripe_price_id=price["id"]
        )
    return {"plans": prices, "packs": packs}


@pytest.fixture
def webhook_endpoint(db):
    from djstripe.models import WebhookEndpoint

    from tests.standins.stripe import API_VERSION

    return WebhookEndpoint.objects.create(
        id="we_standin",
        livemode=False,
        url="https://creator.test/stripe/webhook/",
        enabled_events=["*"],
        secret=WEBHOOK_SECRET,
        status="enabled",
        api_version=API_VERSION,
    )


@pytest.fixture
def deliver(client, webhook_endpoint):
    """POST an event to the webhook view, signed like Stripe signs it
    (or with `secret`/`signature` to forge one). Returns the response."""
    import json

    from django.urls import reverse

    from tests.standins.stripe import sign_payload

    url = reverse("djstripe:djstripe_webhook_by_uuid", args=[webhook_endpoint.djstripe_uuid])

    def post(event, *, secret=WEBHOOK_SECRET, signature=None, body=None):
        payload = body if body is not None else json.dumps(event)
        return client.post(
            url,
            payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature or sign_payload(payload, secret),
        )

    return post
