"""Reads of jobs and servers. Every job read is scoped to its owner."""

from django.core.cache import cache
from django.db.models import Count, QuerySet
from django.http import Http404

from generations.models import ComfyServer, Generation

OBJECT_INFO_CACHE_SECONDS = 10 * 60
OBJECT_INFO_MISS_SECONDS = 60


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


def comfyui_object_info() -> dict | None:
    """`/object_info` of a healthy server, cached; None when none answers.

    Graph validation uses it to check class types and inputs against what
    the servers really offer. It runs inside page requests, so servers get
    short timeouts and a miss is remembered for a minute instead of being
    retried on every save.
    """
    from generations import comfyui_client as comfy

    cached = cache.get("comfyui:object_info")
    if cached is not None:
        return cached or None  # {} marks a recent miss
    for server in ComfyServer.objects.filter(enabled=True, is_healthy=True):
        try:
            with comfy.ComfyUIClient(server.url, connect_timeout=2, read_timeout=5) as client:
                info = client.object_info()
        except comfy.ComfyUIError:
            continue  # an unreachable server is simply skipped
        cache.set("comfyui:object_info", info, OBJECT_INFO_CACHE_SECONDS)
        return info
    cache.set("comfyui:object_info", {}, OBJECT_INFO_MISS_SECONDS)
    return None


def comfyui_ready() -> tuple[bool, str]:
    """(True, url) when at least one enabled ComfyUI server answers now."""
    from generations import comfyui_client as comfy
    from generations.services import servers_seed_from_settings

    if not ComfyServer.objects.exists():
        servers_seed_from_settings()
    servers = list(ComfyServer.objects.filter(enabled=True).order_by("-is_healthy", "id"))
    if not servers:
        return False, "No ComfyUI server is configured (set COMFYUI_URL)."
    errors = []
    for server in servers:
        try:
            with comfy.ComfyUIClient(server.url, connect_timeout=2, read_timeout=3) as client:
                client.system_stats()
        except comfy.ComfyUIError as exc:
            errors.append(f"{server.url}: {exc}")
            continue
        return True, server.url
    return False, "; ".join(errors)[:1000]


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
