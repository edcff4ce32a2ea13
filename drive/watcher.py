"""The instant local inbox: a long-running watcher (`manage.py inbox_watch`)
that hears files arrive in inbox folders and polls that connection as soon
as a file has settled, instead of waiting for beat.

File-system events (inotify, FSEvents, … through watchdog) only say when
to look; what is taken, and when a file counts as complete, is still
decided by the poll (`drive.services.connection_poll` and
`LocalInboxSource.detect`), exactly as for beat's polls. So the watcher and
beat can both poll: the poll claim lets one run at a time, and each file
version is recorded once. Beat's polls stay the fallback (a missed event, a
watcher that is down) and the reconciliation.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connections
from watchdog.events import (
    EVENT_TYPE_ATTRIB,
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from drive import services, sources
from drive.models import SourceConnection

logger = logging.getLogger(__name__)

# What may make a file new or change it. A copy that keeps the original's
# times ends with a metadata change (ATTRIB), a download with a rename.
_CHANGES = {
    EVENT_TYPE_CREATED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_MOVED,
    EVENT_TYPE_ATTRIB,
}


class _Events(FileSystemEventHandler):
    def __init__(self, watcher: InboxWatcher):
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory and event.event_type == EVENT_TYPE_DELETED:
            self.watcher.folder_gone(os.fsdecode(event.src_path))
        if event.is_directory or event.event_type not in _CHANGES:
            return
        path = event.dest_path if event.event_type == EVENT_TYPE_MOVED else event.src_path
        self.watcher.file_changed(os.fsdecode(path))


class InboxWatcher:
    """Watches the folder of every connected inbox connection (re-read every
    `refresh_seconds`, so new connections are picked up) and polls a
    connection once a file that changed in it has been still for
    INBOX_STABLE_SECONDS. Polls run one at a time, in `run`'s thread."""

    def __init__(self, *, refresh_seconds: float = 2.0, retry_seconds: float = 0.2):
        self.refresh_seconds = refresh_seconds
        self.retry_seconds = retry_seconds
        self.ready = threading.Event()  # set once the first folders are watched
        self.polls = 0  # polls this watcher ran, for logs and benches
        self._observer = Observer()
        self._wake = threading.Condition()
        self._stopping = False
        self._folders: dict[str, int] = {}  # folder -> connection id
        self._watches: dict[str, object] = {}  # folder -> watchdog watch
        self._sources: dict[int, sources.LocalInboxSource] = {}
        # (connection id, file name) -> when to look at it again (monotonic).
        self._files: dict[tuple[int, str], float] = {}
        self._poll_at: dict[int, float] = {}  # connection id -> when to poll it
        self._gone: set[str] = set()  # watched folders that were deleted

    # --- called from watchdog's thread ---------------------------------------

    def file_changed(self, path: str) -> None:
        folder, name = os.path.split(path)
        with self._wake:
            connection_id = self._folders.get(folder)
            if connection_id is None or not sources.LocalInboxSource.is_candidate_name(name):
                return
            # Debounce: each change pushes the look back to a full stable
            # period after it.
            self._files[(connection_id, name)] = time.monotonic() + settings.INBOX_STABLE_SECONDS
            self._wake.notify()

    def folder_gone(self, folder: str) -> None:
        with self._wake:
            if folder in self._folders:
                self._gone.add(folder)  # watched again (re-created) at the next refresh

    # --- the watcher's own thread --------------------------------------------

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()

    def run(self, *, on_ready: Callable[[], None] | None = None) -> None:
        """Watch and poll until `stop()`; `on_ready` is called once the
        folders are first watched. Closes its database connections on the way out."""
        self._observer.start()
        next_refresh = 0.0
        try:
            while True:
                now = time.monotonic()
                if now >= next_refresh:
                    self._refresh()
                    if not self.ready.is_set():
                        self.ready.set()
                        if on_ready is not None:
                            on_ready()
                    next_refresh = now + self.refresh_seconds
                for connection_id in self._due_polls():
                    self._poll(connection_id)
                with self._wake:
                    if self._stopping:
                        return
                    upcoming = [next_refresh, *self._files.values(), *self._poll_at.values()]
                    self._wake.wait(max(0.0, min(upcoming) - time.monotonic()))
                    if self._stopping:
                        return
        finally:
            self._observer.stop()
            self._observer.join()
            connections.close_all()

    def _refresh(self) -> None:
        """Follow the connections: watch new folders, drop stopped ones."""
        close_old_connections()
        try:
            rows = list(
                SourceConnection.objects.filter(
                    kind=SourceConnection.Kind.INBOX, state=SourceConnection.State.CONNECTED
                )
                .exclude(folder_id="")
                .values_list("id", "inbox_path")
            )
        except Exception:
            logger.exception("inbox watcher: cannot read the inbox connections")
            return
        wanted = {str(Path(path)): connection_id for connection_id, path in rows if path}
        with self._wake:
            gone, self._gone = self._gone, set()
        for folder in (set(self._watches) - set(wanted)) | (gone & set(self._watches)):
            with contextlib.suppress(KeyError, OSError):  # its watch went with the folder
                self._observer.unschedule(self._watches.pop(folder))
            logger.info("inbox watcher: stopped watching %s", folder)
        with self._wake:
            self._folders = {f: c for f, c in wanted.items() if f in self._watches}
        for folder, connection_id in wanted.items():
            if folder in self._watches:
                continue
            try:
                Path(folder).mkdir(parents=True, exist_ok=True)
                self._watches[folder] = self._observer.schedule(_Events(self), folder)
            except OSError as exc:
                # Beat's polls still cover this folder, only more slowly.
                logger.warning("inbox watcher: cannot watch %s: %s", folder, exc)
                continue
            with self._wake:
                self._folders[folder] = connection_id
                # Files that arrived while nobody was watching.
                self._poll_at[connection_id] = time.monotonic()
            logger.info("inbox watcher: watching %s (connection %s)", folder, connection_id)
        self._sources = {
            c: sources.LocalInboxSource(Path(f), stable_seconds=settings.INBOX_STABLE_SECONDS)
            for f, c in wanted.items()
        }

    def _due_polls(self) -> list[int]:
        """Connections to poll now: a file in them has settled (or they were
        asked for). A file not settled yet, by the same rule the poll
        applies, is looked at again when it should be."""
        now = time.monotonic()
        with self._wake:
            due = [key for key, at in self._files.items() if at <= now]
            for key in due:
                del self._files[key]
        for connection_id, name in due:
            source = self._sources.get(connection_id)
            wait = source.settles_in(name) if source is not None else None
            with self._wake:
                if wait is None:
                    continue  # gone, or not a file: nothing to take
                if wait > 0:
                    self._files.setdefault((connection_id, name), now + wait)
                else:
                    self._poll_at.setdefault(connection_id, now)
        with self._wake:
            ready = [c for c, at in self._poll_at.items() if at <= now]
            for connection_id in ready:
                del self._poll_at[connection_id]
        return ready

    def _poll(self, connection_id: int) -> None:
        close_old_connections()
        try:
            claim = services.connection_claim(connection_id=connection_id)
            if claim is None:
                # Another poll (beat's) is running: it may not have seen the
                # file yet, so poll again once it is done (unless the
                # connection stopped being watched meanwhile).
                with self._wake:
                    if connection_id in self._folders.values():
                        self._poll_at[connection_id] = time.monotonic() + self.retry_seconds
                return
            services.connection_poll(connection_id=connection_id, claim=claim)
            self.polls += 1
        except Exception:
            logger.exception("inbox watcher: poll of connection %s failed", connection_id)
