"""Reads of jobs. Every job read is scoped to its owner.

(The servers' cached `object_info` and readiness are in generations.servers.)
"""

from django.db.models import Count, QuerySet
from django.http import Http404

from generations.models import Generation


def generation_get(*, user, generation_id) -> Generation:
    """The user's job, or Http404 (also for another user's job)."""
    try:
        return Generation.objects.select_related("workflow", "project", "server").get(
            id=generation_id, user=user
        )
    except (Generation.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such job.") from exc


def generation_list(*, user, filters: dict | None = None) -> QuerySet[Generation]:
    filters = filters or {}
    qs = Generation.objects.filter(user=user).select_related("workflow", "project")
    if not filters.get("archived"):
        qs = qs.filter(archived_at__isnull=True)
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("workflow"):
        qs = qs.filter(workflow_id=filters["workflow"])
    if filters.get("project"):
        qs = qs.filter(project_id=filters["project"])
    if filters.get("favorites"):
        qs = qs.filter(is_favorite=True)
    return qs.order_by("-created_at")


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
