"""Runs one job on a ComfyUI server: the heart of Creator.

    generation_execute  claim (queued -> processing, conditional update)
                        -> pick the least-loaded healthy server
                        -> upload the input into a per-job subfolder
                        -> queue the snapshot graph and follow its websocket
                        -> download and store every output
                        -> finishing.generation_complete (fenced by the attempt)

Failures end in finishing too (generation_fail, generation_retry_or_fail).
The database row is the truth. A duplicate delivery finds the job already
claimed and leaves; a worker that was presumed dead and replaced cannot
complete the job any more (every write checks the attempt number); a job
whose worker died is requeued by the reaper.
"""

import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from generations import comfyui_client as comfy
from generations.files import comfy_input_name, files_delete, output_store, outputs_drop
from generations.finishing import (
    generation_complete,
    generation_fail,
    generation_retry_or_fail,
    log_context,
)
from generations.models import Asset, ComfyServer, Generation, GenerationEvent
from generations.progress import progress_publish
from generations.servers import (
    server_client,
    server_pick,
    server_record_health,
    servers_busy,
    servers_seed_from_settings,
)
from generations.services import generation_enqueue
from generations.states import AttemptSuperseded, generation_transition

logger = logging.getLogger(__name__)
Status = Generation.Status


class _ProgressReporter:
    """Feeds the live UI through the cache on every message, and writes the
    row (which also serves as the heartbeat) at most every `interval` s."""

    def __init__(self, generation: Generation, attempt: int, interval: float):
        self.generation = generation
        self.attempt = attempt
        self.interval = interval
        self._last_write = 0.0
        self._last_percent = -1

    def __call__(self, progress: comfy.Progress) -> None:
        percent = min(int(progress.percent), 99)  # 100 only once outputs are stored
        if percent == self._last_percent:
            return
        message = f"Running node {progress.node_id}" if progress.node_id else "Running"
        self._last_percent = percent
        # The live UI reads the cache: cheap, and fed on every change.
        progress_publish(
            generation_id=self.generation.id,
            status=Status.PROCESSING,
            progress=percent,
            message=message,
        )
        now = time.monotonic()
        if now - self._last_write < self.interval:
            return
        self._last_write = now
        self.write(progress=percent, progress_message=message, current_node=progress.node_id or "")

    def write(self, **fields) -> None:
        updated = Generation.objects.filter(
            id=self.generation.id, status=Status.PROCESSING, attempts=self.attempt
        ).update(heartbeat_at=timezone.now(), **fields)
        if not updated:
            raise AttemptSuperseded()


def generation_execute(*, generation_id, worker_id: str = "") -> None:
    """Run the job if it is queued; otherwise do nothing (idempotent).

    Never raises for a job's own failures: they are recorded on the job.
    """
    generation = Generation.objects.filter(id=generation_id).first()
    if generation is None:
        return
    if generation.status == Status.PROCESSING and _is_stale(generation):
        # A redelivered message for a job whose worker died: take it back now
        # rather than waiting for the reaper.
        generation_requeue_stale(generation=generation, enqueue=False)
        generation.refresh_from_db()
    if generation.status != Status.QUEUED:
        return

    tried = set(generation.error_details.get("failed_servers", []))
    server = server_pick(exclude_ids=tried) or server_pick()
    if server is None and not ComfyServer.objects.exists():
        servers_seed_from_settings()  # a fresh deployment: rows from COMFYUI_URL
        server = server_pick()
    if server is None and servers_busy():
        # Every healthy server is at capacity: wait without spending an attempt.
        generation_enqueue(generation_id=generation.id, countdown=settings.QUEUE_WAIT_SECONDS)
        return

    attempt = generation.attempts + 1
    now = timezone.now()
    claimed = generation_transition(
        generation=generation,
        to=Status.PROCESSING,
        kind="started",
        expect_status=[Status.QUEUED],
        message=f"Attempt {attempt} on {server}" if server else f"Attempt {attempt}",
        data={"attempt": attempt, "server": server.url if server else None, "worker": worker_id},
        attempts=attempt,
        server=server,
        worker_id=worker_id[:200],
        started_at=generation.started_at or now,
        heartbeat_at=now,
        comfy_prompt_id=uuid.uuid4(),
        progress=0,
        progress_message="Starting",
    )
    if not claimed:
        return  # another worker got it first
    logger.info("job started", extra=log_context(generation, attempt))
    try:
        if server is None:
            raise comfy.ComfyUnreachable("No ComfyUI server is available right now.")
        _run_on_server(generation, server, attempt)
    except AttemptSuperseded:
        logger.info("abandoned attempt", extra=log_context(generation, attempt))
    except comfy.ComfyInterrupted as exc:
        generation.refresh_from_db()
        if generation.status == Status.CANCELLED:
            return
        generation_retry_or_fail(
            generation=generation,
            attempt=attempt,
            server=server,
            code="interrupted",
            detail=str(exc),
        )
    except (comfy.ComfyUnreachable, comfy.ComfyTimeout) as exc:
        if server is not None and isinstance(exc, comfy.ComfyUnreachable):
            server_record_health(server=server, ok=False, error=str(exc))
        code = "timeout" if isinstance(exc, comfy.ComfyTimeout) else "server_unavailable"
        generation_retry_or_fail(
            generation=generation, attempt=attempt, server=server, code=code, detail=str(exc)
        )
    except comfy.ComfyValidationError as exc:
        generation_fail(
            generation=generation,
            attempt=attempt,
            code="validation_error",
            message="ComfyUI rejected the workflow: " + str(exc),
            details={"error": exc.error, "node_errors": exc.node_errors},
        )
    except comfy.ComfyExecutionError as exc:
        generation_fail(
            generation=generation,
            attempt=attempt,
            code="execution_error",
            message=f"Node {exc.node_id} ({exc.node_type}) failed: "
            f"{exc.exception_type}: {exc.exception_message}",
            details={
                "node_id": exc.node_id,
                "node_type": exc.node_type,
                "exception_type": exc.exception_type,
                "exception_message": exc.exception_message,
            },
        )
    except comfy.ComfyUIError as exc:
        generation_fail(
            generation=generation,
            attempt=attempt,
            code="comfyui_error",
            message=f"ComfyUI answered unexpectedly: {exc}",
            details={},
        )
    except Exception as exc:
        logger.exception("unexpected error", extra=log_context(generation, attempt))
        generation_fail(
            generation=generation,
            attempt=attempt,
            code="internal_error",
            message="Something went wrong on our side while processing this job. "
            "It has been logged; please try again.",
            details={"exception_type": type(exc).__name__},
        )


