"""The site's own pages: the dashboard, which gathers what each app says
about the member; process probes for load balancers and orchestrators (no
authentication); metrics; the admin's Operations page."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

from billing.selectors import billing_me
from drive.selectors import connection_alerts
from generations import selectors as generation_selectors

BROKER_TIMEOUT_SECONDS = 2


@login_required
def dashboard(request):
    recent = list(generation_selectors.generation_list(user=request.user)[:10])
    generation_selectors.generation_thumbnails_attach(generations=recent)
    return render(
        request,
        "dashboard.html",
        {
            "recent": recent,
            "counts": generation_selectors.generation_counts(user=request.user),
            "quota": billing_me(user=request.user),
            "drive_alerts": connection_alerts(user=request.user),
        },
    )


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready"; say which
        return False, f"{type(exc).__name__}: {exc}"
    return True, "ok"


def _broker_ok() -> tuple[bool, str]:
    # A fresh connection per probe: the app's pooled one may be stale or
    # may silently retry, and a probe must answer within seconds.
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=BROKER_TIMEOUT_SECONDS,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return True, "ok"


def _comfyui_ok() -> tuple[bool, str]:
    from generations.servers import comfyui_ready

    try:
        return comfyui_ready()
    except Exception as exc:  # e.g. the database is down too
        return False, f"{type(exc).__name__}: {exc}"


READINESS_CHECKS = [("database", _database_ok), ("broker", _broker_ok), ("comfyui", _comfyui_ok)]


@never_cache
@require_GET
def health(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request):
    checks = {}
    all_ok = True
    for name, check in READINESS_CHECKS:
        ok, detail = check()
        checks[name] = {"ok": ok, "detail": detail}
        all_ok = all_ok and ok
    return JsonResponse(
        {"status": "ready" if all_ok else "not_ready", "checks": checks},
        status=200 if all_ok else 503,
    )


@never_cache
@require_GET
def metrics(request):
    """Prometheus text format. With METRICS_TOKEN set, a matching
    `Authorization: Bearer` header is required; without it, only in DEBUG."""
    import hmac

    from django.http import Http404, HttpResponse
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily

    from creator_site.ops import ops_numbers

    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            return HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
    elif not settings.DEBUG:
        raise Http404()

    numbers = ops_numbers()

    class Collector:
        def collect(self):
            jobs = GaugeMetricFamily("creator_jobs", "Jobs by status", labels=["status"])
            for status, n in numbers["jobs_by_status"].items():
                jobs.add_metric([status], n)
            yield jobs
            yield GaugeMetricFamily(
                "creator_queue_depth", "Jobs waiting for a worker", value=numbers["queue_depth"]
            )
            duration = GaugeMetricFamily(
                "creator_job_duration_ms",
                "Processing time of jobs completed in the last 24 h",
                labels=["workflow", "quantile"],
            )
            for row in numbers["per_workflow"]:
                duration.add_metric([row["workflow"], "0.5"], row["p50_ms"])
                duration.add_metric([row["workflow"], "0.95"], row["p95_ms"])
            yield duration
            up = GaugeMetricFamily("creator_comfyui_up", "Server health", labels=["url"])
            running = GaugeMetricFamily(
                "creator_comfyui_running", "Jobs running per server", labels=["url"]
            )
            for server in numbers["servers"]:
                up.add_metric([server["url"]], int(server["healthy"] and server["enabled"]))
                running.add_metric([server["url"]], server["running"])
            yield up
            yield running
            revenue = GaugeMetricFamily(
                "creator_revenue_30d_cents", "Paid invoices in 30 days", labels=["tier"]
            )
            for tier, cents in numbers["revenue_30d_cents_by_tier"].items():
                revenue.add_metric([tier], cents)
            yield revenue
            yield GaugeMetricFamily("creator_users", "Accounts", value=numbers["users_total"])
            yield GaugeMetricFamily(
                "creator_monthly_active_users", "Users who logged in within 30 days",
                value=numbers["mau"],
            )  # fmt: skip

    registry = CollectorRegistry()
    registry.register(Collector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def operations(request):
    """The admin's Operations page (staff only, wired in urls.py)."""
    from creator_site.ops import ops_numbers

    return render(
        request, "admin/operations.html", {"numbers": ops_numbers(), "title": "Operations"}
    )
