"""Delivering a finished job's webhook: signed, retried, logged, and never
sent to an address the guard refuses."""

import base64
import hashlib
import hmac

import pytest
from django.utils import timezone

from generations.models import Generation, WebhookDelivery
from generations.notifications import generation_notify_finished
from generations.webhooks import webhook_attempt, webhook_verify, webhooks_send_due
from tests.notifications.conftest import finished_job

Outcome = WebhookDelivery.Outcome
pytestmark = pytest.mark.django_db


@pytest.fixture
def notify(django_capture_on_commit_callbacks, eager_celery):
    """Notify and run everything it queued (retries included), as a worker would."""

    def run(generation):
        with django_capture_on_commit_callbacks(execute=True):
            return generation_notify_finished(generation=generation)

    return run


def test_it_delivers_a_signed_event_to_the_users_url(alice, allow_receiver, notify):
    alice.webhook_url = allow_receiver.url("/hook")
    alice.email_notifications = False
    alice.save()
    job = finished_job(alice)

    assert notify(job)

    (request,) = allow_receiver.requests
    assert request.method == "POST" and request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    payload = webhook_verify(alice.webhook_secret, request.headers, request.body)
    assert payload["type"] == "job.completed"
    assert payload["data"]["id"] == str(job.id)
    assert payload["data"]["status"] == "completed"
    assert payload["data"]["error"] is None
    assert request.headers["webhook-id"].startswith("msg_")
    (delivery,) = WebhookDelivery.objects.filter(generation=job)
    assert delivery.outcome == Outcome.DELIVERED
    assert delivery.status_code == 200
    assert delivery.response_excerpt == "ok"
    assert delivery.delivered_at is not None
    assert delivery.duration_ms is not None


def test_the_signature_matches_the_documented_scheme(alice, allow_receiver, notify):
    alice.webhook_url = allow_receiver.url()
    alice.save()
    notify(finished_job(alice))

    (request,) = allow_receiver.requests
    # Computed here from the README's description, not with our helpers.
    key_text = alice.webhook_secret.removeprefix("whsec_")
    key = base64.urlsafe_b64decode(key_text + "=" * (-len(key_text) % 4))
    signed = b".".join(
        [
            request.headers["webhook-id"].encode(),
            request.headers["webhook-timestamp"].encode(),
            request.body,
        ]
    )
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert request.headers["webhook-signature"] == f"v1,{expected}"


def test_the_jobs_own_url_wins_over_the_users(alice, allow_receiver, notify):
    alice.webhook_url = allow_receiver.url("/user")
    alice.save()
    notify(finished_job(alice, webhook_url=allow_receiver.url("/job")))
    assert [r.path for r in allow_receiver.requests] == ["/job"]


def test_a_failed_job_carries_its_error(alice, allow_receiver, notify):
    alice.webhook_url = allow_receiver.url()
    alice.save()
    notify(
        finished_job(
            alice,
            status=Generation.Status.FAILED,
            error_code="execution_error",
            error_message="Node 7 (KSampler) failed: out of memory",
        )
    )
    payload = allow_receiver.requests[0].json()
    assert payload["type"] == "job.failed"
    assert payload["data"]["error"] == {
        "code": "execution_error",
        "message": "Node 7 (KSampler) failed: out of memory",
    }


def test_a_cancelled_job_is_announced(alice, allow_receiver, notify):
    alice.webhook_url = allow_receiver.url()
    alice.save()
    notify(finished_job(alice, status=Generation.Status.CANCELLED))
    assert allow_receiver.requests[0].json()["type"] == "job.cancelled"


def test_it_retries_after_a_server_error_and_logs_both_attempts(alice, allow_receiver, notify):
    alice.webhook_url = allow_receiver.url()
    alice.save()
    allow_receiver.answer(500, b"database down")
    job = finished_job(alice)

    notify(job)

    first, second = allow_receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # same event
    assert webhook_verify(alice.webhook_secret, second.headers, second.body)
    rows = list(WebhookDelivery.objects.filter(generation=job).order_by("attempt"))
    assert [(r.attempt, r.outcome, r.status_code) for r in rows] == [
        (1, Outcome.FAILED, 500),
        (2, Outcome.DELIVERED, 200),
    ]
    assert rows[0].response_excerpt == "database down"
    assert rows[0].error == "The receiver answered HTTP 500."
    assert rows[1].due_at > rows[0].created_at


def test_it_gives_up_when_the_delays_run_out(alice, allow_receiver, notify, settings):
    settings.WEBHOOK_RETRY_DELAYS = [0.01, 0.01]  # three attempts in all
    alice.webhook_url = allow_receiver.url()
    alice.save()
    for _ in range(5):
        allow_receiver.answer(503)
    job = finished_job(alice)

    notify(job)

    assert len(allow_receiver.requests) == 3
    assert list(
        WebhookDelivery.objects.filter(generation=job).values_list("attempt", "outcome")
    ) == [(1, Outcome.FAILED), (2, Outcome.FAILED), (3, Outcome.FAILED)]


