from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Tier(models.TextChoices):
    FREE = "free", "Free"
    CREATOR = "creator", "Creator"
    STUDIO = "studio", "Studio"


# The seeded plans (SPEC §7). The data migration writes the same numbers;
# services fall back to these when a table was emptied (transactional tests).
DEFAULT_PLANS: dict[str, dict] = {
    Tier.FREE: {
        "name": "Free",
        "price_cents": 0,
        "monthly_limit": 10,
        "overage_price_cents": None,
        "jobs_per_hour": 10,
        "display_order": 0,
    },
    Tier.CREATOR: {
        "name": "Creator",
        "price_cents": 2900,
        "monthly_limit": 100,
        "overage_price_cents": 50,
        "jobs_per_hour": 100,
        "display_order": 1,
    },
    Tier.STUDIO: {
        "name": "Studio",
        "price_cents": 9900,
        "monthly_limit": 500,
        "overage_price_cents": None,
        "jobs_per_hour": 500,
        "display_order": 2,
    },
}


class Plan(models.Model):
    """What a tier costs and allows; staff edit these rows in the admin."""

    tier = models.CharField(max_length=20, choices=Tier.choices, unique=True)
    name = models.CharField(max_length=60)
    description = models.CharField(max_length=255, blank=True)
    price_cents = models.PositiveIntegerField(default=0, help_text="Monthly price in US cents.")
    monthly_limit = models.PositiveIntegerField(help_text="Images (credits) included per period.")
    overage_price_cents = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Price per image above the limit; empty means jobs are refused at the limit.",
    )
    jobs_per_hour = models.PositiveIntegerField(
        null=True, blank=True, help_text="Job rate limit; empty means unlimited."
    )
    stripe_price_id = models.CharField(
        max_length=255,
        blank=True,
        help_text="Recurring Stripe price. STRIPE_PRICE_<TIER> in the environment wins.",
    )
    display_order = models.PositiveSmallIntegerField(default=0)
    is_public = models.BooleanField(default=True, help_text="Shown on the pricing page.")

    class Meta:
        ordering = ["display_order", "price_cents"]

    def __str__(self) -> str:
        return self.name

    @property
    def price_id(self) -> str:
        from_settings = {
            Tier.CREATOR: settings.STRIPE_PRICE_CREATOR,
            Tier.STUDIO: settings.STRIPE_PRICE_STUDIO,
        }.get(self.tier, "")
        return from_settings or self.stripe_price_id

    @property
    def allows_overage(self) -> bool:
        return self.overage_price_cents is not None

    @property
    def price_dollars(self) -> str:
        return f"{self.price_cents / 100:,.0f}"


class CreditPack(models.Model):
    """A one-off purchase of credits through Stripe Checkout."""

    name = models.CharField(max_length=60)
    credits = models.PositiveIntegerField()
    price_cents = models.PositiveIntegerField()
    stripe_price_id = models.CharField(max_length=255, blank=True)
    display_order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["display_order", "price_cents"]
        constraints = [models.CheckConstraint(condition=Q(credits__gt=0), name="pack_credits_gt_0")]

    def __str__(self) -> str:
        return f"{self.name} ({self.credits} credits)"

    @property
    def price_dollars(self) -> str:
        return f"{self.price_cents / 100:,.2f}"


class Subscription(models.Model):
    """A user's plan and its state; kept in step with Stripe by the billing app."""

    class Status(models.TextChoices):
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELLED = "cancelled", "Cancelled"
        INCOMPLETE = "incomplete", "Incomplete"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscription"
    )
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.FREE, db_index=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    current_period_start = models.DateTimeField(default=timezone.now)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    stripe_price_id = models.CharField(max_length=255, blank=True)
    # When the past-due email went out for the current delinquency (reset on payment).
    past_due_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} — {self.get_tier_display()} ({self.get_status_display()})"

    @property
    def is_paid(self) -> bool:
        return bool(self.stripe_subscription_id) and self.status in (
            self.Status.ACTIVE,
            self.Status.PAST_DUE,
        )

    @property
    def effective_tier(self) -> str:
        """The tier whose allowance applies now: cancelled or incomplete
        subscriptions, and trials past their end, are FREE."""
        if self.status in (self.Status.CANCELLED, self.Status.INCOMPLETE):
            return Tier.FREE
        if (
            self.status == self.Status.TRIALING
            and not self.stripe_subscription_id
            and self.trial_ends_at
            and self.trial_ends_at <= timezone.now()
        ):
            return Tier.FREE
        return self.tier


