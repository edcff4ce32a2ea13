"""Stripe webhooks: verified, processed once, order-independent."""

import json

import pytest
from djstripe.models import Event, WebhookEventTrigger

from billing.models import CreditBalance, CreditPurchase, Subscription, Tier
from billing.payments import checkout_pack_start, checkout_subscription_start
from billing.services import credits_balance, subscription_start_trial

pytestmark = pytest.mark.django_db


def session_id_of(url):
    return url.rsplit("/", 1)[-1]


def subscribe(user, standin, tier=Tier.CREATOR):
    url = checkout_subscription_start(
        user=user, tier=tier, success_url="http://t/ok", cancel_url="http://t/no"
    )
    return standin.checkout_complete(session_id_of(url))


def test_a_subscription_checkout_makes_the_user_a_paying_creator(
    alice, stripe_standin, stripe_catalogue, deliver
):
    subscription_start_trial(user=alice)
    events = subscribe(alice, stripe_standin)
    for event in events:
        assert deliver(event).status_code == 200

    subscription = Subscription.objects.get(user=alice)
    assert subscription.tier == Tier.CREATOR
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.stripe_subscription_id.startswith("sub_")
    assert subscription.is_paid
    assert subscription.current_period_end is not None
    # dj-stripe kept its own copies, fetched back from the API.
    from djstripe.models import Customer as StripeCustomer
    from djstripe.models import Subscription as StripeSubscription

    assert StripeCustomer.objects.get(subscriber=alice).id == subscription.stripe_customer_id
    assert StripeSubscription.objects.filter(id=subscription.stripe_subscription_id).exists()
    assert Event.objects.count() == len(events)


def test_a_bad_signature_is_refused_and_changes_nothing(
    alice, stripe_standin, stripe_catalogue, deliver
):
    subscription_start_trial(user=alice)
    events = subscribe(alice, stripe_standin)
    for event in events:
        response = deliver(event, secret="whsec_someone_else")
        assert response.status_code == 400

    assert Subscription.objects.get(user=alice).status == Subscription.Status.TRIALING
    assert not Event.objects.exists()
    assert not WebhookEventTrigger.objects.filter(valid=True).exists()


def test_a_forged_body_with_a_reused_signature_is_refused(
    alice, stripe_standin, stripe_catalogue, deliver
):
    pack = stripe_catalogue["packs"][50]
    url = checkout_pack_start(user=alice, pack=pack, success_url="http://t/ok", cancel_url="")
    event = stripe_standin.checkout_complete(session_id_of(url))[-1]
    genuine = json.dumps(event)
    from tests.billing.conftest import WEBHOOK_SECRET
    from tests.standins.stripe import sign_payload

    signature = sign_payload(genuine, WEBHOOK_SECRET)
    forged = genuine.replace('"amount_total": 900', '"amount_total": 1')
    assert deliver(None, body=forged, signature=signature).status_code == 400
    assert credits_balance(user=alice) == 0


def test_the_same_event_twice_is_processed_once(alice, stripe_standin, stripe_catalogue, deliver):
    pack = stripe_catalogue["packs"][50]
    url = checkout_pack_start(user=alice, pack=pack, success_url="http://t/ok", cancel_url="")
    events = stripe_standin.checkout_complete(session_id_of(url))
    for event in events + events:
        assert deliver(event).status_code == 200

    assert credits_balance(user=alice) == 50
    assert CreditPurchase.objects.filter(user=alice).count() == 1
    assert CreditBalance.objects.get(user=alice).balance == 50


def test_updated_before_created_still_ends_in_the_right_state(
    alice, stripe_standin, stripe_catalogue, deliver
):
    subscription_start_trial(user=alice)
    created, *_ = subscribe(alice, stripe_standin)
    sub_id = created["data"]["object"]["id"]
    _, updated = stripe_standin.subscription_update(
        sub_id, price=stripe_catalogue["plans"][Tier.STUDIO]
    )

    assert deliver(updated).status_code == 200
    assert deliver(created).status_code == 200  # older, arrives last

    subscription = Subscription.objects.get(user=alice)
    assert subscription.tier == Tier.STUDIO
    assert subscription.status == Subscription.Status.ACTIVE


def test_a_secret_sent_with_the_request_is_ignored_even_in_debug(
    alice, settings, stripe_standin, stripe_catalogue, client, webhook_endpoint
):
    from django.urls import reverse

    from tests.standins.stripe import sign_payload

    settings.DEBUG = True
    pack = stripe_catalogue["packs"][50]
    url = checkout_pack_start(user=alice, pack=pack, success_url="http://t/ok", cancel_url="")
    for event in stripe_standin.checkout_complete(session_id_of(url)):
        payload = json.dumps(event)
        response = client.post(
            reverse("djstripe:djstripe_webhook_by_uuid", args=[webhook_endpoint.djstripe_uuid]),
            payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign_payload(payload, "whsec_attacker"),
            HTTP_X_DJSTRIPE_WEBHOOK_SECRET="whsec_attacker",
        )
        assert response.status_code == 400
    assert credits_balance(user=alice) == 0
