"""Services that change jobs and ComfyUI servers.

Every change of a job's status goes through `generation_transition`: it takes
the row lock, refuses moves the state machine does not allow, and writes the
event row in the same transaction.
"""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from generations.models import ComfyServer, Generation, GenerationEvent

logger = logging.getLogger(__name__)
Status = Generation.Status


class IllegalTransition(Exception):
    pass


def generation_event_add(
    *, generation: Generation, kind: str, message: str = "", data: dict | None = None
) -> GenerationEvent:
    """Append a non-transition event (a notable step) to the job's trail."""
    return GenerationEvent.objects.create(
        generation_id=generation.id, kind=kind, message=message[:500], data=data or {}
    )


def generation_transition(
    *,
    generation: Generation,
    to: str,
    kind: str | None = None,
    message: str = "",
    data: dict | None = None,
    expect_status: Iterable[str] | None = None,
    expect_attempt: int | None = None,
    **fields,
) -> bool:
    """Move a job to status `to`, if the state machine allows it from the
    job's *current* status (read under a row lock), and record the event.

    `expect_status` narrows the allowed starting points; `expect_attempt`
    fences a worker: a worker whose attempt was taken over by the reaper can
    no longer complete or fail the job. Returns False (and changes nothing)
    when the move is not possible now. Extra keyword arguments are fields to
    write with the status. Updates `generation` in memory on success.
    """
    allowed_from = {s for s, targets in Generation.TRANSITIONS.items() if to in targets}
    if expect_status is not None:
        allowed_from &= set(expect_status)
    if not allowed_from:
        raise IllegalTransition(f"No job can move to {to!r} from {sorted(expect_status or [])}.")
    with transaction.atomic():
        queryset = Generation.objects.select_for_update().filter(id=generation.id)
        current = queryset.values("status", "attempts").first()
        if current is None or current["status"] not in allowed_from:
            return False
        if expect_attempt is not None and current["attempts"] != expect_attempt:
            return False
        queryset.update(status=to, **fields)
        GenerationEvent.objects.create(
            generation_id=generation.id,
            kind=kind or to,
            from_status=current["status"],
            to_status=to,
            message=message[:500],
            data=data or {},
        )
    generation.refresh_from_db()
    return True


# --- ComfyUI servers --------------------------------------------------------


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
    best, best_load = None, None
    for server in candidates:
        if server.running >= server.max_concurrent_jobs:
            continue
        load = server.running / max(server.weight, 1)
        if best_load is None or load < best_load:
            best, best_load = server, load
    return best


def server_record_health(*, server: ComfyServer, ok: bool, error: str = "") -> ComfyServer:
    """Store a health-check result. A server is marked down after two
    consecutive failures (one blip does not empty the pool) and up at once."""
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
