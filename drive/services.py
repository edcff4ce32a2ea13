"""Watched folders: connect a source, choose a folder, poll it, turn new
files into jobs, and deliver the results back.

Everything here talks to a `drive.sources.Source`, never to Google or the
file system directly, so Drive and the local inbox follow one flow:

    polls_enqueue_due  (beat)  -> claims due connections, enqueues polls
    connection_claim (watcher) -> claims an inbox connection a file settled in
    connection_poll            -> detect, record SourceFile rows, advance the
                                  cursor, download each file, create a job
    delivery_run (job final)   -> upload the output, record where it went
"""

from __future__ import annotations

import logging
import random
import re
import tempfile
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing.services import QuotaExceeded, RateLimited
from creator_site.errors import NotFound
from drive import drive_client as dc
from drive import sources
from drive.models import PollRecord, SourceConnection, SourceFile
from generations.images import ACCEPTED_TEXT, InvalidImage

logger = logging.getLogger(__name__)
Kind = SourceConnection.Kind
State = SourceConnection.State
FileStatus = SourceFile.Status

DRIVE_SCOPE_MISSING = (
    "Google Drive access was not granted, so Creator cannot watch your folders. "
    "Connect again and keep the box “See, edit, create and delete all your Google Drive "
    "files” ticked."
)


class ConnectError(ValueError):
    """A connect or folder choice that cannot be done; str() is for people."""


class IllegalTransition(Exception):
    """A SourceFile status change its transition table forbids: a bug, not a race."""


class DeliveryRetry(Exception):
    """Delivery hit a temporary error; the task retries after `countdown` s."""

    def __init__(self, message: str, countdown: float):
        super().__init__(message)
        self.countdown = countdown


def drive_scopes() -> list[str]:
    return list(settings.DRIVE_SCOPES)


# --- building sources -------------------------------------------------------------


def google_app_credentials() -> tuple[str, str]:
    """(client id, secret) of the Google OAuth app: settings, else allauth's SocialApp."""
    client_id = settings.GOOGLE_CLIENT_ID
    secret = settings.GOOGLE_CLIENT_SECRET
    if not client_id:
        # Credentials may live in allauth's SocialApp (entered in the admin) instead.
        from allauth.socialaccount.models import SocialApp

        app = SocialApp.objects.filter(provider="google").first()
        if app is not None:
            client_id, secret = app.client_id, app.secret
    return client_id, secret


def drive_client_for(connection: SourceConnection) -> dc.DriveClient:
    client_id, secret = google_app_credentials()
    expiry = connection.token_expires_at
    return dc.DriveClient(
        access_token=connection.access_token,
        refresh_token=connection.refresh_token,
        # google-auth compares naive UTC datetimes.
        expiry=expiry.astimezone(UTC).replace(tzinfo=None) if expiry else None,
        client_id=client_id,
        client_secret=secret,
        api_root=settings.DRIVE_API_ENDPOINT or dc.GOOGLE_API_ROOT,
        token_uri=settings.GOOGLE_TOKEN_URI or dc.GOOGLE_TOKEN_URI,
        revoke_uri=settings.GOOGLE_REVOKE_URI or dc.GOOGLE_REVOKE_URI,
        timeout=settings.DRIVE_TIMEOUT_SECONDS,
        retry_delay=settings.DRIVE_RETRY_DELAY_SECONDS,
    )


def source_for(connection: SourceConnection) -> sources.Source:
    if connection.kind == Kind.INBOX:
        return sources.LocalInboxSource(
            Path(connection.inbox_path), stable_seconds=settings.INBOX_STABLE_SECONDS
        )
    return sources.GoogleDriveSource(drive_client_for(connection))


def _store_refreshed_tokens(connection: SourceConnection, source: sources.Source) -> None:
    """Persist an access token google-auth refreshed during the calls (encrypted)."""
    client = getattr(source, "client", None)
    if client is None or not client.tokens_changed:
        return
    tokens = client.tokens
    connection.access_token = tokens.access_token
    connection.token_expires_at = tokens.expiry.replace(tzinfo=UTC) if tokens.expiry else None
    fields = {
        "access_token_encrypted": connection.access_token_encrypted,
        "token_expires_at": connection.token_expires_at,
    }
    if tokens.refresh_token and tokens.refresh_token != connection.refresh_token:
        connection.refresh_token = tokens.refresh_token
        fields["refresh_token_encrypted"] = connection.refresh_token_encrypted
    SourceConnection.objects.filter(id=connection.id).update(**fields)
    client.tokens_stored()


# --- connecting --------------------------------------------------------------------


class _FolderTaken(Exception):
    """Another account watches that inbox folder."""


def inbox_subfolder_name(*, user) -> str:
    """The folder an account gets inside INBOX_DIR when the inbox itself is
    another account's: its email as a slug (alice@example.com ->
    alice-example-com). Always has a hyphen, so never `processed`."""
    slug = re.sub(r"[^a-z0-9]+", "-", user.email.lower()).strip("-")
    return slug if "-" in slug else f"account-{user.pk}"


