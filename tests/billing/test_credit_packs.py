"""Buying credit packs: fulfilled by the webhook only, clawed back on refund."""

import pytest
import stripe
from django.test import Client

from billing.models import CreditEntry, CreditPurchase, Subscription, Tier
from billing.services import credits_balance, subscription_start_trial, usage_reserve
from tests.billing.conftest import STRIPE_KEY
from tests.billing.helpers import buy_pack, deliver_all, session_id_of
from tests.factories import TEST_PASSWORD
from tests.generations.factories import GenerationFactory

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    assert client.login(email=user.email, password=TEST_PASSWORD)
    return client


def test_buying_a_pack_from_the_billing_page(alice, stripe_standin, stripe_catalogue, deliver):
    pack = stripe_catalogue["packs"][200]
    response = logged_in(alice).post(f"/billing/credits/{pack.id}/buy/")
    assert response.status_code == 302
    assert response["Location"].startswith(stripe_standin.url + "/c/pay/cs_test_")
    assert credits_balance(user=alice) == 0  # nothing before Stripe says so

    events = stripe_standin.checkout_complete(session_id_of(response["Location"]))
    deliver_all(deliver, events)
    assert credits_balance(user=alice) == 200
    entry = CreditEntry.objects.get(user=alice)
    assert (entry.kind, entry.amount, entry.balance_after) == ("purchase", 200, 200)


def test_the_success_url_grants_nothing_and_shows_nothing_to_another_user(
    alice, charlie, stripe_standin, stripe_catalogue
):
    pack = stripe_catalogue["packs"][50]
    location = logged_in(alice).post(f"/billing/credits/{pack.id}/buy/")["Location"]
    session_id = session_id_of(location)
    stripe_standin.checkout_complete(session_id)  # paid, webhook not delivered yet

    response = logged_in(charlie).get(
        f"/billing/checkout/success/?session_id={session_id}", follow=True
    )
    assert "could not find that payment" in response.content.decode()
    response = logged_in(alice).get(
        f"/billing/checkout/success/?session_id={session_id}", follow=True
    )
    assert "Thank you" in response.content.decode()
    assert credits_balance(user=alice) == credits_balance(user=charlie) == 0


def test_a_refund_claws_credits_back_without_going_negative(
    alice, make_subscription, stripe_standin, stripe_catalogue, deliver
):
    make_subscription(alice, Tier.FREE)
    Subscription.objects.filter(user=alice).update(stripe_customer_id="")
    charge = buy_pack(alice, stripe_standin, deliver, stripe_catalogue["packs"][50])
    usage_reserve(user=alice, credits=40, generation_id=GenerationFactory(user=alice).id)
    assert credits_balance(user=alice) == 20  # 10 from the allowance, 30 credits

    deliver_all(deliver, [stripe_standin.charge_refund(charge["id"], amount=450)])  # half
    assert credits_balance(user=alice) == 0
    purchase = CreditPurchase.objects.get(user=alice)
    assert (purchase.credits_clawed_back, purchase.shortfall) == (20, 5)

    deliver_all(deliver, [stripe_standin.charge_refund(charge["id"])])  # the rest
    purchase.refresh_from_db()
    assert credits_balance(user=alice) == 0
    assert (purchase.credits_clawed_back, purchase.shortfall) == (20, 30)
    assert purchase.refunded_cents == 900
    assert sum(CreditEntry.objects.filter(user=alice).values_list("amount", flat=True)) == 0


def test_a_refund_of_an_unspent_pack_removes_all_its_credits(
    alice, stripe_standin, stripe_catalogue, deliver
):
    charge = buy_pack(alice, stripe_standin, deliver, stripe_catalogue["packs"][50])
    event = stripe_standin.charge_refund(charge["id"])
    deliver_all(deliver, [event, event])
    assert credits_balance(user=alice) == 0
    assert CreditPurchase.objects.get(user=alice).shortfall == 0


def test_a_checkout_for_an_unknown_price_grants_nothing(
    alice, stripe_standin, stripe_catalogue, deliver
):
    from billing.payments import customer_get_or_create

    stray = stripe_standin.create_price(name="Not ours", unit_amount=100, recurring=False)
    session = stripe.checkout.Session.create(
        api_key=STRIPE_KEY,
        mode="payment",
        customer=customer_get_or_create(user=alice),
        line_items=[{"price": stray["id"], "quantity": 1}],
        metadata={"djstripe_subscriber": str(alice.pk), "kind": "credit_pack", "pack": "1"},
        success_url="http://t/ok",
    )
    deliver_all(deliver, stripe_standin.checkout_complete(session.id))
    assert credits_balance(user=alice) == 0
    assert not CreditPurchase.objects.exists()


def test_a_subscription_to_an_unknown_price_does_not_change_the_plan(
    alice, stripe_standin, stripe_catalogue, deliver
):
    from billing.payments import customer_get_or_create

    subscription_start_trial(user=alice)
    stray = stripe_standin.create_price(name="Legacy", unit_amount=100)
    session = stripe.checkout.Session.create(
        api_key=STRIPE_KEY,
        mode="subscription",
        customer=customer_get_or_create(user=alice),
        line_items=[{"price": stray["id"], "quantity": 1}],
        metadata={"djstripe_subscriber": str(alice.pk)},
        success_url="http://t/ok",
    )
    deliver_all(deliver, stripe_standin.checkout_complete(session.id))
    subscription = Subscription.objects.get(user=alice)
    assert (subscription.tier, subscription.status) == (Tier.CREATOR, "trialing")
    assert subscription.stripe_subscription_id == ""


def test_a_plan_without_a_stripe_price_says_so(alice, stripe_standin, db):
    response = logged_in(alice).post("/billing/subscribe/", {"tier": "studio"}, follow=True)
    assert "cannot be bought online yet" in response.content.decode()


def test_stripe_refusing_a_price_is_reported_not_crashed(alice, stripe_standin, stripe_catalogue):
    from billing.services import plan_get

    plan = plan_get(tier=Tier.CREATOR)
    plan.stripe_price_id = "price_deleted_in_stripe"
    plan.save()
    response = logged_in(alice).post("/billing/subscribe/", {"tier": "creator"}, follow=True)
    assert "could not reach our payment provider" in response.content.decode()
    assert Subscription.objects.get(user=alice).stripe_subscription_id == ""
