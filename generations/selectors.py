"""Reads of jobs and uploads. Every read is scoped to its owner; none writes.

(The servers' cached `object_info` and readiness are in generations.servers.)
"""

from collections.abc import Iterable

from django.db.models import Count, Prefetch, QuerySet

from creator_site.errors import InvalidInput, NotFound
from generations.files import asset_url
from generations.models import Asset, Generation


def generation_get(*, user, generation_id) -> Generation:
    """The user's job, or NotFound (also for another user's job or a bad id)."""
    try:
        return Generation.objects.select_related("workflow", "project", "server").get(
            id=generation_id, user=user
        )
    except (Generation.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("No such job.") from exc


def generation_get_by_idempotency_key(*, user, key: str) -> Generation | None:
    """The user's job created with this Idempotency-Key, if any."""
    return Generation.objects.filter(user=user, idempotency_key=key).first()


def generation_list(*, user, filters: dict | None = None) -> QuerySet[Generation]:
    """The user's jobs, newest first. Filters (each optional): `status`,
    `workflow` (an id), `workflow_ref` (a slug or id the user can see:
    InvalidInput when there is none), `project`, `favorites`, `archived`
    (include archived jobs), `created_after`, `created_before`."""
    filters = filters or {}
    qs = Generation.objects.filter(user=user).select_related("workflow", "project")
    if not filters.get("archived"):
        qs = qs.filter(archived_at__isnull=True)
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("workflow"):
        qs = qs.filter(workflow_id=filters["workflow"])
    if filters.get("workflow_ref"):
        from workflows.selectors import workflow_get_for_user

        try:
            workflow = workflow_get_for_user(user=user, id_or_slug=filters["workflow_ref"])
        except NotFound:
            message = "No workflow with this slug or id."
            raise InvalidInput(message, details={"workflow": [message]}) from None
        qs = qs.filter(workflow_id=workflow.id)
    if filters.get("project"):
        qs = qs.filter(project_id=filters["project"])
    if filters.get("favorites"):
        qs = qs.filter(is_favorite=True)
    if filters.get("created_after"):
        qs = qs.filter(created_at__gte=filters["created_after"])
    if filters.get("created_before"):
        qs = qs.filter(created_at__lt=filters["created_before"])
    return qs.order_by("-created_at")


def generation_outputs_prefetch() -> Prefetch:
    """Prefetch a list of jobs' outputs, oldest first, into `output_assets`."""
    return Prefetch(
        "assets",
        queryset=Asset.objects.filter(kind=Asset.Kind.OUTPUT).order_by("created_at"),
        to_attr="output_assets",
    )


def generation_outputs(*, generation: Generation) -> list[Asset]:
    """The job's outputs, oldest first."""
    return list(
        Asset.objects.filter(generation=generation, kind=Asset.Kind.OUTPUT).order_by("created_at")
    )


def generation_get_with_outputs(*, generation_id) -> Generation:
    """The job, re-read with its workflow and its outputs in `output_assets`
    (for a job the caller already holds, so not scoped to a user)."""
    return (
        Generation.objects.select_related("workflow")
        .prefetch_related(generation_outputs_prefetch())
        .get(id=generation_id)
    )


def generation_thumbnails_attach(*, generations: Iterable[Generation]) -> None:
    """Set `thumbnail_url` (None without one) on each job, in one query."""
    generations = list(generations)
    ids = [g.id for g in generations]
    thumbs = {}
    for asset in Asset.objects.filter(generation_id__in=ids, kind=Asset.Kind.THUMBNAIL):
        thumbs.setdefault(asset.generation_id, asset_url(asset))
    for generation in generations:
        generation.thumbnail_url = thumbs.get(generation.id)


def generation_counts(*, user) -> dict[str, int]:
    """Jobs per status for the user, in one query."""
    rows = Generation.objects.filter(user=user).values("status").annotate(n=Count("id"))
    counts = {status: 0 for status in Generation.Status.values}
    counts.update({row["status"]: row["n"] for row in rows})
    counts["total"] = sum(counts.values())
    return counts


def generation_workflows(*, user) -> list[tuple[str, str]]:
    """(workflow id, name) of the workflows the user's jobs ran, for filters."""
    rows = (
        Generation.objects.filter(user=user, workflow__isnull=False)
        .values_list("workflow_id", "workflow_name")
        .distinct()
        .order_by("workflow_name")
    )
    return [(str(workflow_id), name) for workflow_id, name in rows]


def upload_get(*, user, asset_id) -> Asset | None:
    """One of the user's input images (an upload or a job's input), or None."""
    return Asset.objects.filter(id=asset_id, user=user, kind=Asset.Kind.INPUT).first()