def inbox_connect(
    *, user, path: str | Path | None = None, preset_slug: str = ""
) -> SourceConnection:
    """Watch a local folder for `user` (idempotent). The folder and its
    `processed/` subfolder are created; results land in the latter.

    A folder is one account's, or one drop would make a job (and a charge)
    for every account watching it. Without `path`, an account keeps the
    folder it has; a new one gets INBOX_DIR unless another account claimed
    it first (`make run` gives it to the demo user), else its own
    `INBOX_DIR/<email-slug>/`. Raises ConnectError if `path` is another
    account's folder, or a folder cannot be created."""
    current = SourceConnection.objects.filter(user=user, kind=Kind.INBOX).first()
    if path is not None:
        candidates = [Path(path).expanduser().resolve()]
    elif current is not None and current.inbox_path:
        candidates = [Path(current.inbox_path)]
    else:
        base = Path(settings.INBOX_DIR).expanduser().resolve()
        own = base / inbox_subfolder_name(user=user)
        candidates = [base, own, own.with_name(f"{own.name}-{user.pk}")]
    for root in candidates:
        try:
            return _inbox_claim(user=user, root=root, current=current, preset_slug=preset_slug)
        except _FolderTaken:
            continue
    raise ConnectError(f"{candidates[0]} is another account's inbox folder. Choose another folder.")


def _inbox_claim(*, user, root: Path, current, preset_slug: str) -> SourceConnection:
    taken = SourceConnection.objects.filter(kind=Kind.INBOX, inbox_path=str(root))
    if taken.exclude(user=user).exists():
        raise _FolderTaken
    source = sources.LocalInboxSource(root)
    moved = current is not None and current.inbox_path != str(root)
    try:
        with transaction.atomic():
            # The row claims the folder (one account per folder is a unique
            # constraint, so of two accounts racing for it one gets it)
            # before the folder is created; a folder that cannot be made
            # rolls the claim back.
            connection, _ = SourceConnection.objects.update_or_create(
                user=user,
                kind=Kind.INBOX,
                defaults={
                    "inbox_path": str(root),
                    "state": State.CONNECTED,
                    "state_message": "",
                    "folder_name": str(root),
                    "next_poll_at": timezone.now(),
                    # The cursor names files of the old folder.
                    **({"cursor": ""} if moved else {}),
                    **({"preset_slug": preset_slug} if preset_slug else {}),
                },
            )
            try:
                folder = source.folder(".")
                output = source.output_folder_ensure(parent_id=".", name=source.OUTPUT_DIR)
            except OSError as exc:
                raise ConnectError(
                    f"Creator cannot use {root} as the inbox: {exc.strerror}."
                ) from exc
            connection.folder_id = folder.id
            connection.output_folder_id = output.id
            connection.output_folder_name = output.name
            connection.output_folder_link = output.link
            connection.save(
                update_fields=[
                    "folder_id",
                    "output_folder_id",
                    "output_folder_name",
                    "output_folder_link",
                    "updated_at",
                ]
            )
    except IntegrityError as exc:
        raise _FolderTaken from exc  # another account claimed it a moment ago
    return connection


def drive_connect(
    *,
    user,
    access_token: str,
    refresh_token: str,
    expires_at: datetime | None,
    scopes: list[str] | None = None,
    account_email: str = "",
) -> SourceConnection:
    """Store the tokens of a Google grant on the user's Drive connection
    (encrypted). Raises ConnectError when the Drive scope was not granted
    (the user unticked it) or there is no refresh token."""
    needed = set(drive_scopes())
    if scopes is not None and not needed <= set(scopes):
        raise ConnectError(DRIVE_SCOPE_MISSING)
    connection = SourceConnection.objects.filter(user=user, kind=Kind.DRIVE).first()
    if not refresh_token and (connection is None or not connection.refresh_token_encrypted):
        raise ConnectError(
            "Google did not give Creator offline access, which it needs to watch your folder "
            "while you are away. Connect again and approve access."
        )
    connection = connection or SourceConnection(user=user, kind=Kind.DRIVE)
    connection.access_token = access_token
    if refresh_token:
        connection.refresh_token = refresh_token
    connection.token_expires_at = expires_at
    connection.scopes = " ".join(scopes or sorted(needed))[:1000]
    connection.account_email = account_email or connection.account_email
    connection.state = State.CONNECTED
    connection.state_message = ""
    connection.consecutive_failures = 0
    connection.next_poll_at = timezone.now()
    connection.save()
    # Google lets people untick the Drive box on the consent screen; the
    # grant then works for sign-in but every Drive call is refused. Find out
    # now, with the cheapest call, rather than at the first poll.
    source = source_for(connection)
    try:
        source.detect(folder_id="", cursor="", limit=1)
    except sources.SourceForbidden as exc:
        connection_disconnect(connection=connection)
        SourceConnection.objects.filter(id=connection.id).update(
            state=State.REVOKED, state_message=DRIVE_SCOPE_MISSING
        )
        raise ConnectError(DRIVE_SCOPE_MISSING) from exc
    except sources.SourceRevoked as exc:
        connection_mark_revoked(connection=connection, message=exc.message)
        raise ConnectError(exc.message) from exc
    except sources.SourceError:
        pass  # temporary: the first poll will tell
    finally:
        _store_refreshed_tokens(connection, source)
    return connection


