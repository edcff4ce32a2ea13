"""The pipeline notifies when a job finishes (run in-process, Celery eager)."""

import pytest
from django.core import mail

from generations.models import Generation, WebhookDelivery
from generations.services import generation_create
from tests.factories import UserFactory
from tests.generations.conftest import png_bytes
from tests.generations.factories import ComfyServerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def presets(transactional_db):
    from workflows.models import Workflow
    from workflows.preset_sync import presets_sync

    presets_sync()
    return {w.slug: w for w in Workflow.objects.filter(owner__isnull=True)}


def test_a_completed_job_emails_and_calls_the_webhook(
    presets, comfy_dev_server, allow_receiver, eager_celery
):
    ComfyServerFactory(url=comfy_dev_server.url)
    user = UserFactory(webhook_url=allow_receiver.url())
    job = generation_create(
        user=user, workflow=presets["portrait_pro"], image=png_bytes(), image_name="me.png"
    )
    job.refresh_from_db()
    assert job.status == Generation.Status.COMPLETED, job.error_message
    assert [m.subject for m in mail.outbox] == [f"Your {job.workflow_name} job is done"]
    (request,) = allow_receiver.requests
    payload = request.json()
    assert payload["type"] == "job.completed"
    assert payload["data"]["outputs"][0]["url"].startswith("https://creator.test/jobs/files/")
    assert WebhookDelivery.objects.get(generation=job).outcome == "delivered"


def test_a_failed_job_emails_its_error(presets, comfy_dev_server, eager_celery):
    ComfyServerFactory(url=comfy_dev_server.url)
    comfy_dev_server.set_knobs(fail_node="ImageBlend", fail_message="blend exploded")
    job = generation_create(
        user=UserFactory(), workflow=presets["portrait_pro"], image=png_bytes(), image_name="a.png"
    )
    job.refresh_from_db()
    assert job.status == Generation.Status.FAILED
    (email,) = mail.outbox
    assert email.subject.endswith("job failed")
    assert "blend exploded" in email.body
