"""The operational numbers staff watch: one selector, shown in the admin's
Operations page and exported to Prometheus at /metrics."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils import timezone

from generations.models import ComfyServer, Generation

WINDOW = timedelta(hours=24)


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ops_numbers() -> dict:
    """Jobs by status, queue depth, p50/p95 processing time per workflow over
    the last 24 h, server health, users and monthly active users."""
    now = timezone.now()
    by_status = dict.fromkeys(Generation.Status.values, 0)
    by_status.update(
        Generation.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    durations: dict[str, list[int]] = {}
    recent = (
        Generation.objects.filter(
            status=Generation.Status.COMPLETED,
            completed_at__gte=now - WINDOW,
            duration_ms__isnull=False,
        )
        .order_by("-completed_at")
        .values_list("workflow_name", "duration_ms")[:20000]
    )
    for name, ms in recent:
        durations.setdefault(name or "unknown", []).append(ms)
    per_workflow = []
    for name, values in sorted(durations.items()):
        values.sort()
        per_workflow.append(
            {
                "workflow": name,
                "jobs": len(values),
                "p50_ms": _percentile(values, 0.5),
                "p95_ms": _percentile(values, 0.95),
            }
        )
    servers = [
        {
            "url": s.url,
            "enabled": s.enabled,
            "healthy": s.is_healthy,
            "running": s.running,
            "capacity": s.max_concurrent_jobs,
            "last_checked_at": s.last_checked_at,
            "last_error": s.last_error,
        }
        for s in ComfyServer.objects.annotate(
            running=Count("generations", filter=_processing())
        ).order_by("url")
    ]
    from billing.selectors import revenue_by_tier

    users = get_user_model().objects
    return {
        "revenue_30d_cents_by_tier": revenue_by_tier(since=now - timedelta(days=30)),
        "jobs_by_status": by_status,
        "queue_depth": by_status[Generation.Status.QUEUED],
        "jobs_last_24h": Generation.objects.filter(created_at__gte=now - WINDOW).count(),
        "per_workflow": per_workflow,
        "servers": servers,
        "users_total": users.count(),
        "mau": users.filter(last_login__gte=now - timedelta(days=30)).count(),
    }


def _processing():
    from django.db.models import Q

    return Q(generations__status=Generation.Status.PROCESSING)
