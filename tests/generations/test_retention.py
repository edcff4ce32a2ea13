"""Retention archives old jobs and removes what nothing uses any more."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from generations.models import Asset, Generation, WebhookDelivery
from generations.retention import retention_run
from generations.selectors import generation_list
from tests.generations.factories import GenerationFactory

pytestmark = pytest.mark.django_db
OLD = timezone.now() - timedelta(days=120)


def test_old_finished_jobs_are_archived_and_hidden_from_lists(alice):
    old = GenerationFactory(user=alice, status=Generation.Status.COMPLETED, created_at=OLD)
    old_running = GenerationFactory(user=alice, status=Generation.Status.PROCESSING, created_at=OLD)
    recent = GenerationFactory(user=alice, status=Generation.Status.COMPLETED)

    assert retention_run()["jobs_archived"] == 1
    assert set(generation_list(user=alice)) == {old_running, recent}
    assert old in generation_list(user=alice, filters={"archived": True})
    assert retention_run()["jobs_archived"] == 0  # idempotent


def test_old_webhook_logs_are_deleted(alice):
    job = GenerationFactory(user=alice)
    kept = WebhookDelivery.objects.create(
        generation=job, url="https://example.com/h", event_id="msg_new", event_type="job.completed"
    )
    gone = WebhookDelivery.objects.create(
        generation=job, url="https://example.com/h", event_id="msg_old", event_type="job.completed"
    )
    WebhookDelivery.objects.filter(id=gone.id).update(created_at=OLD)
    retention_run()
    assert list(WebhookDelivery.objects.all()) == [kept]


def test_unreferenced_uploads_are_removed_and_used_ones_kept(alice, settings):
    used_job = GenerationFactory(user=alice)
    used = default_storage.save(f"uploads/{alice.id}/{used_job.id}/input.png", ContentFile(b"x"))
    Asset.objects.create(
        user=alice, generation=used_job, kind="input", file=used,
        content_type="image/png", size=1, sha256="0" * 64, created_at=OLD,
    )  # fmt: skip
    unused = default_storage.save(f"uploads/{alice.id}/api/unused.png", ContentFile(b"y"))
    Asset.objects.create(
        user=alice, kind="input", file=unused,
        content_type="image/png", size=1, sha256="1" * 64, created_at=OLD,
    )  # fmt: skip
    orphan = default_storage.save(f"uploads/{alice.id}/crashed/input.png", ContentFile(b"z"))
    fresh_orphan = default_storage.save(f"uploads/{alice.id}/new/input.png", ContentFile(b"w"))
    old_time = OLD.timestamp()
    import os

    os.utime(default_storage.path(orphan), (old_time, old_time))

    assert retention_run()["uploads_removed"] == 2
    assert default_storage.exists(used)
    assert default_storage.exists(fresh_orphan)  # may belong to a job being created
    assert not default_storage.exists(unused)
    assert not default_storage.exists(orphan)
    assert Asset.objects.filter(file=unused).count() == 0


def test_an_old_upload_a_recent_job_used_by_asset_id_is_kept(alice):
    upload = default_storage.save(f"uploads/{alice.id}/assets/reused.png", ContentFile(b"r"))
    Asset.objects.create(
        user=alice, kind="input", file=upload,
        content_type="image/png", size=1, sha256="2" * 64, created_at=OLD,
    )  # fmt: skip
    job = GenerationFactory(user=alice)
    copy = default_storage.save(f"uploads/{alice.id}/{job.id}/input.png", ContentFile(b"r"))
    Asset.objects.create(
        user=alice, generation=job, kind="input", file=copy,
        content_type="image/png", size=1, sha256="2" * 64,
    )  # fmt: skip

    retention_run()

    assert default_storage.exists(upload)
    assert Asset.objects.filter(file=upload).exists()
