"""Live progress of running jobs, through the cache.

The worker publishes every change here (cheap, and fresher than the row,
which it writes at most every PROGRESS_WRITE_INTERVAL); pages and the API
read it, and fall back to the row when there is no entry.
"""

import time
from collections.abc import Iterable

from django.core.cache import cache
from django.db import connection

from generations.models import Generation

Status = Generation.Status
PROGRESS_CACHE_SECONDS = 3600
# While a sync request waits it reads the cache (fed by the worker on every
# change); the row is read this rarely, only to notice a cancel or a job the
# reaper failed, which do not write the cache.
WAIT_DB_CHECK_SECONDS = 5.0


def progress_cache_key(generation_id) -> str:
    return f"generation:{generation_id}:progress"


def progress_publish(*, generation_id, status: str, progress: int, message: str) -> None:
    cache.set(
        progress_cache_key(generation_id),
        {"status": status, "progress": progress, "message": message},
        timeout=PROGRESS_CACHE_SECONDS,
    )


def progress_get(*, generation: Generation) -> dict:
    """{"status", "progress", "message"} for the UI: the worker's entry while
    the job runs, the row otherwise."""
    if generation.status == Status.PROCESSING:
        cached = cache.get(progress_cache_key(generation.id))
        if cached and cached.get("status") == Status.PROCESSING:
            return cached
    return {
        "status": generation.status,
        "progress": generation.progress,
        "message": generation.progress_message,
    }


def progress_get_many(*, generations: Iterable[Generation]) -> dict[str, dict]:
    """The worker's entries of the processing jobs among `generations`, by
    job id (str), in one cache read; jobs without one are left out."""
    keys = {
        progress_cache_key(g.id): str(g.id) for g in generations if g.status == Status.PROCESSING
    }
    if not keys:
        return {}
    found = cache.get_many(list(keys))
    return {
        keys[k]: v
        for k, v in found.items()
        if isinstance(v, dict) and v.get("status") == Status.PROCESSING
    }


def progress_wait_final(*, generation_id, seconds: float) -> None:
    """Sleep until the job is final or `seconds` pass, without holding a
    database connection: the worker's progress entry says when it is done;
    the row is read only every WAIT_DB_CHECK_SECONDS."""
    deadline = time.monotonic() + seconds
    _release_db_connection()
    delay, last_db_check = 0.05, time.monotonic()
    while True:
        state = cache.get(progress_cache_key(generation_id))
        if isinstance(state, dict) and state.get("status") in Generation.FINAL:
            return
        now = time.monotonic()
        if now >= deadline:
            return
        if now - last_db_check >= WAIT_DB_CHECK_SECONDS:
            last_db_check = now
            current = (
                Generation.objects.filter(id=generation_id).values_list("status", flat=True).first()
            )
            _release_db_connection()
            if current in Generation.FINAL:
                return
        time.sleep(min(delay, max(deadline - now, 0)))
        delay = min(delay * 1.5, 0.25)


def _release_db_connection() -> None:
    # Inside a transaction (ATOMIC_REQUESTS, or a test) the connection is
    # the transaction and must stay; otherwise give it back for the wait.
    if not connection.in_atomic_block:
        connection.close()
