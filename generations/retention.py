"""Retention (SPEC §11), run daily by beat. Each step is idempotent."""

from datetime import timedelta

from django.core.files.storage import default_storage
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from billing.services import billing_prune
from generations.files import UPLOADS, upload_file_names
from generations.models import Asset, Generation, WebhookDelivery

JOBS_ARCHIVE_AFTER = timedelta(days=90)
WEBHOOK_LOG_KEEP = timedelta(days=30)
UNREFERENCED_UPLOAD_KEEP = timedelta(days=30)


def retention_run() -> dict[str, int]:
    """Archive old jobs, drop old webhook delivery logs, remove uploads that
    no job uses. Returns how many of each were touched."""
    now = timezone.now()
    archived = Generation.objects.filter(
        archived_at__isnull=True,
        created_at__lt=now - JOBS_ARCHIVE_AFTER,
        status__in=list(Generation.FINAL),
    ).update(archived_at=now)
    deleted_logs, _ = WebhookDelivery.objects.filter(created_at__lt=now - WEBHOOK_LOG_KEEP).delete()
    return {
        "jobs_archived": archived,
        "webhook_logs_deleted": deleted_logs,
        "uploads_removed": _remove_unreferenced_uploads(now - UNREFERENCED_UPLOAD_KEEP),
        **billing_prune(now=now),
    }


def _remove_unreferenced_uploads(older_than) -> int:
    removed = 0
    # Uploads made through the API that no job is using. A job made with
    # `asset_id` copies the upload's bytes into its own input asset (same
    # user, same sha256), so that copy is how a use is seen. "In use" means a
    # job that is not archived has such a copy, or any job made one within
    # the keep period (recent reuse); only an upload with neither goes.
    in_use = Asset.objects.filter(
        user_id=OuterRef("user_id"),
        sha256=OuterRef("sha256"),
        kind=Asset.Kind.INPUT,
        generation__isnull=False,
    ).filter(Q(generation__archived_at__isnull=True) | Q(created_at__gte=older_than))
    for asset in Asset.objects.filter(
        generation__isnull=True, kind=Asset.Kind.INPUT, created_at__lt=older_than
    ).exclude(Exists(in_use)):
        default_storage.delete(asset.file.name)
        asset.delete()
        removed += 1
    # Files with no row at all: a crash between storing an input and
    # committing its job leaves one behind.
    known = set(Asset.objects.filter(file__startswith=f"{UPLOADS}/").values_list("file", flat=True))
    for name in upload_file_names():
        if name in known:
            continue
        try:
            modified = default_storage.get_modified_time(name)
        except (OSError, NotImplementedError):
            continue
        if modified < older_than:
            default_storage.delete(name)
            removed += 1
    return removed
