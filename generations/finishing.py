"""How a job ends: completed, failed, retried, or cancelled — and what follows.

Every way a job reaches a final status is here, each in one transaction
with its consequences, so nobody can see a final job without them:

    generation_complete       outputs stored -> completed, usage counted
    generation_fail           failed, usage counted, credits refunded
    generation_retry_or_fail  a transient failure: queued again, or failed
                              once the attempts are used up
    generation_cancel         cancelled by the user, credits refunded,
                              the prompt stopped on its server

and each final move ends with `generation_on_finished`: the user is
notified, and the apps that registered a hook (drive) hear of it.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.services import usage_record_outcome, usage_refund
from generations.files import outputs_drop
from generations.hooks import finished_hooks_run
from generations.models import Asset, ComfyServer, Generation, GenerationEvent
from generations.notifications import generation_notify_finished
from generations.progress import progress_publish
from generations.servers import server_stop_prompt
from generations.services import generation_enqueue
from generations.states import AttemptSuperseded, generation_event_add, generation_transition

logger = logging.getLogger(__name__)
Status = Generation.Status


def log_context(generation: Generation, attempt: int) -> dict:
    """The `extra` of a job's log lines (see creator_site.logs)."""
    return {
        "job_id": generation.id,
        "user_id": generation.user_id,
        "attempt": attempt,
        "server": generation.server.url if generation.server_id else "-",
    }


def generation_complete(
    *,
    generation: Generation,
    attempt: int,
    assets: list[Asset],
    events: list[GenerationEvent],
    outputs: int,
) -> None:
    """Complete the job with its (unsaved) output rows and step events.

    One transaction, one commit: the events, the outputs, the status, the
    usage count and the notification stand or fall together. Raises
    AttemptSuperseded, with nothing written, when `attempt` no longer owns
    the job (cancelled, or taken over); the files are then the caller's to
    delete.
    """
    finished = timezone.now()
    with transaction.atomic():
        GenerationEvent.objects.bulk_create(events)
        Asset.objects.bulk_create(assets)
        completed = generation_transition(
            generation=generation,
            to=Status.COMPLETED,
            expect_attempt=attempt,
            message=f"{outputs} output(s) stored.",
            data={"outputs": [a.file.name for a in assets if a.kind == Asset.Kind.OUTPUT]},
            progress=100,
            progress_message="Done",
            completed_at=finished,
            duration_ms=int((finished - generation.started_at).total_seconds() * 1000),
            error_code="",
            error_message="",
        )
        if not completed:
            raise AttemptSuperseded()  # rolls the rows above back
        usage_record_outcome(generation_id=generation.id, status=Status.COMPLETED)
        generation_on_finished(generation=generation)
    logger.info("job completed", extra=log_context(generation, attempt))
    progress_publish(
        generation_id=generation.id, status=Status.COMPLETED, progress=100, message="Done"
    )


def generation_fail(
    *, generation: Generation, attempt: int, code: str, message: str, details: dict
) -> bool:
    """Fail the job for good (fenced by `attempt`): its usage is counted, its
    credits are returned, the user is told, and partial outputs are removed.
    Returns False when the attempt no longer owns the job."""
    # One transaction: nobody can see the job failed without its refund,
    # its usage count and its notification.
    with transaction.atomic():
        failed = generation_transition(
            generation=generation,
            to=Status.FAILED,
            expect_attempt=attempt,
            message=message,
            data={"code": code},
            error_code=code,
            error_message=message,
            error_details=details,
            completed_at=timezone.now(),
        )
        if failed:
            usage_record_outcome(generation_id=generation.id, status=Status.FAILED)
            generation_emit_refund(generation=generation)
            generation_on_finished(generation=generation)
    if failed:
        # Final now, so no other attempt is writing: clear any partial outputs.
        outputs_drop(generation=generation)
        logger.info("job failed: %s", code, extra=log_context(generation, attempt))
        progress_publish(
            generation_id=generation.id,
            status=Status.FAILED,
            progress=generation.progress,
            message=message,
        )
    return failed


def generation_retry_or_fail(
    *,
    generation: Generation,
    attempt: int,
    server: ComfyServer | None,
    code: str,
    detail: str,
) -> None:
    """After a transient failure (server down, timeout, interrupted): queue
    the job again after GENERATION_RETRY_BACKOFF, avoiding the servers that
    failed it, or fail it once `max_attempts` are used up."""
    failed_servers = list(generation.error_details.get("failed_servers", []))
    if server is not None and server.id not in failed_servers:
        failed_servers.append(server.id)
    if attempt >= generation.max_attempts:
        generation_fail(
            generation=generation,
            attempt=attempt,
            code=code,
            message=f"ComfyUI could not finish this job after {attempt} attempts ({detail}). "
            "Please try again later.",
            details={"failed_servers": failed_servers},
        )
        return
    backoff = settings.GENERATION_RETRY_BACKOFF
    delay = backoff[min(attempt - 1, len(backoff) - 1)]
    requeued = generation_transition(
        generation=generation,
        to=Status.QUEUED,
        kind="retry",
        expect_attempt=attempt,
        message=f"Attempt {attempt} failed ({detail}); retrying in {delay} s.",
        data={"code": code, "delay": delay},
        error_code=code,
        error_message=detail[:2000],
        error_details={"failed_servers": failed_servers},
        progress=0,
        progress_message="Waiting to retry",
    )
    if requeued:
        generation_enqueue(generation_id=generation.id, countdown=delay)


def generation_cancel(*, generation: Generation, reason: str = "Cancelled by the user.") -> bool:
    """Cancel a job in any non-final state. A queued job never runs; a
    processing one is interrupted on its server (and removed from the
    server's queue if it had not started there). Returns False when the
    job had already finished."""
    was_processing = generation.status == Status.PROCESSING
    with transaction.atomic():
        if not generation_transition(
            generation=generation,
            to=Status.CANCELLED,
            message=reason,
            completed_at=timezone.now(),
        ):
            return False
        generation_emit_refund(generation=generation)
        generation_on_finished(generation=generation)
    if was_processing and generation.server_id and generation.comfy_prompt_id:
        # Outside the transaction: the server may be slow or down, and the
        # cancel is already recorded; the worker notices and stops.
        server_stop_prompt(server=generation.server, prompt_id=generation.comfy_prompt_id)
    return True


def generation_emit_refund(*, generation: Generation) -> bool:
    """Emit the billing refund hook for a failed or cancelled job, exactly
    once however often it is called (a conditional update claims it)."""
    claimed = Generation.objects.filter(
        id=generation.id,
        refunded_at__isnull=True,
        status__in=[Status.FAILED, Status.CANCELLED],
    ).update(refunded_at=timezone.now())
    if not claimed:
        return False
    usage_refund(generation_id=generation.id)
    generation_event_add(
        generation=generation,
        kind="refund",
        message=f"{generation.credits_used} credit(s) returned.",
        data={"credits": generation.credits_used},
    )
    return True


def generation_on_finished(*, generation: Generation) -> None:
    """What happens once a job is final (completed, failed or cancelled):
    the user is notified, and every registered on-finished hook runs (drive
    hands a watched folder's job back to its source). Safe to call more than
    once; effects run after the caller's transaction commits."""
    generation_notify_finished(generation=generation)
    finished_hooks_run(generation=generation)
