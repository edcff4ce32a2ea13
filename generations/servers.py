"""The ComfyUI servers jobs run on: the pool, its health, and clients to them.

Rows are seeded from COMFYUI_URL (so a deployment needs no admin clicks) and
edited in the admin. A server is picked per attempt by load; it is marked
down after two failed checks and up after one good one.
"""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from generations import comfyui_client as comfy
from generations.models import ComfyServer, Generation

logger = logging.getLogger(__name__)
Status = Generation.Status

OBJECT_INFO_CACHE_KEY = "comfyui:object_info"
OBJECT_INFO_CACHE_SECONDS = 10 * 60
OBJECT_INFO_MISS_SECONDS = 60


def servers_seed_from_settings() -> list[ComfyServer]:
    """Make sure every URL in COMFYUI_URL has a server row (idempotent), so a
    deployment needs no admin clicks. Rows added in the admin are kept."""
    urls = [u.strip().rstrip("/") for u in settings.COMFYUI_URL.split(",") if u.strip()]
    servers = []
    for url in urls:
        server, _ = ComfyServer.objects.get_or_create(url=url, defaults={"name": url})
        servers.append(server)
    return servers


def server_pick(*, exclude_ids: Iterable[int] = ()) -> ComfyServer | None:
    """The least-loaded healthy enabled server with a free slot, or None.

    Load is the number of jobs processing on it divided by its weight.
    """
    candidates = (
        ComfyServer.objects.filter(enabled=True, is_healthy=True)
        .exclude(id__in=list(exclude_ids))
        .annotate(running=Count("generations", filter=Q(generations__status=Status.PROCESSING)))
    )
    free = [s for s in candidates if s.running < s.max_concurrent_jobs]
    # Ties go to the bigger server, then the older row, so the choice is stable.
    return min(free, key=lambda s: (s.running / max(s.weight, 1), -s.weight, s.id), default=None)


def servers_busy() -> bool:
    """True when healthy servers exist (so `server_pick` found none free)."""
    return ComfyServer.objects.filter(enabled=True, is_healthy=True).exists()


def server_record_health(*, server: ComfyServer, ok: bool, error: str = "") -> ComfyServer:
    """Store a health-check result. A server is marked down after two
    consecutive failures (one blip does not empty the pool) and up at once."""
    if ok and server.is_healthy and not server.consecutive_failures and not server.last_error:
        # Nothing to record: skip the write on the hot path (every finished job).
        return server
    server.last_checked_at = timezone.now()
    if ok:
        server.is_healthy = True
        server.consecutive_failures = 0
        server.last_error = ""
    else:
        server.consecutive_failures += 1
        server.last_error = error[:2000]
        if server.consecutive_failures >= 2:
            server.is_healthy = False
    server.save(
        update_fields=["last_checked_at", "is_healthy", "consecutive_failures", "last_error"]
    )
    return server


def server_client(server: ComfyServer, **timeouts: float) -> comfy.ComfyUIClient:
    """A client to `server` with the COMFYUI_* timeouts jobs run with;
    probes pass shorter ones (`connect_timeout=`, `read_timeout=`)."""
    options = {
        "connect_timeout": settings.COMFYUI_CONNECT_TIMEOUT,
        "silence_timeout": settings.COMFYUI_SILENCE_TIMEOUT,
        "total_timeout": settings.COMFYUI_TOTAL_TIMEOUT,
        **timeouts,
    }
    return comfy.ComfyUIClient(server.url, **options)


def server_stop_prompt(*, server: ComfyServer, prompt_id) -> None:
    """Best effort: remove the prompt from the server's queue if it has not
    started, and interrupt it if it is running. Never raises."""
    try:
        with server_client(server) as client:
            client.delete_queued(str(prompt_id))
            client.interrupt(str(prompt_id))
    except comfy.ComfyUIError as exc:
        logger.warning("could not stop prompt %s on %s: %s", prompt_id, server.url, exc)


def servers_check_health() -> dict[str, bool]:
    """Ask every enabled server for /system_stats and record the answer."""
    servers_seed_from_settings()
    results = {}
    for server in ComfyServer.objects.filter(enabled=True):
        try:
            with server_client(server, connect_timeout=3, read_timeout=5) as client:
                client.system_stats()
        except comfy.ComfyUIError as exc:
            server_record_health(server=server, ok=False, error=str(exc))
            results[server.url] = False
        else:
            server_record_health(server=server, ok=True)
            results[server.url] = True
    return results


def comfyui_object_info() -> dict | None:
    """`/object_info` of a healthy server, cached; None when none answers.

    Graph validation uses it to check class types and inputs against what
    the servers really offer. It runs inside page requests, so servers get
    short timeouts and a miss is remembered for a minute instead of being
    retried on every save. Writes only the cache.
    """
    cached = cache.get(OBJECT_INFO_CACHE_KEY)
    if cached is not None:
        return cached or None  # {} marks a recent miss
    for server in ComfyServer.objects.filter(enabled=True, is_healthy=True):
        try:
            with server_client(server, connect_timeout=2, read_timeout=5) as client:
                info = client.object_info()
        except comfy.ComfyUIError:
            continue  # an unreachable server is simply skipped
        cache.set(OBJECT_INFO_CACHE_KEY, info, OBJECT_INFO_CACHE_SECONDS)
        return info
    cache.set(OBJECT_INFO_CACHE_KEY, {}, OBJECT_INFO_MISS_SECONDS)
    return None


def comfyui_ready() -> tuple[bool, str]:
    """(True, url) when at least one enabled ComfyUI server answers now;
    (False, why) otherwise. Seeds the rows from COMFYUI_URL when there are
    none, so the first readiness probe of a deployment sees its servers."""
    if not ComfyServer.objects.exists():
        servers_seed_from_settings()
    servers = list(ComfyServer.objects.filter(enabled=True).order_by("-is_healthy", "id"))
    if not servers:
        return False, "No ComfyUI server is configured (set COMFYUI_URL)."
    errors = []
    for server in servers:
        try:
            with server_client(server, connect_timeout=2, read_timeout=3) as client:
                client.system_stats()
        except comfy.ComfyUIError as exc:
            errors.append(f"{server.url}: {exc}")
            continue
        return True, server.url
    return False, "; ".join(errors)[:1000]
