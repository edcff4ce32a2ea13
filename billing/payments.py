"""Stripe, through dj-stripe and the stripe library: customers, Checkout,
the Customer Portal, subscription state from Stripe objects, overage
invoicing. Nothing here grants anything on a redirect: money changes only
in the webhook handlers (billing.stripe_events), which call these services.
"""

import logging
from datetime import UTC, datetime, timedelta

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from djstripe.models import Customer as StripeCustomer
from djstripe.settings import djstripe_settings

from billing import notifications
from billing.models import CreditPack, Subscription, Tier, Usage
from billing.services import (
    BillingError,
    credit_purchase_fulfil,
    pack_for_price,
    plan_for_price,
    plan_get,
    subscription_get,
)

logger = logging.getLogger(__name__)

STATUS_FROM_STRIPE = {
    "trialing": Subscription.Status.TRIALING,
    "active": Subscription.Status.ACTIVE,
    "past_due": Subscription.Status.PAST_DUE,
    "unpaid": Subscription.Status.PAST_DUE,
    "incomplete": Subscription.Status.INCOMPLETE,
    "incomplete_expired": Subscription.Status.CANCELLED,
    "canceled": Subscription.Status.CANCELLED,
    "paused": Subscription.Status.CANCELLED,
}
LIVE_STATUSES = ("trialing", "active", "past_due", "unpaid")


def stripe_api_key() -> str:
    return djstripe_settings.get_default_api_key(djstripe_settings.STRIPE_LIVE_MODE)