def connection_disconnect(*, connection: SourceConnection) -> SourceConnection:
    """Stop watching. For Drive, the grant is revoked at Google (best
    effort) and the tokens are deleted here either way."""
    if connection.kind == Kind.DRIVE and connection.refresh_token_encrypted:
        try:
            drive_client_for(connection).revoke()
        except dc.DriveError as exc:
            logger.warning("drive connection %s: revoke failed: %s", connection.id, exc)
    SourceConnection.objects.filter(id=connection.id).update(
        state=State.DISCONNECTED,
        state_message="You disconnected this source.",
        access_token_encrypted="",
        refresh_token_encrypted="",
        token_expires_at=None,
        poll_claim=None,
        poll_claimed_until=None,
    )
    connection.refresh_from_db()
    return connection


def connection_choose_folder(
    *, connection: SourceConnection, folder_id: str, output_folder_name: str = ""
) -> SourceConnection:
    """Watch `folder_id` from now on and create its output subfolder.
    Files already in the folder are not processed; new and changed ones are.
    Raises ConnectError if the folder is not one of the user's."""
    if connection.state != State.CONNECTED:
        raise ConnectError("Connect the source again before choosing a folder.")
    source = source_for(connection)
    name = sources.safe_name(output_folder_name or connection.output_folder_name or "Processed")
    try:
        folder = source.folder(folder_id)
        output = source.output_folder_ensure(parent_id=folder.id, name=name)
        start = source.detect(folder_id=folder.id, cursor="", limit=1)
    except (sources.SourceNotFound, sources.SourceForbidden) as exc:
        raise ConnectError(
            "That folder does not exist in your Google Drive, or you cannot open it. "
            "Choose one of the folders listed."
        ) from exc
    except sources.SourceRevoked as exc:
        connection_mark_revoked(connection=connection, message=exc.message)
        raise ConnectError(exc.message) from exc
    except sources.SourceError as exc:
        raise ConnectError(f"{exc.message} Try again in a minute.") from exc
    finally:
        _store_refreshed_tokens(connection, source)
    now = timezone.now()
    connection.folder_id = folder.id
    connection.folder_name = folder.name[:500]
    connection.folder_link = folder.link[:1000]
    connection.output_folder_id = output.id
    connection.output_folder_name = output.name[:200]
    connection.output_folder_link = output.link[:1000]
    connection.cursor = start.cursor if connection.kind == Kind.DRIVE else ""
    connection.watch_started_at = now
    connection.last_reconciled_at = now
    connection.next_poll_at = now
    # A poll running now read the old folder: dropping its claim fences it
    # off, so it cannot write the old folder's cursor over the new one.
    connection.poll_claim = None
    connection.poll_claimed_until = None
    connection.idle_polls = 0
    connection.save()
    return connection


def connection_folders(
    *, connection: SourceConnection, parent_id: str | None = None
) -> list[sources.Folder]:
    """Sub-folders for the folder browser. Raises sources.SourceError."""
    source = source_for(connection)
    try:
        return source.folders(parent_id)
    except sources.SourceRevoked as exc:
        connection_mark_revoked(connection=connection, message=exc.message)
        raise
    finally:
        _store_refreshed_tokens(connection, source)


def connection_set_preset(*, connection: SourceConnection, preset_slug: str) -> SourceConnection:
    """Process this source's images with `preset_slug` (blank: the user's default)."""
    if preset_slug:
        from workflows.selectors import workflow_get_for_user

        try:
            workflow_get_for_user(user=connection.user, id_or_slug=preset_slug)
        except NotFound as exc:
            raise ConnectError("That preset does not exist. Choose one from the list.") from exc
    connection.preset_slug = preset_slug
    connection.save(update_fields=["preset_slug", "updated_at"])
    return connection


def connection_mark_revoked(*, connection: SourceConnection, message: str) -> None:
    """The grant is gone: stop polling, drop the tokens and tell the user once."""
    changed = SourceConnection.objects.filter(id=connection.id, state=State.CONNECTED).update(
        state=State.REVOKED,
        state_message=message[:500],
        access_token_encrypted="",
        refresh_token_encrypted="",
        token_expires_at=None,
    )
    connection.state = State.REVOKED
    connection.state_message = message[:500]
    if changed:
        user = connection.user
        send_mail(
            subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}Reconnect Google Drive",
            message=(
                f"Hello,\n\n{message}\n\nCreator has stopped watching "
                f"“{connection.folder_name}”. Reconnect here: {settings.SITE_URL}/drive/\n"
            ),
            from_email=None,
            recipient_list=[user.email],
            fail_silently=True,
        )


