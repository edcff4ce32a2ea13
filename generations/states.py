"""A job's state machine: the only legal moves, and the one function that makes them.

Every change of a job's status goes through `generation_transition`: it takes
the row lock, refuses moves the table does not allow, and writes the event
row in the same transaction.
"""

from collections.abc import Iterable

from django.db import transaction

from generations.models import Generation, GenerationEvent

Status = Generation.Status

# The only legal moves. Final statuses (Generation.FINAL) lead nowhere.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.QUEUED: frozenset({Status.PROCESSING, Status.FAILED, Status.CANCELLED}),
    # processing -> queued is a retry after a transient failure.
    Status.PROCESSING: frozenset(
        {Status.QUEUED, Status.COMPLETED, Status.FAILED, Status.CANCELLED}
    ),
    Status.COMPLETED: frozenset(),
    Status.FAILED: frozenset(),
    Status.CANCELLED: frozenset(),
}


class IllegalTransition(Exception):
    """No status (of those the caller allows) can move to the target: a bug."""


class AttemptSuperseded(Exception):
    """The worker's attempt no longer owns the job: it was cancelled, or the
    reaper gave it to another attempt. The worker stops and writes nothing."""


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
    when the move is not possible now; raises IllegalTransition when it
    never is. Extra keyword arguments are fields to write with the status.
    Updates `generation` in memory on success.
    """
    allowed_from = {s for s, targets in TRANSITIONS.items() if to in targets}
    if expect_status is not None:
        allowed_from &= set(expect_status)
    if not allowed_from:
        raise IllegalTransition(f"No job can move to {to!r} from {sorted(expect_status or [])}.")
    # savepoint=False: inside a caller's transaction this is one more step of
    # it (no savepoint round trips); alone it is its own transaction.
    with transaction.atomic(savepoint=False):
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
    # The row now holds exactly these values: mirror them instead of re-reading.
    generation.status = to
    for name, value in fields.items():
        if hasattr(value, "resolve_expression"):
            generation.refresh_from_db(fields=[name])
        else:
            setattr(generation, name, value)
    return True
