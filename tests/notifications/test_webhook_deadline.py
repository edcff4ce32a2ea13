"""A webhook receiver that answers one byte a second is given up on at
WEBHOOK_TIMEOUT, and the attempt is logged as failed (issue #17, item 4)."""

import pytest

from generations.models import WebhookDelivery
from generations.notifications import generation_notify_finished
from tests.notifications.conftest import finished_job
from tests.standins.trickle import trickling_server

Outcome = WebhookDelivery.Outcome
pytestmark = [pytest.mark.django_db, pytest.mark.timeout(30)]


@pytest.mark.parametrize("mode", ["body_close", "body_until_close", "headers"])
def test_a_trickling_receiver_fails_the_attempt_at_the_webhook_timeout(
    alice, settings, django_capture_on_commit_callbacks, eager_celery, mode
):
    settings.WEBHOOK_TIMEOUT = 2
    settings.WEBHOOK_RETRY_DELAYS = []  # one attempt is enough to see it end
    with trickling_server(mode) as receiver:
        settings.OUTBOUND_ALLOWED_HOSTS = [receiver.host_port]
        alice.webhook_url = receiver.url("/hook")
        alice.save()
        job = finished_job(alice)

        with django_capture_on_commit_callbacks(execute=True):
            generation_notify_finished(generation=job)

        assert len(receiver.requests) == 1
        assert receiver.peer_closed.wait(10)

    (delivery,) = WebhookDelivery.objects.filter(generation=job)
    assert delivery.outcome == Outcome.FAILED
    assert "did not answer in time (the limit is 2 seconds)" in delivery.error
    assert delivery.status_code is None