def test_a_gone_receiver_is_not_retried(alice, allow_receiver, notify):
    alice.webhook_url = allow_receiver.url()
    alice.save()
    allow_receiver.answer(410)
    job = finished_job(alice)
    notify(job)
    assert len(allow_receiver.requests) == 1
    assert "410 Gone" in WebhookDelivery.objects.get(generation=job).error


def test_a_redirect_is_a_failed_attempt_not_followed(alice, allow_receiver, notify, settings):
    settings.WEBHOOK_RETRY_DELAYS = []
    alice.webhook_url = allow_receiver.url("/old")
    alice.save()
    allow_receiver.answer(301, headers={"Location": allow_receiver.url("/new")})
    job = finished_job(alice)
    notify(job)
    assert [r.path for r in allow_receiver.requests] == ["/old"]
    delivery = WebhookDelivery.objects.get(generation=job)
    assert delivery.outcome == Outcome.FAILED
    assert "Redirects are not followed" in delivery.error


def test_the_response_excerpt_is_at_most_one_kilobyte(alice, allow_receiver, notify):
    alice.webhook_url = allow_receiver.url()
    alice.save()
    allow_receiver.answer(200, b"y" * 10_000)
    job = finished_job(alice)
    notify(job)
    assert WebhookDelivery.objects.get(generation=job).response_excerpt == "y" * 1024


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/hook", "http://169.254.169.254/", "http://[::1]:1/"],
)
def test_a_private_url_is_refused_without_a_connection_or_a_retry(alice, url, notify, connections):
    alice.webhook_url = url
    alice.save()
    job = finished_job(alice)

    notify(job)

    assert connections == []
    (delivery,) = WebhookDelivery.objects.filter(generation=job)
    assert delivery.outcome == Outcome.REFUSED
    assert "only connects to public internet addresses" in delivery.error
    assert delivery.status_code is None


def test_a_host_name_resolving_to_a_private_address_is_refused(
    alice, notify, connections, fake_dns
):
    fake_dns.answer("hooks.example.com", "192.168.0.10")
    alice.webhook_url = "https://hooks.example.com/creator"
    alice.save()
    job = finished_job(alice)

    notify(job)

    assert connections == []
    delivery = WebhookDelivery.objects.get(generation=job)
    assert delivery.outcome == Outcome.REFUSED
    assert "hooks.example.com (192.168.0.10) is a private network address" in delivery.error


def test_loopback_is_refused_unless_the_operator_allows_it(alice, receiver, notify, connections):
    # The receiver runs, but nobody listed it in OUTBOUND_ALLOWED_HOSTS.
    alice.webhook_url = receiver.url()
    alice.save()
    job = finished_job(alice)
    notify(job)
    assert receiver.requests == []
    assert connections == []
    assert WebhookDelivery.objects.get(generation=job).outcome == Outcome.REFUSED


def test_an_unreachable_receiver_is_a_failed_attempt(alice, notify, settings):
    settings.WEBHOOK_RETRY_DELAYS = []
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1:9"]  # nothing listens on discard
    alice.webhook_url = "http://127.0.0.1:9/hook"
    alice.save()
    job = finished_job(alice)
    notify(job)
    delivery = WebhookDelivery.objects.get(generation=job)
    assert delivery.outcome == Outcome.FAILED
    assert "Could not connect" in delivery.error


def test_an_attempt_is_made_once_however_often_its_task_runs(alice, allow_receiver):
    alice.webhook_url = allow_receiver.url()
    alice.save()
    job = finished_job(alice)
    delivery = WebhookDelivery.objects.create(
        generation=job, url=alice.webhook_url, event_id="msg_x", event_type="job.completed"
    )
    assert webhook_attempt(delivery_id=delivery.id) is not None
    assert webhook_attempt(delivery_id=delivery.id) is None
    assert len(allow_receiver.requests) == 1


def test_the_sweeper_requeues_attempts_whose_message_was_lost(
    alice, allow_receiver, django_capture_on_commit_callbacks, eager_celery
):
    alice.webhook_url = allow_receiver.url()
    alice.save()
    job = finished_job(alice)
    overdue = timezone.now() - timezone.timedelta(minutes=5)
    WebhookDelivery.objects.create(
        generation=job,
        url=alice.webhook_url,
        event_id="msg_lost",
        event_type="job.completed",
        due_at=overdue,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks_send_due() == 1
    assert len(allow_receiver.requests) == 1
    assert WebhookDelivery.objects.get(event_id="msg_lost").outcome == Outcome.DELIVERED


def test_beat_runs_the_sweeper_every_minute():
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    # Run the data migration's own step: transactional tests elsewhere in
    # the suite empty every table, so the row migrate made may be gone.
    migration = importlib.import_module("generations.migrations.0003_webhookdelivery")
    PeriodicTask.objects.filter(task="generations.notification_tasks.webhooks_send_due").delete()
    migration.create_sweeper(apps, None)
    migration.create_sweeper(apps, None)  # idempotent

    task = PeriodicTask.objects.get(task="generations.notification_tasks.webhooks_send_due")
    assert task.enabled and task.interval.every == 60
