"""Process probes for load balancers and orchestrators; no authentication."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

BROKER_TIMEOUT_SECONDS = 2


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
    from generations.selectors import comfyui_ready

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
