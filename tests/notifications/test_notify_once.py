"""Notifying twice for the same finished job sends nothing more."""

import pytest
from django.core import mail

from generations.models import WebhookDelivery
from generations.notifications import generation_notify_finished
from tests.notifications.conftest import finished_job

pytestmark = pytest.mark.django_db


def test_a_second_notify_sends_no_second_email_or_webhook(
    alice, allow_receiver, django_capture_on_commit_callbacks, eager_celery
):
    alice.webhook_url = allow_receiver.url()
    alice.save()
    job = finished_job(alice)

    with django_capture_on_commit_callbacks(execute=True) as first:
        assert generation_notify_finished(generation=job) is True
    with django_capture_on_commit_callbacks(execute=True) as second:
        assert generation_notify_finished(generation=job) is False

    assert len(first) == 2  # email and webhook
    assert second == []
    assert len(mail.outbox) == 1
    assert len(allow_receiver.requests) == 1
    assert WebhookDelivery.objects.filter(generation=job).count() == 1
    assert job.events.filter(kind="notified").count() == 1


def test_the_webhook_event_is_created_once_even_without_the_trail(alice, allow_receiver):
    # The unique (event_id, attempt) constraint is the second line of
    # defence: a second first attempt for the same event cannot exist.
    from generations.webhooks import webhook_delivery_create

    alice.webhook_url = allow_receiver.url()
    alice.save()
    job = finished_job(alice)
    assert webhook_delivery_create(generation=job, url=alice.webhook_url) is not None
    assert webhook_delivery_create(generation=job, url=alice.webhook_url) is None
