"""Billing pages. Thin: parse input, call one service, render or redirect.

Checkout and the Portal are started with POST (they create Stripe objects);
the success page only reports, it never grants — fulfilment comes from the
signed webhook.
"""

import logging

import stripe
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from billing import payments, selectors
from billing.models import CreditPack
from billing.services import BillingError

logger = logging.getLogger(__name__)


def _absolute(request, name: str) -> str:
    return request.build_absolute_uri(reverse(name))


def pricing(request):
    return render(
        request,
        "pricing.html",
        {"plans": selectors.plans_public(), "packs": selectors.packs_available()},
    )


@login_required
def billing_page(request):
    summary = selectors.billing_summary(user=request.user)
    return render(
        request,
        "billing/billing.html",
        {
            "summary": summary,
            "plans": selectors.plans_public(),
            "packs": selectors.packs_available(),
            "history": selectors.usage_history(user=request.user),
            "ledger": selectors.ledger_recent(user=request.user),
            "invoices": selectors.invoices_recent(user=request.user),
            "stripe_enabled": payments.stripe_configured(),
        },
    )


def _go_to_stripe(request, start):
    if not payments.stripe_configured():
        messages.error(request, "Payments are not set up on this server yet.")
        return redirect("billing:overview")
    try:
        return redirect(start())
    except BillingError as error:
        messages.error(request, error.message)
    except stripe.StripeError:
        logger.exception("Stripe call failed for user %s", request.user.pk)
        messages.error(request, "We could not reach our payment provider. Please try again.")
    return redirect("billing:overview")


@login_required
@require_POST
def subscribe(request):
    return _go_to_stripe(
        request,
        lambda: payments.checkout_subscription_start(
            user=request.user,
            tier=request.POST.get("tier", ""),
            success_url=_absolute(request, "billing:checkout_success"),
            cancel_url=_absolute(request, "billing:overview"),
        ),
    )


@login_required
@require_POST
def buy_credits(request, pack_id: int):
    pack = get_object_or_404(CreditPack, id=pack_id, is_active=True)
    return _go_to_stripe(
        request,
        lambda: payments.checkout_pack_start(
            user=request.user,
            pack=pack,
            success_url=_absolute(request, "billing:checkout_success"),
            cancel_url=_absolute(request, "billing:overview"),
        ),
    )


@login_required
@require_POST
def portal(request):
    return _go_to_stripe(
        request,
        lambda: payments.portal_session_start(
            user=request.user, return_url=_absolute(request, "billing:overview")
        ),
    )


@login_required
def checkout_success(request):
    session = None
    if payments.stripe_configured():
        session = payments.checkout_session_for_user(
            user=request.user, session_id=request.GET.get("session_id", "")[:255]
        )
    if session is None:
        messages.info(request, "We could not find that payment on your account.")
    elif session["payment_status"] == "paid":
        messages.success(
            request,
            "Thank you! Your payment went through; your plan or credits appear here "
            "as soon as Stripe confirms it (usually within seconds).",
        )
    else:
        messages.info(request, "Your payment is still being processed.")
    return redirect("billing:overview")
