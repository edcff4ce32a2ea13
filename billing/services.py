from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from billing.models import Subscription, Tier


def subscription_start_trial(*, user) -> Subscription:
    """Give a new user the CREATOR trial (SPEC §3). Idempotent per user."""
    now = timezone.now()
    subscription, _ = Subscription.objects.get_or_create(
        user=user,
        defaults={
            "tier": Tier.CREATOR,
            "status": Subscription.Status.TRIALING,
            "trial_ends_at": now + timedelta(days=settings.TRIAL_DAYS),
            "current_period_start": now,
            "current_period_end": now + timedelta(days=settings.TRIAL_DAYS),
        },
    )
    return subscription