class Usage(models.Model):
    """One user's usage for one allowance period (a calendar month on FREE,
    the Stripe billing period on a paid plan, the trial while trialing)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="usage_periods"
    )
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    tier = models.CharField(max_length=20, choices=Tier.choices)
    monthly_limit = models.PositiveIntegerField()
    overage_price_cents = models.PositiveIntegerField(null=True, blank=True)
    allowance_used = models.IntegerField(default=0)
    credits_used = models.IntegerField(default=0)
    overage = models.IntegerField(
        default=0, help_text="Images above the limit, billed at period end."
    )
    processed = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    overage_charged_cents = models.PositiveIntegerField(default=0)
    overage_invoice_item_id = models.CharField(max_length=255, blank=True)
    overage_charged_at = models.DateTimeField(null=True, blank=True)
    warned_80_at = models.DateTimeField(null=True, blank=True)
    warned_100_at = models.DateTimeField(null=True, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_start"]
        verbose_name_plural = "usage"
        constraints = [
            models.UniqueConstraint(fields=["user", "period_start"], name="usage_one_per_period"),
            models.CheckConstraint(
                condition=Q(allowance_used__gte=0)
                & Q(credits_used__gte=0)
                & Q(overage__gte=0)
                & Q(processed__gte=0)
                & Q(failed__gte=0),
                name="usage_counts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.period_start:%Y-%m-%d}"

    @property
    def allowance_left(self) -> int:
        return max(0, self.monthly_limit - self.allowance_used)

    @property
    def percent_used(self) -> int:
        if not self.monthly_limit:
            return 100
        return min(100, round(100 * self.allowance_used / self.monthly_limit))

    @property
    def overage_due_cents(self) -> int:
        return self.overage * (self.overage_price_cents or 0)


class CreditBalance(models.Model):
    """The running sum of a user's ledger. Every ledger write locks this row
    first, so concurrent spends serialise and the check keeps it >= 0."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_balance"
    )
    balance = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="credit_balance_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.balance}"


class CreditEntry(models.Model):
    """One append-only ledger line; the balance is the sum of `amount`."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "Purchase"
        SPEND = "spend", "Spend"
        REFUND = "refund", "Refund"
        BONUS = "bonus", "Bonus"
        ADJUSTMENT = "adjustment", "Adjustment"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_entries"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = models.IntegerField()
    balance_after = models.IntegerField()
    idempotency_key = models.CharField(max_length=255, unique=True)
    # A job id, not a foreign key: the ledger outlives archived jobs.
    generation_id = models.UUIDField(null=True, blank=True, db_index=True)
    description = models.CharField(max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit entries"
        constraints = [
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="entry_balance_gte_0"),
            models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d} → {self.balance_after}"


class Reservation(models.Model):
    """What one job took from each bucket, so a refund returns exactly that."""

    generation_id = models.UUIDField(unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reservations"
    )
    usage = models.ForeignKey(Usage, on_delete=models.CASCADE, related_name="reservations")
    allowance = models.PositiveIntegerField(default=0)
    credits = models.PositiveIntegerField(default=0)
    overage = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"job {self.generation_id}: {self.total} credit(s)"

    @property
    def total(self) -> int:
        return self.allowance + self.credits + self.overage


class CreditPurchase(models.Model):
    """A paid credit pack, fulfilled once from the checkout.session.completed
    webhook; refunds on its charge claw the credits back."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_purchases"
    )
    pack = models.ForeignKey(CreditPack, null=True, blank=True, on_delete=models.SET_NULL)
    credits = models.PositiveIntegerField()
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    checkout_session_id = models.CharField(max_length=255, unique=True)
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    refunded_cents = models.PositiveIntegerField(default=0)
    credits_clawed_back = models.PositiveIntegerField(default=0)
    # Credits the refund should have removed but the user had already spent.
    shortfall = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credits_clawed_back__lte=F("credits")), name="clawback_lte_credits"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} +{self.credits} ({self.checkout_session_id})"