def _ts(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def stripe_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


# --- Customers, Checkout, Portal ------------------------------------------------


def customer_get_or_create(*, user) -> str:
    """The user's Stripe customer id, created once (dj-stripe keys the create
    call with an idempotency key and tags it with `djstripe_subscriber`)."""
    subscription = subscription_get(user=user)
    if subscription.stripe_customer_id:
        return subscription.stripe_customer_id
    customer, _ = StripeCustomer.get_or_create(subscriber=user, api_key=stripe_api_key())
    Subscription.objects.filter(id=subscription.id, stripe_customer_id="").update(
        stripe_customer_id=customer.id
    )
    return customer.id


def checkout_subscription_start(*, user, tier: str, success_url: str, cancel_url: str) -> str:
    """A Checkout Session for a plan; returns the URL to send the user to."""
    if tier not in (Tier.CREATOR, Tier.STUDIO):
        raise BillingError("Choose the Creator or Studio plan to subscribe.")
    plan = plan_get(tier=tier)
    if not plan.price_id:
        raise BillingError(
            f"The {plan.name} plan cannot be bought online yet. Please contact support."
        )
    subscription = subscription_get(user=user)
    if subscription.is_paid and subscription.tier == plan.tier:
        raise BillingError(f"You are already on the {plan.name} plan.")
    if subscription.is_paid:
        raise BillingError("Change your plan from the subscription portal.")
    customer_id = customer_get_or_create(user=user)
    metadata = {"djstripe_subscriber": str(user.pk), "kind": "subscription", "tier": plan.tier}
    session = stripe.checkout.Session.create(
        api_key=stripe_api_key(),
        mode="subscription",
        customer=customer_id,
        client_reference_id=str(user.pk),
        line_items=[{"price": plan.price_id, "quantity": 1}],
        metadata=metadata,
        subscription_data={"metadata": metadata},
        success_url=success_url + "?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=cancel_url,
    )
    return session.url


def checkout_pack_start(*, user, pack: CreditPack, success_url: str, cancel_url: str) -> str:
    if not pack.is_active or not pack.stripe_price_id:
        raise BillingError(f"{pack.name} cannot be bought online right now.")
    customer_id = customer_get_or_create(user=user)
    metadata = {"djstripe_subscriber": str(user.pk), "kind": "credit_pack", "pack": str(pack.pk)}
    session = stripe.checkout.Session.create(
        api_key=stripe_api_key(),
        mode="payment",
        customer=customer_id,
        client_reference_id=str(user.pk),
        line_items=[{"price": pack.stripe_price_id, "quantity": 1}],
        metadata=metadata,
        payment_intent_data={"metadata": metadata},
        success_url=success_url + "?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=cancel_url,
    )
    return session.url


def portal_session_start(*, user, return_url: str) -> str:
    """The Customer Portal (card, plan change, cancellation) for a user who
    has a Stripe customer."""
    subscription = subscription_get(user=user)
    if not subscription.stripe_customer_id:
        raise BillingError("You have no subscription to manage yet. Choose a plan first.")
    session = stripe.billing_portal.Session.create(
        api_key=stripe_api_key(), customer=subscription.stripe_customer_id, return_url=return_url
    )
    return session.url


def checkout_session_for_user(*, user, session_id: str) -> dict | None:
    """What a Checkout success page may show: the session, only if it belongs
    to this user. Grants nothing."""
    subscription = subscription_get(user=user)
    if not session_id or not subscription.stripe_customer_id:
        return None
    try:
        session = stripe.checkout.Session.retrieve(session_id, api_key=stripe_api_key()).to_dict()
    except stripe.StripeError:
        return None
    if session.get("customer") != subscription.stripe_customer_id:
        return None
    return {"status": session.get("status"), "payment_status": session.get("payment_status")}


# --- Webhook-driven state -------------------------------------------------------


def _user_for_customer(customer_id: str):
    from django.contrib.auth import get_user_model

    if not customer_id:
        return None
    subscriber_id = (
        StripeCustomer.objects.filter(id=customer_id)
        .values_list("subscriber_id", flat=True)
        .first()
    )
    if subscriber_id:
        return get_user_model().objects.filter(pk=subscriber_id).first()
    subscription = Subscription.objects.filter(stripe_customer_id=customer_id).first()
    return subscription.user if subscription else None


def _period(stripe_subscription: dict) -> tuple[datetime | None, datetime | None]:
    items = (stripe_subscription.get("items") or {}).get("data") or []
    source = items[0] if items and items[0].get("current_period_start") else stripe_subscription
    return _ts(source.get("current_period_start")), _ts(source.get("current_period_end"))


def subscription_apply_stripe(*, stripe_subscription: dict) -> Subscription | None:
    """Make our Subscription row match a Stripe subscription as Stripe has it
    now (callers pass a freshly retrieved object, so event order does not
    matter). Runs in the webhook's transaction; idempotent."""
    user = _user_for_customer(stripe_subscription.get("customer") or "")
    if user is None:
        logger.error("Subscription %s has no known customer", stripe_subscription.get("id"))
        return None
    items = (stripe_subscription.get("items") or {}).get("data") or []
    price_id = items[0]["price"]["id"] if items else ""
    plan = plan_for_price(price_id=price_id)
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(
            id=subscription_get(user=user).id
        )
        stripe_status = stripe_subscription.get("status", "")
        is_current = subscription.stripe_subscription_id in ("", stripe_subscription["id"])
        if not is_current and stripe_status not in LIVE_STATUSES:
            # An older subscription ending must not undo the user's newer one.
            return subscription
        if plan is None:
            logger.error(
                "Subscription %s uses unknown price %r; the plan was not changed.",
                stripe_subscription["id"],
                price_id,
            )
            return subscription
        status = STATUS_FROM_STRIPE.get(stripe_status, Subscription.Status.INCOMPLETE)
        start, end = _period(stripe_subscription)
        if status == Subscription.Status.CANCELLED:
            subscription.tier = Tier.FREE
            subscription.current_period_start = timezone.now()
            subscription.current_period_end = None
        else:
            subscription.tier = plan.tier
            subscription.current_period_start = start or subscription.current_period_start
            subscription.current_period_end = end
            subscription.trial_ends_at = _ts(stripe_subscription.get("trial_end"))
        if status != Subscription.Status.PAST_DUE:
            subscription.past_due_notified_at = None
        subscription.status = status
        subscription.cancel_at_period_end = bool(stripe_subscription.get("cancel_at_period_end"))
        subscription.stripe_subscription_id = stripe_subscription["id"]
        subscription.stripe_customer_id = stripe_subscription.get("customer") or ""
        subscription.stripe_price_id = price_id
        subscription.save()
    return subscription


def subscription_refresh(*, stripe_subscription_id: str) -> Subscription | None:
    stripe_subscription = stripe.Subscription.retrieve(
        stripe_subscription_id, api_key=stripe_api_key()
    )
    return subscription_apply_stripe(stripe_subscription=stripe_subscription.to_dict())


def subscription_mark_past_due(*, stripe_subscription_id: str) -> bool:
    """A renewal payment failed: past due, and one email per delinquency."""
    subscription = Subscription.objects.filter(
        stripe_subscription_id=stripe_subscription_id
    ).first()
    if subscription is None:
        return False
    now = timezone.now()
    Subscription.objects.filter(id=subscription.id).exclude(
        status=Subscription.Status.CANCELLED
    ).update(status=Subscription.Status.PAST_DUE, updated_at=now)
    claimed = Subscription.objects.filter(
        id=subscription.id, past_due_notified_at__isnull=True
    ).update(past_due_notified_at=now)
    if claimed:
        user_id = subscription.user_id
        transaction.on_commit(lambda: notifications.payment_failed_send(user_id=user_id))
    return bool(claimed)


def checkout_fulfil(*, session_id: str) -> bool:
    """Fulfil a completed Checkout Session (from its webhook only): link the
    customer; for a credit pack, add the credits once. Returns True when
    credits were added."""
    session = stripe.checkout.Session.retrieve(session_id, api_key=stripe_api_key()).to_dict()
    customer_id = session.get("customer") or ""
    user = _user_for_customer(customer_id)
    claimed_user_id = (session.get("metadata") or {}).get("djstripe_subscriber")
    if user is None or str(user.pk) != str(claimed_user_id):
        logger.error("Checkout %s: customer and subscriber disagree; nothing granted", session_id)
        return False
    Subscription.objects.filter(user=user, stripe_customer_id="").update(
        stripe_customer_id=customer_id
    )
    if session.get("status") != "complete" or session.get("payment_status") != "paid":
        return False
    if session.get("mode") == "subscription" and session.get("subscription"):
        subscription_refresh(stripe_subscription_id=session["subscription"])
        return False
    if session.get("mode") != "payment":
        return False
    lines = stripe.checkout.Session.list_line_items(session_id, api_key=stripe_api_key())
    price_ids = [line["price"]["id"] for line in lines["data"]]
    packs = [pack_for_price(price_id=price_id) for price_id in price_ids]
    if len(packs) != 1 or packs[0] is None:
        logger.error("Checkout %s: unknown price(s) %s; nothing granted", session_id, price_ids)
        return False
    purchase = credit_purchase_fulfil(
        user=user,
        pack=packs[0],
        checkout_session_id=session_id,
        amount_cents=session.get("amount_total") or 0,
        currency=session.get("currency") or "usd",
        payment_intent_id=session.get("payment_intent") or "",
    )
    return purchase is not None


# --- Overage ---------------------------------------------------------------------


def overage_invoice(*, usage_id: int, invoice_id: str = "") -> bool:
    """Put one period's overage on Stripe, once: an invoice item on the given
    draft invoice (or pending, for the next one). The Stripe call carries an
    idempotency key derived from the period, and the row lock plus
    `overage_charged_at` make a second call a no-op. Returns True if charged now."""
    with transaction.atomic():
        usage = Usage.objects.select_for_update().select_related("user").get(id=usage_id)
        if usage.overage_charged_at or usage.overage <= 0 or not usage.overage_price_cents:
            return False
        subscription = subscription_get(user=usage.user)
        if not subscription.stripe_customer_id:
            logger.error("Usage %s has overage but the user has no Stripe customer", usage.id)
            return False
        amount = usage.overage * usage.overage_price_cents
        params = {
            "customer": subscription.stripe_customer_id,
            "amount": amount,
            "currency": "usd",
            "description": (
                f"{usage.overage} image(s) over the {usage.monthly_limit} included, "
                f"{usage.period_start:%b %d}–{usage.period_end:%b %d, %Y}"
            ),
            "metadata": {"usage_id": str(usage.id), "user_id": str(usage.user_id)},
        }
        if invoice_id:
            params["invoice"] = invoice_id
        item = stripe.InvoiceItem.create(
            api_key=stripe_api_key(), idempotency_key=f"creator-overage-{usage.id}", **params
        )
        usage.overage_charged_cents = amount
        usage.overage_invoice_item_id = item.id
        usage.overage_charged_at = timezone.now()
        usage.save(
            update_fields=[
                "overage_charged_cents",
                "overage_invoice_item_id",
                "overage_charged_at",
                "updated_at",
            ]
        )
    return True


def overage_for_renewal(*, stripe_invoice: dict) -> int:
    """invoice.created for a renewal: bill the periods that ended by then."""
    if stripe_invoice.get("billing_reason") != "subscription_cycle":
        return 0
    if stripe_invoice.get("status") != "draft":
        return 0
    user = _user_for_customer(stripe_invoice.get("customer") or "")
    if user is None:
        return 0
    period_end = _ts(stripe_invoice.get("period_end")) or timezone.now()
    due = Usage.objects.filter(
        user=user,
        overage__gt=0,
        overage_charged_at__isnull=True,
        period_start__lt=period_end,
        period_end__lte=period_end,
    ).values_list("id", flat=True)
    return sum(
        overage_invoice(usage_id=usage_id, invoice_id=stripe_invoice["id"]) for usage_id in due
    )


def overage_invoice_due() -> int:
    """Beat task body: overage of periods that ended over an hour ago and
    were not put on a renewal invoice becomes a pending item for the next one."""
    cutoff = timezone.now() - timedelta(hours=1)
    due = Usage.objects.filter(
        overage__gt=0, overage_charged_at__isnull=True, period_end__lt=cutoff
    ).values_list("id", flat=True)
    count = 0
    for usage_id in due:
        try:
            count += overage_invoice(usage_id=usage_id)
        except stripe.StripeError:
            logger.exception("Could not bill overage for usage %s", usage_id)
    return count
