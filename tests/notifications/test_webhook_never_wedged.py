"""A receiver's reply cannot wedge a delivery: whatever it answers, and even
if recording the outcome fails, the row leaves `sending`."""

import pytest
from django.utils import timezone

from generations.models import WebhookDelivery
from generations.webhooks import webhook_attempt, webhooks_send_due
from tests.notifications.conftest import finished_job

Outcome = WebhookDelivery.Outcome
pytestmark = pytest.mark.django_db


def test_a_binary_reply_with_nul_bytes_is_delivered_with_a_readable_excerpt(alice, allow_receiver):
    alice.webhook_url = allow_receiver.url()
    alice.save()
    allow_receiver.answer(200, b"ok\x00\xff\xfe binary")
    delivery = WebhookDelivery.objects.create(
        generation=finished_job(alice),
        url=alice.webhook_url,
        event_id="msg_bin",
        event_type="job.completed",
    )

    webhook_attempt(delivery_id=delivery.id)

    delivery.refresh_from_db()
    assert delivery.outcome == Outcome.DELIVERED
    assert delivery.status_code == 200
    assert "\x00" not in delivery.response_excerpt
    assert delivery.response_excerpt.startswith("ok")
    assert delivery.response_excerpt.endswith(" binary")
    assert "\ufffd" in delivery.response_excerpt


def test_an_attempt_stuck_sending_is_failed_and_retried_once_not_forever(
    alice, allow_receiver, django_capture_on_commit_callbacks, settings
):
    settings.WEBHOOK_RETRY_DELAYS = [0.01]
    alice.webhook_url = allow_receiver.url()
    alice.save()
    job = finished_job(alice)
    long_ago = timezone.now() - timezone.timedelta(hours=1)
    stuck = WebhookDelivery.objects.create(
        generation=job,
        url=alice.webhook_url,
        event_id="msg_stuck",
        event_type="job.completed",
        outcome=Outcome.SENDING,
        attempted_at=long_ago,
        due_at=long_ago,
    )

    # The sweeper runs many times, as beat does every minute; nothing runs
    # the queued attempts, so each run sees the row as the last one left it.
    with django_capture_on_commit_callbacks(execute=False):
        for _ in range(5):
            webhooks_send_due()

    stuck.refresh_from_db()
    assert stuck.outcome == Outcome.FAILED
    assert "sending" in stuck.error
    rows = WebhookDelivery.objects.filter(event_id="msg_stuck").order_by("attempt")
    assert [(r.attempt, r.outcome) for r in rows] == [
        (1, Outcome.FAILED),
        (2, Outcome.PENDING),
    ]


def test_the_last_attempt_stuck_sending_ends_failed_without_another(alice, settings):
    settings.WEBHOOK_RETRY_DELAYS = []
    job = finished_job(alice)
    long_ago = timezone.now() - timezone.timedelta(hours=1)
    WebhookDelivery.objects.create(
        generation=job,
        url="http://127.0.0.1:9/hook",
        event_id="msg_last",
        event_type="job.completed",
        outcome=Outcome.SENDING,
        attempted_at=long_ago,
        due_at=long_ago,
    )

    for _ in range(3):
        webhooks_send_due()

    (row,) = WebhookDelivery.objects.filter(event_id="msg_last")
    assert row.outcome == Outcome.FAILED
