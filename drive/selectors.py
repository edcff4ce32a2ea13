"""Reads for the Drive pages, always scoped to the user asking."""

from django.db.models import QuerySet

from drive.models import PollRecord, SourceConnection, SourceFile


def connection_list(*, user) -> list[SourceConnection]:
    return list(SourceConnection.objects.filter(user=user).order_by("kind"))


def connection_get(*, user, kind: str) -> SourceConnection | None:
    return SourceConnection.objects.filter(user=user, kind=kind).first()


def connection_alerts(*, user) -> list[SourceConnection]:
    """Connections the user must act on (revoked grants), for a dashboard banner."""
    return list(SourceConnection.objects.filter(user=user, state=SourceConnection.State.REVOKED))


def poll_list(*, connection: SourceConnection, limit: int = 10) -> QuerySet[PollRecord]:
    return PollRecord.objects.filter(connection=connection).order_by("-started_at")[:limit]


def source_file_problems(*, connection: SourceConnection, limit: int = 20) -> QuerySet[SourceFile]:
    """Skipped and failed files, newest first, with the reason to show."""
    return SourceFile.objects.filter(
        connection=connection, status__in=[SourceFile.Status.SKIPPED, SourceFile.Status.FAILED]
    ).order_by("-id")[:limit]


def source_file_waiting(*, connection: SourceConnection) -> dict:
    """Files held back because the account cannot take more jobs now (quota
    or hourly limit): the first in line carries the reason, the rest wait
    behind it. Zero when nothing is held back."""
    pending = SourceFile.objects.filter(connection=connection, status=SourceFile.Status.DETECTED)
    first = pending.order_by("id").first()
    if first is None or not first.reason_code:
        return {"count": 0, "message": ""}
    return {"count": pending.count(), "message": first.message}


def source_file_jobs(*, connection: SourceConnection, limit: int = 20) -> QuerySet[SourceFile]:
    """Files that became jobs, newest first, with their job."""
    return (
        SourceFile.objects.filter(connection=connection, generation__isnull=False)
        .select_related("generation")
        .order_by("-id")[:limit]
    )