# --- source files ------------------------------------------------------------------


def source_file_mark(
    *, source_file: SourceFile, to: str, expect: Iterable[str] | None = None, **fields
) -> bool:
    """Move `source_file` to status `to`, writing `fields` with it, if
    SourceFile.TRANSITIONS allows it: one conditional UPDATE, so of two
    workers making the same move only one does.

    `expect`: the statuses the caller saw the row in. If the row has moved on
    since (another poll or delivery got there first), nothing changes and
    the result is False. Raises IllegalTransition when the table forbids the
    move: from a status in `expect`, or, without `expect`, from the row's
    current status. Updates `source_file` in memory on success."""
    origins = {status for status, targets in SourceFile.TRANSITIONS.items() if to in targets}
    if expect is not None:
        expect = set(expect)
        if not expect <= origins:
            raise IllegalTransition(
                f"A source file cannot move from {sorted(expect - origins)} to {to!r}."
            )
        origins = expect
    changed = SourceFile.objects.filter(id=source_file.id, status__in=origins).update(
        status=to, updated_at=timezone.now(), **fields
    )
    if not changed:
        if expect is None:
            current = (
                SourceFile.objects.filter(id=source_file.id)
                .values_list("status", flat=True)
                .first()
            )
            if current is not None:
                raise IllegalTransition(f"A source file cannot move from {current!r} to {to!r}.")
        return False
    source_file.status = to
    for name, value in fields.items():
        setattr(source_file, name, value)
    return True


# --- polling -----------------------------------------------------------------------


