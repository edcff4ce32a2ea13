"""What a receiver gets: the job, its error, and signed absolute links to
its outputs."""

import pytest

from generations.files import asset_from_token
from generations.models import Asset
from generations.webhooks import webhook_event_id, webhook_payload
from tests.notifications.conftest import finished_job

pytestmark = pytest.mark.django_db


def output(job, name, width, height, kind=Asset.Kind.OUTPUT):
    return Asset.objects.create(
        user=job.user,
        generation=job,
        kind=kind,
        file=f"outputs/{job.user_id}/{job.id}/{name}",
        content_type="image/png",
        size=10,
        width=width,
        height=height,
        sha256="0" * 64,
    )


def test_it_lists_the_outputs_with_signed_absolute_links(alice):
    job = finished_job(alice, workflow_name="portrait_pro")
    first = output(job, "9_a.png", 1024, 768)
    output(job, "thumbs/a.webp", 512, 384, kind=Asset.Kind.THUMBNAIL)

    payload = webhook_payload(generation=job, event_type="job.completed")

    assert payload["type"] == "job.completed"
    assert payload["timestamp"].endswith("Z")
    data = payload["data"]
    assert data["workflow"] == "portrait_pro"
    assert data["created_at"].endswith("Z") and data["completed_at"].endswith("Z")
    (link,) = data["outputs"]  # thumbnails are not outputs
    assert link["width"] == 1024 and link["height"] == 768
    assert link["content_type"] == "image/png"
    assert link["url"].startswith("https://creator.test/jobs/files/")
    token = link["url"].rstrip("/").rsplit("/", 1)[-1]
    assert asset_from_token(token) == first


def test_the_event_id_is_stable_for_a_job_and_type(alice):
    job = finished_job(alice)
    assert webhook_event_id(generation=job, event_type="job.completed") == webhook_event_id(
        generation=job, event_type="job.completed"
    )
    assert webhook_event_id(generation=job, event_type="job.completed") != webhook_event_id(
        generation=job, event_type="job.failed"
    )
