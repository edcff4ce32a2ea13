"""Reads for the billing pages and the API's `me`."""

from dataclasses import dataclass

from djstripe.models import Invoice as StripeInvoice

from billing.models import CreditEntry, CreditPack, Plan, Subscription, Tier, Usage
from billing.services import credits_balance, plan_get, subscription_get, usage_current


@dataclass
class BillingSummary:
    subscription: Subscription
    plan: Plan
    usage: Usage
    credits: int

    @property
    def quota_level(self) -> int:
        """0 (fine), 80 or 100 — drives the banner."""
        if self.usage.percent_used >= 100:
            return 100
        if self.usage.percent_used >= 80:
            return 80
        return 0


def billing_summary(*, user, subscription: Subscription | None = None) -> BillingSummary:
    """`subscription`: the row as read earlier in this request, if it was."""
    subscription = subscription_get(user=user, loaded=subscription)
    plan = plan_get(tier=subscription.effective_tier)
    return BillingSummary(
        subscription=subscription,
        plan=plan,
        usage=usage_current(user=user, subscription=subscription, plan=plan),
        credits=credits_balance(user=user),
    )


def plans_public() -> list[Plan]:
    # Every tier has a row (users can be on any of them); plan_get restores
    # a deleted one from the defaults.
    plans = [plan_get(tier=tier) for tier in Tier.values]
    return sorted((p for p in plans if p.is_public), key=lambda p: (p.display_order, p.price_cents))


def packs_available() -> list[CreditPack]:
    return list(CreditPack.objects.filter(is_active=True))


def usage_history(*, user, periods: int = 12) -> list[dict]:
    """The last `periods` usage rows, oldest first, with SVG bar geometry
    (100 units per bar, bars 0–100 high)."""
    rows = list(Usage.objects.filter(user=user).order_by("-period_start")[:periods])[::-1]
    peak = max([r.allowance_used + r.credits_used + r.overage for r in rows] + [1])
    bars = []
    for i, row in enumerate(rows):
        total = row.allowance_used + row.credits_used + row.overage
        height = round(100 * total / peak)
        bars.append(
            {"usage": row, "total": total, "x": i * 100 + 15, "y": 100 - height, "height": height}
        )
    return bars


def ledger_recent(*, user, limit: int = 25) -> list[CreditEntry]:
    return list(CreditEntry.objects.filter(user=user)[:limit])


def invoices_recent(*, user, limit: int = 12) -> list[dict]:
    """Invoices dj-stripe has synced from webhooks, newest first."""
    invoices = StripeInvoice.objects.filter(customer__subscriber=user).order_by("-created")[:limit]
    return [
        {
            "number": inv.stripe_data.get("number") or inv.id,
            "created": inv.created,
            "total_cents": inv.stripe_data.get("total") or 0,
            "status": inv.stripe_data.get("status") or "",
            "url": inv.stripe_data.get("hosted_invoice_url") or "",
        }
        for inv in invoices
    ]


def banner_for(*, user) -> dict | None:
    """What the site-wide banner should say, read-only (no rows created):
    past due first, then 100% and 80% of the allowance."""
    from django.utils import timezone

    subscription = Subscription.objects.filter(user=user).first()
    if subscription and subscription.status == Subscription.Status.PAST_DUE:
        return {
            "level": "danger",
            "text": "Your last payment failed. Update your card to keep your plan.",
        }
    now = timezone.now()
    usage = Usage.objects.filter(user=user, period_start__lte=now, period_end__gt=now).first()
    if usage is None or not usage.monthly_limit:
        return None
    if usage.allowance_used >= usage.monthly_limit:
        return {
            "level": "warning",
            "text": (
                f"You have used all {usage.monthly_limit} images included this period. "
                "New jobs use your credits, or overage where your plan allows it."
            ),
        }
    if usage.allowance_used * 100 >= usage.monthly_limit * 80:
        return {
            "level": "info",
            "text": f"You have used {usage.percent_used}% of this period's images.",
        }
    return None


def billing_me(*, user, subscription: Subscription | None = None) -> dict:
    """Plan, quota and credits as plain data, for the API's `me`."""
    summary = billing_summary(user=user, subscription=subscription)
    usage = summary.usage
    return {
        "tier": summary.plan.tier,
        "status": summary.subscription.status,
        "trial_ends_at": summary.subscription.trial_ends_at,
        "period_start": usage.period_start,
        "period_end": usage.period_end,
        "monthly_limit": usage.monthly_limit,
        "used": usage.allowance_used,
        "remaining": usage.allowance_left,
        "overage": usage.overage,
        "overage_price_cents": summary.plan.overage_price_cents,
        "credits": summary.credits,
        "jobs_per_hour": summary.plan.jobs_per_hour,
    }


def revenue_by_tier(*, since) -> dict[str, int]:
    """Cents collected on paid invoices since `since`, by the payer's current
    tier (packs and overage included), for the operations dashboard."""
    totals: dict[str, int] = {}
    invoices = StripeInvoice.objects.filter(created__gte=since).select_related("customer")
    tiers = dict(Subscription.objects.values_list("stripe_customer_id", "tier"))
    for invoice in invoices:
        if invoice.stripe_data.get("status") != "paid":
            continue
        tier = tiers.get(invoice.customer_id, "unknown")
        totals[tier] = totals.get(tier, 0) + (invoice.stripe_data.get("amount_paid") or 0)
    return totals