def polls_enqueue_due(*, limit: int = 1000) -> int:
    """Claim connections whose poll is due (one query reads them, one
    claims them all) and enqueue one poll each once the claim commits."""
    from drive.tasks import connections_poll as poll_task

    now = timezone.now()
    claim = uuid.uuid4()
    with transaction.atomic():
        ids = list(
            SourceConnection.objects.select_for_update(skip_locked=True)
            .filter(state=State.CONNECTED, next_poll_at__lte=now)
            .exclude(folder_id="")
            .filter(Q(poll_claimed_until__isnull=True) | Q(poll_claimed_until__lt=now))
            .order_by("next_poll_at")
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return 0
        SourceConnection.objects.filter(id__in=ids).update(
            poll_claim=claim,
            poll_claimed_until=now + timedelta(seconds=settings.DRIVE_POLL_LEASE_SECONDS),
        )

        def enqueue():
            # Chunks, not one message per connection: an idle poll costs about
            # as much as a broker round trip, so a task polls several.
            size = max(1, settings.DRIVE_POLL_CHUNK)
            for start in range(0, len(ids), size):
                poll_task.apply_async(args=[ids[start : start + size], str(claim)])

        transaction.on_commit(enqueue)
    return len(ids)


def connection_claim(*, connection_id: int) -> uuid.UUID | None:
    """Claim one connection for a poll right now (the "check now" button and
    tests). None if a poll of it is running."""
    now = timezone.now()
    claim = uuid.uuid4()
    claimed = (
        SourceConnection.objects.filter(id=connection_id, state=State.CONNECTED)
        .filter(Q(poll_claimed_until__isnull=True) | Q(poll_claimed_until__lt=now))
        .update(
            poll_claim=claim,
            poll_claimed_until=now + timedelta(seconds=settings.DRIVE_POLL_LEASE_SECONDS),
        )
    )
    return claim if claimed else None


def connection_poll(*, connection_id: int, claim: uuid.UUID | str) -> PollRecord | None:
    """Run one poll of a connection the caller has claimed (see connections_poll)."""
    records = connections_poll(connection_ids=[connection_id], claim=claim)
    return records[0] if records else None


def connections_poll(*, connection_ids: list[int], claim: uuid.UUID | str) -> list[PollRecord]:
    """Poll connections the caller has claimed, in turn. Idempotent and
    fenced: a connection whose claim was taken over is skipped, and a poll
    that loses its claim midway stops writing.

    An idle poll costs one API call. Idle polls share their reads: one query
    reads the connections and one inserts the poll records, whatever their
    number; then each connection's schedule is one UPDATE. A single idle
    poll: three queries."""
    connections = list(
        SourceConnection.objects.filter(
            id__in=connection_ids, poll_claim=claim, state=State.CONNECTED
        ).order_by("id")
    )
    results = []
    for connection in connections:
        result = _poll_one(connection, claim)
        if result is not None:
            results.append(result)
    return _finish_polls(results, claim)


def _poll_one(connection: SourceConnection, claim) -> tuple | None:
    started = timezone.now()
    source = source_for(connection)
    outcome = _PollOutcome()
    try:
        outcome.reconcile = _reconcile_due(connection, started)
        if connection.has_pending:
            _ingest_pending(connection, source, outcome)
        detection = source.detect(
            folder_id=connection.folder_id,
            cursor=connection.cursor,
            limit=settings.DRIVE_POLL_BATCH_SIZE,
        )
        outcome.calls += detection.calls
        if detection.reset:
            connection.last_reconciled_at = None  # the next poll lists the folder
        files = list(detection.files)
        if outcome.reconcile:
            files += _reconcile_candidates(connection, source)
        outcome.more = detection.more
        if files:
            if not _record_files(
                connection, files, cursor=detection.cursor, claim=claim, outcome=outcome
            ):
                return None  # another poll took over meanwhile
            _ingest_pending(connection, source, outcome)
        else:
            connection.cursor = detection.cursor
    except sources.SourceRevoked as exc:
        outcome.fail(PollRecord.Status.REVOKED, exc.message)
        connection_mark_revoked(connection=connection, message=exc.message)
    except sources.SourceRateLimited as exc:
        outcome.fail(PollRecord.Status.RATE_LIMITED, exc.message, retry_after=exc.retry_after)
    except sources.SourceError as exc:
        outcome.fail(PollRecord.Status.ERROR, exc.message)
    except Exception:
        # Recorded like any failed poll (and backed off) rather than left
        # claimed until the lease runs out.
        logger.exception("connection %s: poll failed", connection.id)
        outcome.fail(PollRecord.Status.ERROR, "Something went wrong on our side; we will retry.")
    finally:
        _store_refreshed_tokens(connection, source)
    calls = getattr(getattr(source, "client", None), "calls", outcome.calls)
    return connection, started, outcome, calls


class _PollOutcome:
    def __init__(self):
        self.status = PollRecord.Status.OK
        self.error = ""
        self.found = 0
        self.calls = 0
        self.more = False
        self.reconcile = False
        self.retry_after: float | None = None

    def fail(self, status: str, error: str, retry_after: float | None = None) -> None:
        self.status, self.error, self.retry_after = status, error, retry_after


def _next_poll_delay(connection: SourceConnection, outcome: _PollOutcome) -> tuple[float, int, int]:
    """(seconds to the next poll, idle polls, consecutive failures)."""
    if connection.kind == Kind.INBOX:
        base, fast, slowest = (settings.INBOX_POLL_SECONDS,) * 3
    else:
        base = settings.DRIVE_POLL_SECONDS
        fast = settings.DRIVE_POLL_FAST_SECONDS
        slowest = settings.DRIVE_POLL_MAX_SECONDS
    if outcome.status != PollRecord.Status.OK:
        failures = connection.consecutive_failures + 1
        # Exponential back-off with full jitter, never sooner than Retry-After.
        ceiling = min(base * 2**failures, settings.DRIVE_BACKOFF_MAX_SECONDS)
        delay = max(outcome.retry_after or 0, ceiling * (0.5 + random.random() / 2))  # noqa: S311
        return delay, connection.idle_polls, failures
    if outcome.more:
        return 0, 0, 0  # a batch is waiting: continue at once
    if outcome.found:
        return fast, 0, 0
    idle = connection.idle_polls + 1
    # Idle folders are polled less and less often, down to `slowest`.
    return min(base * 2 ** (idle // 20), slowest), idle, 0


def poll_due_at(*, connection: SourceConnection, delay: float, now: datetime) -> datetime:
    """When a connection polled under its current claim is due again,
    `delay` seconds on.

    Counted from the claim (the beat tick that enqueued the poll, or the
    watcher's call), not from the poll's end: beat only looks every
    DRIVE_POLL_TICK_SECONDS, so "due `delay` s after the poll finished" is
    just after the tick `delay` s later and waits for the next one, which
    made a 3 s period 6 s. Half a tick early, so that tick finds it due even
    if it runs a little sooner after its schedule than this one did."""
    lease = timedelta(seconds=settings.DRIVE_POLL_LEASE_SECONDS)
    claimed_at = connection.poll_claimed_until - lease if connection.poll_claimed_until else now
    slack = min(delay, settings.DRIVE_POLL_TICK_SECONDS) / 2
    return claimed_at + timedelta(seconds=delay - slack)


_SCHEDULE_FIELDS = [
    "poll_claim",
    "poll_claimed_until",
    "next_poll_at",
    "idle_polls",
    "consecutive_failures",
    "last_poll_at",
    "cursor",
    "has_pending",
    "last_activity_at",
    "last_reconciled_at",
]


def _finish_polls(results: list[tuple], claim) -> list[PollRecord]:
    """Record the polls (one INSERT for all) and write each connection's next
    schedule, releasing the claim. Autocommit, not one transaction: each
    update is fenced by the claim, so it needs none."""
    if not results:
        return []
    now = timezone.now()
    records = []
    for connection, started, outcome, calls in results:
        ok = outcome.status == PollRecord.Status.OK
        delay, idle, failures = _next_poll_delay(connection, outcome)
        records.append(
            PollRecord(
                connection_id=connection.id,
                started_at=started,
                finished_at=now,
                status=outcome.status,
                reconcile=outcome.reconcile and ok and connection.kind == Kind.DRIVE,
                files_found=outcome.found,
                api_calls=calls,
                error=outcome.error[:2000],
            )
        )
        if ok:
            connection.next_poll_at = poll_due_at(connection=connection, delay=delay, now=now)
        else:
            # A back-off (or Retry-After) counts in full from the failure.
            connection.next_poll_at = now + timedelta(seconds=delay)
        connection.poll_claim = None
        connection.poll_claimed_until = None
        connection.idle_polls = idle
        connection.consecutive_failures = failures
        connection.last_poll_at = now
        if ok and outcome.found:
            connection.last_activity_at = now
        if ok and outcome.reconcile:
            connection.last_reconciled_at = now
    if len(records) == 1:
        records[0].save(force_insert=True)  # bulk_create would add a transaction
    else:
        PollRecord.objects.bulk_create(records)
    # Fenced by the claim: a connection whose claim changed meanwhile (taken
    # over, folder changed, disconnected) keeps what it has.
    for connection, *_ in results:
        SourceConnection.objects.filter(id=connection.id, poll_claim=claim).update(
            **{name: getattr(connection, name) for name in _SCHEDULE_FIELDS}
        )
    return records


def _reconcile_due(connection: SourceConnection, now) -> bool:
    """Hourly: Drive lists the folder (the change feed may miss something);
    every kind prunes its old poll records (the inbox polls every few seconds)."""
    every = timedelta(seconds=settings.DRIVE_RECONCILE_SECONDS)
    return connection.last_reconciled_at is None or connection.last_reconciled_at + every <= now


def _reconcile_candidates(connection, source) -> list[sources.RemoteFile]:
    """Prune old poll records, and for Drive return the files in the folder
    new or changed since watching started (recording dedupes them). The inbox
    needs no listing: every poll lists it, and only settled files may pass."""
    keep_days = settings.DRIVE_POLL_RECORD_DAYS
    PollRecord.objects.filter(
        connection_id=connection.id, started_at__lt=timezone.now() - timedelta(days=keep_days)
    ).delete()
    if connection.kind != Kind.DRIVE:
        return []
    since = connection.watch_started_at.timestamp() if connection.watch_started_at else 0
    return [
        f
        for f in source.list_folder(folder_id=connection.folder_id)
        if not f.ours and (f.modified_at or 0) >= since
    ]


def _skip_reason(remote: sources.RemoteFile) -> tuple[str, str] | None:
    """Why a file is not even downloaded, from what the source tells us."""
    max_bytes = settings.UPLOAD_MAX_BYTES
    is_image = remote.mime_type.startswith("image/") or sources.is_image_name(remote.name)
    if not is_image:
        kind = remote.mime_type or "not an image"
        return "unsupported_type", f"“{remote.name}” is not an image ({kind}). {ACCEPTED_TEXT}"
    if remote.size is not None and remote.size > max_bytes:
        return (
            "file_too_large",
            f"“{remote.name}” is {remote.size / 1024 / 1024:.0f} MB; the limit is "
            f"{max_bytes / 1024 / 1024:.0f} MB. Resize or compress it and add it again.",
        )
    return None


def _record_files(connection, files, *, cursor, claim, outcome: _PollOutcome) -> bool:
    """Record new file versions and store the cursor in one transaction, so a
    crash between the two re-reads the changes (deduplicated) instead of
    losing them. Returns False if this poll lost its claim."""
    keys = {(f.id, f.version_key) for f in files}
    with transaction.atomic():
        # The fence: only the claim holder advances the cursor.
        locked = (
            SourceConnection.objects.select_for_update()
            .filter(id=connection.id, poll_claim=claim)
            .values_list("id", flat=True)
            .first()
        )
        if locked is None:
            return False
        existing = set(
            SourceFile.objects.filter(
                connection_id=connection.id, file_id__in=[k[0] for k in keys]
            ).values_list("file_id", "version_key")
        )
        rows, seen = [], set(existing)
        for remote in files:
            key = (remote.id, remote.version_key)
            if key in seen:
                continue
            seen.add(key)
            skip = _skip_reason(remote)
            rows.append(
                SourceFile(
                    connection_id=connection.id,
                    file_id=remote.id[:1000],
                    version_key=remote.version_key[:200],
                    name=remote.name[:500],
                    mime_type=remote.mime_type[:200],
                    size=remote.size,
                    link=(remote.link or source_link(connection, remote.id))[:1000],
                    status=FileStatus.SKIPPED if skip else FileStatus.DETECTED,
                    reason_code=skip[0] if skip else "",
                    message=skip[1] if skip else "",
                )
            )
        SourceFile.objects.bulk_create(rows, ignore_conflicts=True)
        outcome.found += len(rows)
        connection.cursor = cursor
        connection.has_pending = connection.has_pending or any(
            r.status == FileStatus.DETECTED for r in rows
        )
        SourceConnection.objects.filter(id=connection.id).update(
            cursor=cursor, has_pending=connection.has_pending
        )
    return True


def source_link(connection: SourceConnection, file_id: str) -> str:
    if connection.kind == Kind.DRIVE:
        return f"https://drive.google.com/open?id={file_id}"
    return str(Path(connection.inbox_path) / file_id)


def _ingest_pending(connection, source, outcome: _PollOutcome) -> None:
    """Turn recorded files into jobs, oldest first, at most one batch. A
    temporary source error stops here; the rest waits for the next poll."""
    size = settings.DRIVE_POLL_BATCH_SIZE
    batch = list(
        SourceFile.objects.filter(connection_id=connection.id, status=FileStatus.DETECTED).order_by(
            "id"
        )[: size + 1]
    )
    workflow = None
    for row in batch[:size]:
        if workflow is None:
            workflow = _workflow_for(connection)
            if workflow is None:
                slug = connection.preset_slug or connection.user.default_preset
                source_file_mark(
                    source_file=row,
                    to=FileStatus.FAILED,
                    expect=[FileStatus.DETECTED],
                    reason_code="no_preset",
                    message=f"The preset “{slug}” no longer exists. "
                    "Choose another preset on the Drive page.",
                )
                continue
        if not _ingest_one(connection, source, row, workflow):
            # The account cannot take more jobs now (quota or hourly limit):
            # this file and the ones after it wait, in order, for a later poll.
            connection.has_pending = True
            outcome.more = True
            return
    connection.has_pending = len(batch) > size
    if connection.has_pending:
        outcome.more = True


def _workflow_for(connection):
    from workflows.selectors import workflow_get_for_user

    slug = connection.preset_slug or connection.user.default_preset
    try:
        return workflow_get_for_user(user=connection.user, id_or_slug=slug)
    except NotFound:
        return None


def _ingest_one(connection, source, row: SourceFile, workflow) -> bool:
    """Turn one detected file into a job. False when the account cannot take
    a job now: the file stays detected, with the reason shown, and is tried
    again on a later poll."""
    from generations.services import generation_create

    max_bytes = settings.UPLOAD_MAX_BYTES
    remote = sources.RemoteFile(
        id=row.file_id, name=row.name, version_key=row.version_key, size=row.size
    )
    # Downloaded to a temporary file outside any transaction: it can be slow.
    with tempfile.TemporaryFile() as buffer:
        try:
            source.download(remote, buffer, max_bytes=max_bytes)
        except sources.SourceNotFound:
            source_file_mark(
                source_file=row,
                to=FileStatus.FAILED,
                expect=[FileStatus.DETECTED],
                reason_code="file_gone",
                message=f"“{row.name}” was deleted or moved before Creator could download it, "
                "so it was not processed. Add it again to process it.",
            )
            return True
        except ValueError:
            source_file_mark(
                source_file=row,
                to=FileStatus.SKIPPED,
                expect=[FileStatus.DETECTED],
                reason_code="file_too_large",
                message=f"“{row.name}” is larger than {max_bytes / 1024 / 1024:.0f} MB. "
                "Resize or compress it and add it again.",
            )
            return True
        buffer.seek(0)
        source_ref = {
            "kind": connection.kind,
            "connection_id": connection.id,
            "source_file_id": row.id,
            "file_id": row.file_id,
            "name": row.name,
            "version": row.version_key,
            "link": row.link,
        }
        try:
            with transaction.atomic():
                # The claim: of two polls that read this row, one makes the job.
                if not source_file_mark(
                    source_file=row, to=FileStatus.QUEUED, expect=[FileStatus.DETECTED]
                ):
                    return True
                generation = generation_create(
                    user=connection.user,
                    workflow=workflow,
                    image=buffer,
                    image_name=row.name,
                    source=connection.kind,
                    source_ref=source_ref,
                )
                SourceFile.objects.filter(id=row.id).update(generation=generation)
        except (QuotaExceeded, RateLimited) as exc:
            SourceFile.objects.filter(id=row.id).update(reason_code=exc.code, message=exc.message)
            return False
        # The claim was rolled back with the job: the row is DETECTED again.
        except InvalidImage as exc:
            source_file_mark(
                source_file=row,
                to=FileStatus.SKIPPED,
                expect=[FileStatus.DETECTED],
                reason_code=exc.code,
                message=exc.message,
            )
        except Exception as exc:
            logger.exception("source file %s: could not create a job", row.id)
            source_file_mark(
                source_file=row,
                to=FileStatus.FAILED,
                expect=[FileStatus.DETECTED],
                reason_code="job_not_created",
                message=f"“{row.name}” could not be queued: {exc}",
            )
    return True


# --- delivery ----------------------------------------------------------------------


def output_name(*, original: str, preset: str, extension: str) -> str:
    """`<original name>_<preset>.<ext>`, safe for any file system."""
    stem = Path(sources.safe_name(original)).stem or "image"
    return sources.safe_name(f"{stem}_{preset}.{extension.lstrip('.')}")


def delivery_run(*, generation_id) -> SourceFile | None:
    """Put a finished job's output into the source's output folder, once.

    Idempotent: a delivered file is never uploaded again, a concurrent
    delivery is refused by a conditional update, and an upload that
    succeeded just before a crash is found by its tag instead of repeated.
    Raises DeliveryRetry on a temporary source error."""
    from generations.models import Asset, Generation

    row = (
        SourceFile.objects.select_related("connection", "connection__user", "generation")
        .filter(generation_id=generation_id)
        .first()
    )
    if row is None or row.delivered_at is not None or row.generation is None:
        return row
    generation = row.generation
    if generation.status != Generation.Status.COMPLETED:
        if generation.is_final:
            _delivery_mark(
                row,
                to=FileStatus.FAILED,
                reason_code=generation.error_code or generation.status,
                message=generation.error_message or f"The job was {generation.status}.",
            )
        return row
    now = timezone.now()
    lease = timedelta(seconds=settings.DRIVE_DELIVERY_LEASE_SECONDS)
    claimed = (
        SourceFile.objects.filter(id=row.id, delivered_at__isnull=True)
        .filter(Q(delivery_started_at__isnull=True) | Q(delivery_started_at__lt=now - lease))
        .update(delivery_started_at=now)
    )
    if not claimed:
        return row
    connection = row.connection
    output = generation.assets.filter(kind=Asset.Kind.OUTPUT).order_by("created_at").first()
    if output is None:
        _delivery_mark(
            row, to=FileStatus.FAILED, reason_code="no_output", message="The job produced no image."
        )
        return row
    if connection.state != State.CONNECTED:
        _delivery_mark(
            row,
            to=FileStatus.FAILED,
            reason_code="disconnected",
            message="The result is ready in Creator but could not be put in your folder: "
            "the source is disconnected.",
            delivery_started_at=None,
        )
        return row
    preset = generation.workflow.slug if generation.workflow else "result"
    extension = Path(output.file.name).suffix or ".png"
    name = output_name(original=row.name, preset=preset, extension=extension)
    source = source_for(connection)
    try:
        remote = _upload(connection, source, output, name, tag=f"sf{row.id}")
    except sources.SourceRevoked as exc:
        connection_mark_revoked(connection=connection, message=exc.message)
        _delivery_mark(row, to=FileStatus.FAILED, reason_code="revoked", message=exc.message)
        return row
    except (sources.SourceRateLimited, sources.SourceUnavailable) as exc:
        SourceFile.objects.filter(id=row.id).update(delivery_started_at=None)
        countdown = getattr(exc, "retry_after", None) or 30
        raise DeliveryRetry(exc.message, countdown) from exc
    except sources.SourceError as exc:
        _delivery_mark(
            row, to=FileStatus.FAILED, reason_code="delivery_failed", message=exc.message
        )
        return row
    finally:
        _store_refreshed_tokens(connection, source)
    link = remote.link or source_link(connection, remote.id)
    _delivery_mark(
        row,
        to=FileStatus.DELIVERED,
        output_file_id=remote.id[:1000],
        output_name=remote.name[:500],
        output_link=link[:1000],
        delivered_at=timezone.now(),
    )
    # The job records where its result went. (generations has no service
    # for source_ref yet; this is the only write drive makes to a job.)
    Generation.objects.filter(id=generation.id).update(
        source_ref={
            **generation.source_ref,
            "output_file_id": remote.id,
            "output_name": remote.name,
            "output_link": link,
            "output_folder_id": connection.output_folder_id,
        }
    )
    row.refresh_from_db()
    return row


def _delivery_mark(row: SourceFile, *, to: str, **fields) -> bool:
    # A row with a job is queued, or failed at an earlier delivery attempt.
    return source_file_mark(
        source_file=row, to=to, expect=[FileStatus.QUEUED, FileStatus.FAILED], **fields
    )


def _upload(connection, source, asset, name: str, *, tag: str) -> sources.RemoteFile:
    def attempt(folder_id: str) -> sources.RemoteFile:
        with asset.file.open("rb") as stream:
            return source.upload(
                folder_id=folder_id,
                name=name,
                stream=stream,
                size=asset.size,
                mime_type=asset.content_type,
                tag=tag,
            )

    try:
        return attempt(connection.output_folder_id)
    except sources.SourceNotFound:
        # The user deleted the output folder: make it again and retry once.
        folder = source.output_folder_ensure(
            parent_id=connection.folder_id, name=connection.output_folder_name
        )
        SourceConnection.objects.filter(id=connection.id).update(
            output_folder_id=folder.id, output_folder_link=folder.link[:1000]
        )
        connection.output_folder_id = folder.id
        return attempt(folder.id)


def connection_reencrypt_all() -> int:
    """Re-encrypt every stored token with the newest key; returns rows changed."""
    from drive.crypto import token_rotate

    changed = 0
    for connection in SourceConnection.objects.exclude(
        access_token_encrypted="", refresh_token_encrypted=""
    ).iterator():
        SourceConnection.objects.filter(id=connection.id).update(
            access_token_encrypted=token_rotate(connection.access_token_encrypted),
            refresh_token_encrypted=token_rotate(connection.refresh_token_encrypted),
        )
        changed += 1
    return changed
