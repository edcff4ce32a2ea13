"""Retention of billing data (SPEC §11): usage over 12 months old and
processed Stripe events over 30 days old go; the rest stays."""

from datetime import timedelta

import pytest
from django.utils import timezone
from djstripe.models import Event, WebhookEventTrigger

from billing.models import Usage
from generations.retention import retention_run

pytestmark = pytest.mark.django_db


def _usage(user, *, ended_days_ago: int) -> Usage:
    end = timezone.now() - timedelta(days=ended_days_ago)
    return Usage.objects.create(
        user=user, period_start=end - timedelta(days=30), period_end=end,
        tier="free", monthly_limit=10,
    )  # fmt: skip


def _event(name: str, *, days_ago: int, processed: bool) -> Event:
    event = Event.objects.create(
        id=f"evt_{name}", type="invoice.paid", livemode=False,
        created=timezone.now() - timedelta(days=days_ago), data={}, api_version="",
    )  # fmt: skip
    WebhookEventTrigger.objects.create(
        remote_ip="127.0.0.1", headers={}, body="{}", valid=True,
        processed=processed, event=event,
    )  # fmt: skip
    return event


def test_usage_over_twelve_months_old_goes_and_recent_stays(alice):
    old = _usage(alice, ended_days_ago=13 * 30)
    recent = _usage(alice, ended_days_ago=11 * 30)

    retention_run()

    assert not Usage.objects.filter(pk=old.pk).exists()
    assert Usage.objects.filter(pk=recent.pk).exists()


def test_processed_stripe_events_over_30_days_go_unprocessed_and_recent_stay():
    _event("old_done", days_ago=40, processed=True)
    _event("old_pending", days_ago=40, processed=False)
    _event("new_done", days_ago=5, processed=True)

    retention_run()

    assert set(Event.objects.values_list("id", flat=True)) == {"evt_old_pending", "evt_new_done"}
