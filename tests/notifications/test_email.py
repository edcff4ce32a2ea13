"""The completion and failure emails: sent only to users who want them."""

import pytest
from django.core import mail

from generations.models import Asset, Generation
from generations.notifications import generation_notify_finished
from tests.notifications.conftest import finished_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def notify(django_capture_on_commit_callbacks, eager_celery):
    def run(generation):
        with django_capture_on_commit_callbacks(execute=True):
            return generation_notify_finished(generation=generation)

    return run


def add_output(job):
    return Asset.objects.create(
        user=job.user,
        generation=job,
        kind=Asset.Kind.OUTPUT,
        file=f"outputs/{job.user_id}/{job.id}/9_out.png",
        content_type="image/png",
        size=10,
        width=1024,
        height=1024,
        sha256="0" * 64,
    )


def test_it_emails_the_user_when_a_job_completes(alice, notify):
    job = finished_job(alice, workflow_name="portrait_pro")
    add_output(job)

    assert notify(job)

    (email,) = mail.outbox
    assert email.to == ["alice@example.com"]
    assert email.subject == "Your portrait_pro job is done"
    assert "1 image ready" in email.body
    assert f"https://creator.test/jobs/{job.id}/" in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="https://creator.test/jobs/{job.id}/"' in html


def test_it_emails_the_error_when_a_job_fails(alice, notify):
    job = finished_job(
        alice,
        status=Generation.Status.FAILED,
        workflow_name="portrait_pro",
        error_message="ComfyUI could not finish this job after 3 attempts. Please try again later.",
    )

    notify(job)

    (email,) = mail.outbox
    assert email.subject == "Your portrait_pro job failed"
    assert "could not finish this job after 3 attempts" in email.body
    assert "credits were returned" in email.body


def test_it_escapes_the_error_in_the_html_part(alice, notify):
    job = finished_job(alice, status=Generation.Status.FAILED, error_message="<script>x</script>")
    notify(job)
    html = mail.outbox[0].alternatives[0][0]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_it_sends_no_email_to_a_user_who_turned_them_off(alice, notify):
    alice.email_notifications = False
    alice.save()
    assert not notify(finished_job(alice))
    assert mail.outbox == []


def test_a_cancelled_job_sends_no_email(alice, notify):
    notify(finished_job(alice, status=Generation.Status.CANCELLED))
    assert mail.outbox == []


def test_an_unfinished_job_notifies_nobody(alice, notify):
    job = finished_job(alice, status=Generation.Status.PROCESSING)
    assert not notify(job)
    assert mail.outbox == []


def test_it_records_the_notification_on_the_jobs_trail(alice, notify):
    job = finished_job(alice)
    notify(job)
    event = job.events.get(kind="notified")
    assert event.data == {"status": "completed", "channels": ["email"]}