def _run_on_server(generation: Generation, server: ComfyServer, attempt: int) -> None:
    reporter = _ProgressReporter(generation, attempt, interval=settings.PROGRESS_WRITE_INTERVAL)
    if attempt > 1:
        outputs_drop(generation=generation)  # leftovers of an earlier attempt
    # One file per image input, under the name the snapshot gives it; none
    # for a text-to-image job.
    input_assets = Asset.objects.filter(generation_id=generation.id, kind=Asset.Kind.INPUT)
    started = time.monotonic()
    with server_client(server) as client:
        for input_asset in input_assets.order_by("created_at", "id"):
            extension = input_asset.file.name.rsplit(".", 1)[-1]
            subfolder, name = comfy_input_name(generation.id, extension, input_asset.input_name)
            with input_asset.file.open("rb") as source:
                client.upload_image(source, name, subfolder=subfolder)
        result = client.run(
            generation.workflow_snapshot,
            prompt_id=str(generation.comfy_prompt_id),
            on_progress=reporter,
            extra_data={"creator_job": str(generation.id)},
        )
        executed = GenerationEvent(
            generation_id=generation.id,
            kind="executed",
            message=f"Input uploaded; ComfyUI finished ({len(result.outputs)} output(s)).",
            data={
                "cached_nodes": result.cached_nodes,
                "execution_ms": int((time.monotonic() - started) * 1000),
            },
            created_at=timezone.now(),
        )
        # Saved images are the result; previews (type "temp") only count for
        # a workflow that saves nothing.
        saved = [o for o in result.outputs if o.type == "output"] or result.outputs
        assets: list[Asset] = []
        try:
            for output in saved:
                assets += output_store(generation=generation, client=client, output=output)
        except BaseException:
            files_delete(assets=assets)
            raise
    if not assets:
        raise comfy.ComfyExecutionError(
            None, None, "NoOutput", "The workflow finished without producing an image."
        )
    try:
        generation_complete(
            generation=generation,
            attempt=attempt,
            assets=assets,
            events=[executed],
            outputs=len(saved),
        )
    except AttemptSuperseded:
        # Cancelled, or another attempt owns the job now: nothing was
        # written; remove only the files this attempt stored.
        files_delete(assets=assets)
        raise
    server_record_health(server=server, ok=True)


def _stale_before():
    return timezone.now() - timedelta(seconds=settings.GENERATION_STALE_SECONDS)


def _is_stale(generation: Generation) -> bool:
    return generation.heartbeat_at is None or generation.heartbeat_at < _stale_before()


def generation_requeue_stale(*, generation: Generation, enqueue: bool = True) -> bool:
    """Take back a processing job whose worker went quiet (killed, lost).

    Requeues it (or fails it when out of attempts). Fenced by the attempt
    number, so a worker that was only slow cannot complete it afterwards.
    """
    attempt = generation.attempts
    if attempt >= generation.max_attempts:
        generation_fail(
            generation=generation,
            attempt=attempt,
            code="worker_lost",
            message="The worker processing this job stopped responding too many times.",
            details={},
        )
        return False
    with transaction.atomic():
        requeued = generation_transition(
            generation=generation,
            to=Status.QUEUED,
            kind="requeued",
            expect_attempt=attempt,
            message="The worker stopped responding; the job was put back in the queue.",
            progress=0,
            progress_message="Waiting for a worker",
        )
        if requeued and enqueue:
            transaction.on_commit(lambda: generation_enqueue(generation_id=generation.id))
    return requeued


def generations_reap_stale() -> int:
    """Requeue every processing job whose heartbeat is older than the limit."""
    count = 0
    stale = Generation.objects.filter(status=Status.PROCESSING, heartbeat_at__lt=_stale_before())
    for generation in stale:
        count += generation_requeue_stale(generation=generation)
    return count
