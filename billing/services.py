"""Money and quotas: plans, allowance, the credit ledger, subscription state.

Lock order, everywhere: the user's CreditBalance row first, then their Usage
row, then a Reservation. Every function that changes a user's money takes the
balance lock, so two requests for the same user serialise and two users never
wait on each other.
"""

import logging
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from billing import notifications
from billing.models import (
    DEFAULT_PLANS,
    CreditBalance,
    CreditEntry,
    CreditPack,
    CreditPurchase,
    Plan,
    Subscription,
    Tier,
    Usage,
)
from billing.models import Reservation as ReservationRow

logger = logging.getLogger(__name__)

# A staff adjustment larger than this is a typo, not a goodwill gesture.
MAX_ADJUSTMENT = 100_000


class BillingError(Exception):
    """An error whose message is a sentence a user or staff member can act on."""

    code = "billing_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class QuotaExceeded(BillingError):
    code = "quota_exceeded"


class RateLimited(BillingError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class InvalidAdjustment(BillingError):
    code = "invalid_adjustment"


@dataclass(frozen=True)
class Reservation:
    """What usage_reserve took from each bucket for one job."""

    generation_id: uuid.UUID
    allowance: int
    credits: int
    overage: int

    @property
    def total(self) -> int:
        return self.allowance + self.credits + self.overage


# --- Plans ---------------------------------------------------------------------


def plan_get(*, tier: str) -> Plan:
    """The plan row for a tier, re-created from the defaults if it was deleted."""
    try:
        return Plan.objects.get(tier=tier)
    except Plan.DoesNotExist:
        plan, _ = Plan.objects.get_or_create(tier=tier, defaults=DEFAULT_PLANS[tier])
        return plan


def plan_for_price(*, price_id: str) -> Plan | None:
    if not price_id:
        return None
    for plan in Plan.objects.all():
        if plan.price_id == price_id:
            return plan
    return None


def pack_for_price(*, price_id: str) -> CreditPack | None:
    if not price_id:
        return None
    return CreditPack.objects.filter(stripe_price_id=price_id).first()


# --- Subscription state --------------------------------------------------------


def subscription_start_trial(*, user) -> Subscription:
    """Give a new user the CREATOR trial (SPEC §3). Idempotent per user."""
    now = timezone.now()
    days = settings.TRIAL_DAYS
    subscription, _ = Subscription.objects.get_or_create(
        user=user,
        defaults={
            "tier": Tier.CREATOR,
            "status": Subscription.Status.TRIALING,
            "trial_ends_at": now + timedelta(days=days),
            "current_period_start": now,
            "current_period_end": now + timedelta(days=days),
        },
    )
    CreditBalance.objects.get_or_create(user=user)
    return subscription


def subscription_get(*, user, loaded: Subscription | None = None) -> Subscription:
    """The user's subscription (a FREE one if they never had any), with an
    ended trial already moved to FREE.

    `loaded`: the row as read moments ago in the same request (API key
    authentication joins it, see `subscription_loaded`), saving the read."""
    if loaded is None:
        loaded, _ = Subscription.objects.get_or_create(
            user=user, defaults={"tier": Tier.FREE, "status": Subscription.Status.ACTIVE}
        )
    subscription_end_trial_if_due(subscription=loaded)
    return loaded


def subscription_loaded(user) -> Subscription | None:
    """The user's subscription, or None if they have none yet. No query when
    it was read together with `user` (API key authentication reads key, user
    and subscription in one query); one otherwise.

    Only for a user loaded for the current request: a user object kept
    longer may carry a row that has changed since."""
    try:
        return user.subscription
    except Subscription.DoesNotExist:
        return None


def subscription_end_trial_if_due(*, subscription: Subscription) -> bool:
    """Move a card-less trial that has ended to FREE. Idempotent: the
    conditional update changes the row once."""
    now = timezone.now()
    if not (
        subscription.status == Subscription.Status.TRIALING
        and not subscription.stripe_subscription_id
        and subscription.trial_ends_at
        and subscription.trial_ends_at <= now
    ):
        return False
    changed = Subscription.objects.filter(
        id=subscription.id,
        status=Subscription.Status.TRIALING,
        stripe_subscription_id="",
        trial_ends_at__lte=now,
    ).update(
        tier=Tier.FREE,
        status=Subscription.Status.ACTIVE,
        current_period_start=now,
        current_period_end=None,
        updated_at=now,
    )
    subscription.refresh_from_db()
    return bool(changed)


def trials_expire() -> int:
    """Beat task body: end every card-less trial that is over."""
    count = 0
    due = Subscription.objects.filter(
        status=Subscription.Status.TRIALING,
        stripe_subscription_id="",
        trial_ends_at__lte=timezone.now(),
    )
    for subscription in due:
        count += subscription_end_trial_if_due(subscription=subscription)
    return count


def _month_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def _period_for(subscription: Subscription, now: datetime) -> tuple[datetime, datetime]:
    """The allowance period containing `now`: the Stripe (or trial) period
    while one is running, otherwise the calendar month."""
    start, end = subscription.current_period_start, subscription.current_period_end
    if subscription.effective_tier != Tier.FREE and start and end and start <= now:
        if now < end:
            return start, end
        if subscription.is_paid:
            # Stripe's renewal webhook is late: stay in the last period
            # rather than open a fresh allowance Stripe has not billed.
            return start, end
    return _month_bounds(now)


def _usage_for_update(*, user, subscription: Subscription, plan: Plan, now) -> Usage:
    """The current period's usage row, locked. Callers hold the balance lock,
    so the get-or-create cannot race."""
    start, end = _period_for(subscription, now)
    usage = Usage.objects.select_for_update().filter(user=user, period_start=start).first()
    if usage is None:
        usage = Usage.objects.create(
            user=user,
            period_start=start,
            period_end=end,
            tier=plan.tier,
            monthly_limit=plan.monthly_limit,
            overage_price_cents=plan.overage_price_cents if subscription.is_paid else None,
            stripe_subscription_id=subscription.stripe_subscription_id,
        )
    elif usage.tier != plan.tier or usage.monthly_limit != plan.monthly_limit:
        # A plan change mid-period applies the new limit to the rest of it.
        usage.tier, usage.monthly_limit = plan.tier, plan.monthly_limit
        usage.overage_price_cents = plan.overage_price_cents if subscription.is_paid else None
        usage.save(update_fields=["tier", "monthly_limit", "overage_price_cents", "updated_at"])
    return usage


def usage_current(
    *, user, subscription: Subscription | None = None, plan: Plan | None = None
) -> Usage:
    """The current period's usage row (created if needed), for display.

    A plain read when the row exists and matches the plan (every page view
    and API `me`); the balance lock only to create it or apply a plan change.
    `subscription` and `plan`, when the caller has them, save their reads."""
    subscription = subscription or subscription_get(user=user)
    plan = plan or plan_get(tier=subscription.effective_tier)
    start, _ = _period_for(subscription, timezone.now())
    usage = Usage.objects.filter(user=user, period_start=start).first()
    if usage is not None and (usage.tier, usage.monthly_limit) == (plan.tier, plan.monthly_limit):
        return usage
    with transaction.atomic():
        _lock_balance(user)
        return _usage_for_update(
            user=user, subscription=subscription, plan=plan, now=timezone.now()
        )


# --- The ledger ----------------------------------------------------------------


def _lock_balance(user) -> CreditBalance:
    balance = CreditBalance.objects.select_for_update().filter(user=user).first()
    if balance is None:
        try:
            with transaction.atomic():
                CreditBalance.objects.create(user=user)
        except IntegrityError:
            pass  # another request created it; the locked read below waits for it
        balance = CreditBalance.objects.select_for_update().get(user=user)
    return balance


def _ledger_write(
    *,
    balance: CreditBalance,
    kind: str,
    amount: int,
    idempotency_key: str,
    description: str,
    generation_id=None,
    created_by=None,
) -> CreditEntry | None:
    """Append one entry under the held balance lock. Returns None when the
    key was already used (the earlier entry stands)."""
    if CreditEntry.objects.filter(idempotency_key=idempotency_key).exists():
        return None
    new_balance = balance.balance + amount
    if new_balance < 0:
        raise BillingError("That would make the credit balance negative.")
    entry = CreditEntry.objects.create(
        user_id=balance.user_id,
        kind=kind,
        amount=amount,
        balance_after=new_balance,
        idempotency_key=idempotency_key,
        description=description[:255],
        generation_id=generation_id,
        created_by=created_by,
    )
    balance.balance = new_balance
    balance.save(update_fields=["balance", "updated_at"])
    return entry


def credits_balance(*, user) -> int:
    return CreditBalance.objects.filter(user=user).values_list("balance", flat=True).first() or 0


@transaction.atomic
def credits_grant(
    *, user, kind: str, amount: int, idempotency_key: str, description: str
) -> CreditEntry | None:
    """Add credits (purchase or bonus). Idempotent per key; returns None on a repeat."""
    if amount <= 0:
        raise InvalidAdjustment("A grant must add at least one credit.")
    balance = _lock_balance(user)
    return _ledger_write(
        balance=balance,
        kind=kind,
        amount=amount,
        idempotency_key=idempotency_key,
        description=description,
    )


@transaction.atomic
def credits_adjust(
    *, user, amount: int, reason: str, staff_user, idempotency_key: str = ""
) -> CreditEntry:
    """A staff correction with a reason. Raises InvalidAdjustment for zero,
    huge, reason-less or balance-breaking amounts."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidAdjustment("Give a reason for the adjustment; it is shown in the ledger.")
    if amount == 0:
        raise InvalidAdjustment("An adjustment of 0 credits changes nothing.")
    if abs(amount) > MAX_ADJUSTMENT:
        raise InvalidAdjustment(
            f"Adjustments are limited to {MAX_ADJUSTMENT:,} credits at a time; "
            "split a larger correction or check the amount."
        )
    balance = _lock_balance(user)
    if balance.balance + amount < 0:
        raise InvalidAdjustment(
            f"The balance is {balance.balance} credit(s); removing {-amount} would make it "
            "negative. Remove at most the current balance."
        )
    entry = _ledger_write(
        balance=balance,
        kind=CreditEntry.Kind.ADJUSTMENT,
        amount=amount,
        idempotency_key=idempotency_key or f"adjust:{uuid.uuid4()}",
        description=reason,
        created_by=staff_user,
    )
    if entry is None:
        raise InvalidAdjustment("This adjustment was already applied.")
    return entry


# --- Spending ------------------------------------------------------------------


def _check_rate(*, user, plan: Plan, now) -> None:
    if not plan.jobs_per_hour:
        return
    window = ReservationRow.objects.filter(user=user, created_at__gt=now - timedelta(hours=1))
    # Counting at most the limit keeps this one cheap query however busy the hour was.
    if window[: plan.jobs_per_hour].count() >= plan.jobs_per_hour:
        oldest = window.order_by("created_at").values_list("created_at", flat=True).first()
        retry_after = max(1, int((oldest + timedelta(hours=1) - now).total_seconds()) + 1)
        raise RateLimited(
            f"The {plan.name} plan runs up to {plan.jobs_per_hour} jobs an hour. "
            f"Try again in {max(1, retry_after // 60)} minute(s), or upgrade for a higher limit.",
            retry_after=retry_after,
        )


def usage_reserve(
    *,
    user,
    credits: int,
    generation_id,
    new_job: bool = False,
    subscription: Subscription | None = None,
) -> Reservation:
    """Reserve `credits` for one job: monthly allowance first, then purchased
    credits, then overage where the plan allows it.

    Runs in (or joins) a transaction and locks the user's balance row, so
    concurrent reservations serialise and never overspend; the lock lasts
    until that transaction commits, so job creation calls this last. Raises
    QuotaExceeded (nothing taken) or RateLimited. Idempotent per job: a second
    call for the same generation_id returns the first reservation
    (`new_job=True` says the id was just made, which skips that lookup).
    `subscription`: the row as read earlier in this request, if it was
    (`subscription_loaded`), saving one read.
    """
    if credits < 0:
        raise ValueError("credits must be >= 0")
    # Inside the caller's transaction (job creation): no savepoint round
    # trips while the lock is held. Nothing is taken before every check that
    # may refuse has passed (at most this period's usage row is opened), so
    # a refusal leaves nothing spent in that transaction.
    with nullcontext() if connection.in_atomic_block else transaction.atomic():
        return _reserve(
            user=user,
            credits=credits,
            generation_id=generation_id,
            new_job=new_job,
            subscription=subscription,
        )


def _reserve(
    *, user, credits: int, generation_id, new_job: bool, subscription: Subscription | None
) -> Reservation:
    # Read before taking the lock: neither row is changed by a reservation.
    subscription = subscription_get(user=user, loaded=subscription)
    plan = plan_get(tier=subscription.effective_tier)

    balance = _lock_balance(user)
    now = timezone.now()  # after the wait: the hourly window counts from here
    if not new_job:
        existing = ReservationRow.objects.filter(generation_id=generation_id).first()
        if existing is not None:
            return Reservation(
                existing.generation_id, existing.allowance, existing.credits, existing.overage
            )
    _check_rate(user=user, plan=plan, now=now)
    taken = _take_from_allowance(
        user=user, subscription=subscription, plan=plan, credits=credits, now=now
    )
    if taken is not None:
        # The common case: the allowance covered it in one statement.
        usage, from_allowance, from_credits, overage = taken, credits, 0, 0
    else:
        usage = _usage_for_update(user=user, subscription=subscription, plan=plan, now=now)
        from_allowance = min(credits, usage.allowance_left)
        from_credits = min(credits - from_allowance, balance.balance)
        overage = credits - from_allowance - from_credits
        overage_allowed = (
            plan.allows_overage
            and subscription.is_paid
            and subscription.status == Subscription.Status.ACTIVE
        )
        if overage and not overage_allowed:
            raise QuotaExceeded(_quota_message(plan=plan, subscription=subscription, usage=usage))
        if from_credits:
            _ledger_write(
                balance=balance,
                kind=CreditEntry.Kind.SPEND,
                amount=-from_credits,
                idempotency_key=f"spend:{generation_id}",
                description="Job reserved",
                generation_id=generation_id,
            )
        Usage.objects.filter(id=usage.id).update(
            allowance_used=F("allowance_used") + from_allowance,
            credits_used=F("credits_used") + from_credits,
            overage=F("overage") + overage,
            updated_at=now,
        )
        # The row is locked: its new values are known without reading them back.
        usage.allowance_used += from_allowance
        usage.credits_used += from_credits
        usage.overage += overage
    ReservationRow.objects.create(
        generation_id=generation_id,
        user=user,
        usage_id=usage.id,
        allowance=from_allowance,
        credits=from_credits,
        overage=overage,
        created_at=now,
    )
    _warn_if_crossed(usage=usage, now=now)
    return Reservation(generation_id, from_allowance, from_credits, overage)


def _take_from_allowance(
    *, user, subscription: Subscription, plan: Plan, credits: int, now
) -> Usage | None:
    """Under the balance lock: take `credits` from this period's allowance
    in one statement if the period's row exists, matches the plan and has
    room. Returns the row's new state (id, allowance used, warnings sent),
    or None when nothing was taken and the full path must decide."""
    if credits <= 0:
        return None
    start, _ = _period_for(subscription, now)
    meta = Usage._meta
    ops = connection.ops
    table = ops.quote_name(meta.db_table)
    used, updated, user_col, start_col, tier, limit, pk, w80, w100 = (
        ops.quote_name(meta.get_field(name).column)
        for name in (
            "allowance_used", "updated_at", "user", "period_start", "tier", "monthly_limit",
            "id", "warned_80_at", "warned_100_at",
        )
    )  # fmt: skip
    # A conditional UPDATE … RETURNING (PostgreSQL and SQLite alike): the
    # check and the take in one round trip. Only names from the model's own
    # metadata are formatted in; values are parameters.
    sql = (
        f"UPDATE {table} SET {used} = {used} + %s, {updated} = %s "  # noqa: S608
        f"WHERE {user_col} = %s AND {start_col} = %s AND {tier} = %s AND {limit} = %s "
        f"AND {used} + %s <= %s RETURNING {pk}, {used}, {w80}, {w100}"
    )

    def value(field: str, python_value):
        return meta.get_field(field).get_db_prep_value(python_value, connection)

    params = [
        credits,
        value("updated_at", now),
        value("user", user.pk),
        value("period_start", start),
        plan.tier,
        plan.monthly_limit,
        credits,
        plan.monthly_limit,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    usage_id, allowance_used, warned_80_at, warned_100_at = row
    return Usage(
        id=usage_id,
        user_id=user.pk,
        monthly_limit=plan.monthly_limit,
        allowance_used=allowance_used,
        warned_80_at=warned_80_at,
        warned_100_at=warned_100_at,
    )


def _quota_message(*, plan: Plan, subscription: Subscription, usage: Usage) -> str:
    if subscription.status == Subscription.Status.PAST_DUE:
        return (
            f"You have used all {usage.monthly_limit} images included this period, and extra "
            "images are paused until your last payment goes through. Update your card on "
            "the billing page, or buy a credit pack."
        )
    if plan.allows_overage and not subscription.is_paid:
        return (
            f"You have used all {usage.monthly_limit} images of your {plan.name} trial and have "
            "no credits left. Subscribe or buy a credit pack on the billing page to keep going."
        )
    return (
        f"You have used all {usage.monthly_limit} images included in the {plan.name} plan this "
        "period and have no credits left. Buy a credit pack or upgrade on the billing page."
    )


def _warn_if_crossed(*, usage: Usage, now) -> None:
    """Email once per period when the allowance passes 80% and 100%."""
    if not usage.monthly_limit:
        return
    for threshold, field in ((100, "warned_100_at"), (80, "warned_80_at")):
        if usage.allowance_used * 100 >= usage.monthly_limit * threshold:
            if getattr(usage, field) is not None:
                break  # already sent this period (the row is locked: this is current)
            claimed = Usage.objects.filter(id=usage.id, **{f"{field}__isnull": True}).update(
                **{field: now}
            )
            if claimed:
                user_id, percent = usage.user_id, threshold
                transaction.on_commit(
                    lambda u=user_id, p=percent: notifications.quota_warning_send(
                        user_id=u, percent=p
                    )
                )
            break


def usage_refund(*, generation_id) -> bool:
    """Give a failed or cancelled job's reservation back: allowance to its
    period, credits through a ledger `refund` entry, overage off the bill.
    Idempotent: True only the first time for a job."""
    reservation = ReservationRow.objects.filter(generation_id=generation_id).first()
    if reservation is None or reservation.refunded_at is not None:
        return False
    with transaction.atomic():
        balance = _lock_balance(reservation.user)
        reservation = (
            ReservationRow.objects.select_for_update()
            .filter(generation_id=generation_id, refunded_at__isnull=True)
            .first()
        )
        if reservation is None:
            return False
        now = timezone.now()
        if reservation.credits:
            _ledger_write(
                balance=balance,
                kind=CreditEntry.Kind.REFUND,
                amount=reservation.credits,
                idempotency_key=f"refund:{generation_id}",
                description="Job failed or cancelled — credits returned",
                generation_id=generation_id,
            )
        Usage.objects.filter(id=reservation.usage_id).update(
            allowance_used=F("allowance_used") - reservation.allowance,
            credits_used=F("credits_used") - reservation.credits,
            overage=F("overage") - reservation.overage,
            updated_at=now,
        )
        reservation.refunded_at = now
        reservation.save(update_fields=["refunded_at"])
    return True


def usage_record_outcome(*, generation_id, status: str) -> bool:
    """Count a finished job as processed or failed in its period, once."""
    field = {"completed": "processed", "failed": "failed"}.get(status)
    if field is None:
        return False
    with transaction.atomic():
        claimed = ReservationRow.objects.filter(generation_id=generation_id, outcome="").update(
            outcome=status
        )
        if not claimed:
            return False
        usage_id = ReservationRow.objects.values_list("usage_id", flat=True).get(
            generation_id=generation_id
        )
        Usage.objects.filter(id=usage_id).update(**{field: F(field) + 1})
    return True


# --- Credit packs --------------------------------------------------------------


@transaction.atomic
def credit_purchase_fulfil(
    *,
    user,
    pack: CreditPack,
    checkout_session_id: str,
    amount_cents: int,
    currency: str,
    payment_intent_id: str,
) -> CreditPurchase | None:
    """Add a paid pack's credits, once per Checkout Session."""
    balance = _lock_balance(user)
    if CreditPurchase.objects.filter(checkout_session_id=checkout_session_id).exists():
        return None
    purchase = CreditPurchase.objects.create(
        user=user,
        pack=pack,
        credits=pack.credits,
        amount_cents=amount_cents,
        currency=currency,
        checkout_session_id=checkout_session_id,
        payment_intent_id=payment_intent_id,
    )
    _ledger_write(
        balance=balance,
        kind=CreditEntry.Kind.PURCHASE,
        amount=pack.credits,
        idempotency_key=f"purchase:{checkout_session_id}",
        description=f"Bought {pack.name}",
    )
    return purchase


@transaction.atomic
def credit_purchase_refund(*, payment_intent_id: str, amount_refunded: int) -> int:
    """Claw back credits for a (partly) refunded pack, in proportion to the
    refunded amount, never taking the balance below zero; what could not be
    taken is recorded as the purchase's shortfall. Idempotent for a given
    cumulative `amount_refunded`. Returns the credits removed now."""
    purchase = CreditPurchase.objects.filter(payment_intent_id=payment_intent_id).first()
    if purchase is None or not payment_intent_id:
        return 0
    balance = _lock_balance(purchase.user)
    purchase = CreditPurchase.objects.select_for_update().get(id=purchase.id)
    amount_refunded = min(amount_refunded, purchase.amount_cents)
    if amount_refunded <= purchase.refunded_cents:
        return 0
    if purchase.amount_cents:
        owed = purchase.credits * amount_refunded // purchase.amount_cents
    else:
        owed = purchase.credits
    to_take = owed - purchase.credits_clawed_back - purchase.shortfall
    taken = min(max(to_take, 0), balance.balance)
    if taken:
        _ledger_write(
            balance=balance,
            kind=CreditEntry.Kind.ADJUSTMENT,
            amount=-taken,
            idempotency_key=f"clawback:{purchase.id}:{amount_refunded}",
            description=f"Refund of {purchase.pack.name if purchase.pack else 'credit pack'}",
        )
    purchase.refunded_cents = amount_refunded
    purchase.credits_clawed_back += taken
    purchase.shortfall += max(to_take, 0) - taken
    purchase.save(update_fields=["refunded_cents", "credits_clawed_back", "shortfall"])
    if purchase.shortfall:
        logger.warning(
            "Refund of purchase %s left a shortfall of %s credit(s)",
            purchase.id,
            purchase.shortfall,
        )
    return taken


USAGE_KEEP = timedelta(days=365)
STRIPE_EVENTS_KEEP = timedelta(days=30)


def billing_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Retention (SPEC §11) for billing data, called by the nightly retention
    run: usage periods that ended over 12 months ago, and Stripe events
    older than 30 days once processed. An event whose webhook was not
    processed is kept, so it can still be retried or looked into."""
    from django.db.models import Exists, OuterRef
    from djstripe.models import Event, WebhookEventTrigger

    now = now or timezone.now()
    usage_deleted, _ = Usage.objects.filter(period_end__lt=now - USAGE_KEEP).delete()
    cutoff = now - STRIPE_EVENTS_KEEP
    unprocessed = WebhookEventTrigger.objects.filter(event_id=OuterRef("id"), processed=False)
    processed = WebhookEventTrigger.objects.filter(event_id=OuterRef("id"), processed=True)
    events = (
        Event.objects.filter(created__lt=cutoff)
        .filter(Exists(processed))
        .exclude(Exists(unprocessed))
    )
    event_ids = list(events.values_list("id", flat=True))
    WebhookEventTrigger.objects.filter(event_id__in=event_ids).delete()
    events_deleted, _ = Event.objects.filter(id__in=event_ids).delete()
    return {"usage_deleted": usage_deleted, "stripe_events_deleted": events_deleted}
