"""dj-stripe webhook receivers -> billing services.

dj-stripe verifies the signature, stores the Event once (a repeat delivery of
the same event id is not dispatched again) and re-fetches the object before
these run, all inside the webhook's transaction: if a handler raises, nothing
is kept and Stripe retries. Handlers stay small and idempotent, and read
state from Stripe rather than from the event body, so events arriving out of
order still leave the right final state.
"""

import logging

import stripe
from django.dispatch import receiver
from djstripe import signals as djstripe_signals
from djstripe.event_handlers import djstripe_receiver
from djstripe.models import WebhookEventTrigger

from billing import payments, services

logger = logging.getLogger(__name__)


@receiver(djstripe_signals.webhook_pre_validate, sender=WebhookEventTrigger)
def _ignore_debug_secret_header(sender, instance, **kwargs):
    # With DEBUG on, dj-stripe accepts a secret sent in the request itself
    # (X-Djstripe-Webhook-Secret, for the Stripe CLI), so anyone who can
    # reach a DEBUG server could sign their own events. Only the endpoint's
    # stored secret counts here.
    instance.headers = {
        name: value
        for name, value in instance.headers.items()
        if name.lower() != "x-djstripe-webhook-secret"
    }


def _object(event) -> dict:
    return (event.data or {}).get("object") or {}


def _subscription_id_of_invoice(invoice: dict) -> str:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    subscription = details.get("subscription") or invoice.get("subscription") or ""
    return subscription if isinstance(subscription, str) else subscription.get("id", "")


@djstripe_receiver("checkout.session.completed")
def on_checkout_completed(sender, event, **kwargs):
    payments.checkout_fulfil(session_id=_object(event)["id"])


@djstripe_receiver(
    [
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ]
)
def on_subscription_changed(sender, event, **kwargs):
    payments.subscription_refresh(stripe_subscription_id=_object(event)["id"])


@djstripe_receiver("invoice.paid")
def on_invoice_paid(sender, event, **kwargs):
    subscription_id = _subscription_id_of_invoice(_object(event))
    if subscription_id:
        payments.subscription_refresh(stripe_subscription_id=subscription_id)


@djstripe_receiver("invoice.payment_failed")
def on_invoice_payment_failed(sender, event, **kwargs):
    subscription_id = _subscription_id_of_invoice(_object(event))
    if subscription_id:
        payments.subscription_mark_past_due(stripe_subscription_id=subscription_id)


@djstripe_receiver("invoice.created")
def on_invoice_created(sender, event, **kwargs):
    invoice = stripe.Invoice.retrieve(_object(event)["id"], api_key=payments.stripe_api_key())
    payments.overage_for_renewal(stripe_invoice=invoice.to_dict())


@djstripe_receiver("charge.refunded")
def on_charge_refunded(sender, event, **kwargs):
    charge = stripe.Charge.retrieve(
        _object(event)["id"], api_key=payments.stripe_api_key()
    ).to_dict()
    services.credit_purchase_refund(
        payment_intent_id=charge.get("payment_intent") or "",
        amount_refunded=charge.get("amount_refunded") or 0,
    )
