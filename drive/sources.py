"""Where images come from and results go back to: the source interface.

Two real implementations: `GoogleDriveSource` (a user's Drive, through
`drive.drive_client`) and `LocalInboxSource` (a folder on this machine, the
embedded default). The services in `drive.services` talk only to `Source`;
neither implementation knows about models.

Failures are raised as the `Source*` exceptions below, so callers handle a
revoked Drive grant and a vanished inbox file the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import IO

from drive import drive_client as dc

# Put on everything Creator writes to a source, so a poll never takes our own output.
MARKER_KEY = "creator"
MARKER_OUTPUT = "output"
MARKER_FOLDER = "output-folder"
TAKEN = "taken:"
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".gif"}


class SourceError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SourceRevoked(SourceError):
    """The user's grant is gone: stop polling until they reconnect."""


class SourceRateLimited(SourceError):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class SourceUnavailable(SourceError):
    """Temporary: try again later."""


class SourceNotFound(SourceError):
    """The file or folder does not exist (or is not visible to this user)."""


class SourceForbidden(SourceError):
    pass


@dataclass(frozen=True)
class Folder:
    id: str
    name: str
    link: str = ""


@dataclass(frozen=True)
class RemoteFile:
    id: str
    name: str
    version_key: str  # changes when the content changes
    size: int | None
    mime_type: str = ""
    parent_id: str = ""
    link: str = ""
    ours: bool = False  # written by Creator (an output or output folder)
    modified_at: float | None = None  # seconds since the epoch, when known


@dataclass
class Detection:
    """What a poll found: files in the order they appeared, and the cursor
    to store once they are recorded. `more` means the batch limit stopped
    the poll early and the rest waits for the next one."""

    files: list[RemoteFile]
    cursor: str
    calls: int = 0
    more: bool = False
    reset: bool = False  # the cursor was invalid and restarted: reconcile the gap
    observed: dict = field(default_factory=dict)


class Source(ABC):
    kind: str

    @abstractmethod
    def folders(self, parent_id: str | None = None) -> list[Folder]:
        """Sub-folders of `parent_id` (the top level when None), for the picker."""

    @abstractmethod
    def folder(self, folder_id: str) -> Folder:
        """The folder, or SourceNotFound."""

    @abstractmethod
    def detect(self, *, folder_id: str, cursor: str, limit: int) -> Detection:
        """Files that appeared or changed in the folder since `cursor`
        (at most about `limit`). An empty cursor starts watching from now."""

    @abstractmethod
    def list_folder(self, *, folder_id: str) -> Iterator[RemoteFile]:
        """Every file now in the folder (the reconciliation pass)."""

    @abstractmethod
    def download(self, file: RemoteFile, dest: IO[bytes], *, max_bytes: int) -> int:
        """Stream the content into `dest`. SourceNotFound if it is gone,
        ValueError if it is larger than `max_bytes`."""

    @abstractmethod
    def output_folder_ensure(self, *, parent_id: str, name: str) -> Folder:
        """The output folder inside `parent_id`, created if missing (idempotent)."""

    @abstractmethod
    def upload(
        self, *, folder_id: str, name: str, stream: IO[bytes], size: int, mime_type: str, tag: str
    ) -> RemoteFile:
        """Write a result into the folder as `name`, or `name (2)` … if the
        name is taken. `tag` identifies the result: uploading the same tag
        again returns the earlier file instead of writing a second one."""

    @abstractmethod
    def link(self, file_id: str) -> str:
        """A URL (or path) a person can open."""


def is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_EXTENSIONS


def safe_name(name: str, *, limit: int = 200) -> str:
    """A file name without path separators or control characters."""
    cleaned = "".join(
        "_" if ch in "/\\" or unicodedata.category(ch).startswith("C") else ch
        for ch in unicodedata.normalize("NFC", name)
    ).strip(" .")
    if len(cleaned.encode()) > limit:
        stem, ext = os.path.splitext(cleaned)
        while len((stem + ext).encode()) > limit and stem:
            stem = stem[:-1]
        cleaned = stem + ext
    return cleaned or "image"


def numbered(name: str, n: int) -> str:
    stem, ext = os.path.splitext(name)
    return f"{stem} ({n}){ext}" if n > 1 else name


# --- Google Drive ---------------------------------------------------------------


def _translate(exc: dc.DriveError) -> SourceError:
    if isinstance(exc, dc.DriveGrantRevoked):
        return SourceRevoked(exc.message)
    if isinstance(exc, dc.DriveRateLimited):
        return SourceRateLimited(exc.message, retry_after=exc.retry_after)
    if isinstance(exc, dc.DriveNotFound):
        return SourceNotFound(exc.message)
    if isinstance(exc, dc.DriveForbidden):
        return SourceForbidden(exc.message)
    return SourceUnavailable(exc.message)


class GoogleDriveSource(Source):
    kind = "drive"

    def __init__(self, client: dc.DriveClient):
        self.client = client

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except dc.DriveError as exc:
            raise _translate(exc) from exc

    @staticmethod
    def _remote(data: dict) -> RemoteFile:
        props = data.get("appProperties") or {}
        version = data.get("md5Checksum") or data.get("headRevisionId") or data.get("version", "")
        modified = data.get("modifiedTime")
        return RemoteFile(
            id=data["id"],
            name=data.get("name", ""),
            version_key=str(version),
            size=int(data["size"]) if data.get("size") is not None else None,
            mime_type=data.get("mimeType", ""),
            parent_id=(data.get("parents") or [""])[0],
            link=data.get("webViewLink", ""),
            ours=props.get(MARKER_KEY) in (MARKER_OUTPUT, MARKER_FOLDER),
            modified_at=_rfc3339(modified) if modified else None,
        )

    def link(self, file_id: str) -> str:
        return f"https://drive.google.com/open?id={file_id}"

    def folders(self, parent_id: str | None = None) -> list[Folder]:
        result, token = [], None
        while True:
            page = self._call(
                self.client.children, parent_id or "root", folders_only=True, page_token=token
            )
            result += [
                Folder(id=f["id"], name=f["name"], link=f.get("webViewLink", ""))
                for f in page.get("files", [])
                if (f.get("appProperties") or {}).get(MARKER_KEY) != MARKER_FOLDER
            ]
            token = page.get("nextPageToken")
            if not token or len(result) >= 1000:
                return result

    def folder(self, folder_id: str) -> Folder:
        data = self._call(self.client.get, folder_id)
        if data.get("mimeType") != dc.FOLDER_MIME or data.get("trashed"):
            raise SourceNotFound("That is not a folder in your Google Drive.")
        return Folder(id=data["id"], name=data["name"], link=data.get("webViewLink", ""))

    def detect(self, *, folder_id: str, cursor: str, limit: int) -> Detection:
        calls_before = self.client.calls
        if not cursor:
            # Watching starts now: changes before this token are not ours to take.
            token = self._call(self.client.start_page_token)
            return Detection(files=[], cursor=token, calls=self.client.calls - calls_before)
        files: list[RemoteFile] = []
        seen: set[tuple[str, str]] = set()
        token, more = cursor, False
        while True:
            try:
                page = self.client.changes(token, page_size=min(max(limit, 100), 1000))
            except dc.DriveForbidden as exc:
                if exc.status != 400 or token != cursor:
                    raise _translate(exc) from exc
                # The stored page token is no longer valid (Drive expires old
                # ones): start again from now; the caller reconciles the gap.
                token = self._call(self.client.start_page_token)
                return Detection(
                    files=[], cursor=token, calls=self.client.calls - calls_before, reset=True
                )
            except dc.DriveError as exc:
                raise _translate(exc) from exc
            for change in page.get("changes", []):
                data = change.get("file")
                if change.get("removed") or not data or data.get("trashed"):
                    continue
                if data.get("mimeType") == dc.FOLDER_MIME:
                    continue
                if folder_id not in (data.get("parents") or []):
                    continue
                remote = self._remote(data)
                if remote.ours or (remote.id, remote.version_key) in seen:
                    continue
                seen.add((remote.id, remote.version_key))
                files.append(remote)
            if page.get("nextPageToken"):
                token = page["nextPageToken"]
                if len(files) >= limit:
                    more = True
                    break
                continue
            token = page.get("newStartPageToken") or token
            break
        return Detection(
            files=files, cursor=token, calls=self.client.calls - calls_before, more=more
        )

    def list_folder(self, *, folder_id: str) -> Iterator[RemoteFile]:
        token = None
        while True:
            page = self._call(self.client.children, folder_id, page_token=token)
            for data in page.get("files", []):
                if data.get("mimeType") != dc.FOLDER_MIME:
                    yield self._remote(data)
            token = page.get("nextPageToken")
            if not token:
                return

    def download(self, file: RemoteFile, dest: IO[bytes], *, max_bytes: int) -> int:
        return self._call(self.client.download, file.id, dest, max_bytes=max_bytes)

    def output_folder_ensure(self, *, parent_id: str, name: str) -> Folder:
        existing = self._call(self.client.find_child, parent_id, name, mime_type=dc.FOLDER_MIME)
        data = existing or self._call(
            self.client.create_folder,
            name=name,
            parent_id=parent_id,
            app_properties={MARKER_KEY: MARKER_FOLDER},
        )
        return Folder(id=data["id"], name=data["name"], link=data.get("webViewLink", ""))

    def upload(
        self, *, folder_id: str, name: str, stream: IO[bytes], size: int, mime_type: str, tag: str
    ) -> RemoteFile:
        earlier = self._call(self.client.find_tagged, folder_id, "creatorTag", tag)
        if earlier is not None:
            return self._remote(earlier)  # uploaded before a crash: do not write it twice
        n = 1
        while self._call(self.client.find_child, folder_id, numbered(name, n)) is not None:
            n += 1
        data = self._call(
            self.client.upload,
            stream,
            name=numbered(name, n),
            parent_id=folder_id,
            mime_type=mime_type,
            size=size,
            app_properties={MARKER_KEY: MARKER_OUTPUT, "creatorTag": tag},
        )
        return self._remote(data)


def _rfc3339(value: str) -> float | None:
    from datetime import datetime

    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# --- local inbox ------------------------------------------------------------------


class LocalInboxSource(Source):
    """A folder on this machine. File ids are names relative to the root; a
    file is taken once nothing has changed it for `stable_seconds`, so a
    half-copied file never is."""

    kind = "inbox"
    OUTPUT_DIR = "processed"

    def __init__(self, root: Path, *, stable_seconds: float = 0.5):
        self.root = Path(root)
        self.stable_seconds = stable_seconds

    def _path(self, file_id: str) -> Path:
        path = (self.root / file_id).resolve()
        if self.root.resolve() not in path.parents and path != self.root.resolve():
            raise SourceNotFound("That path is outside the inbox folder.")
        return path

    def link(self, file_id: str) -> str:
        return str(self._path(file_id))

    def folders(self, parent_id: str | None = None) -> list[Folder]:
        return [Folder(id=".", name=self.root.name or str(self.root), link=str(self.root))]

    def folder(self, folder_id: str) -> Folder:
        if folder_id not in ("", "."):
            raise SourceNotFound("The inbox has one folder: the inbox itself.")
        self.root.mkdir(parents=True, exist_ok=True)
        return Folder(id=".", name=self.root.name or str(self.root), link=str(self.root))

    @staticmethod
    def is_candidate_name(name: str) -> bool:
        # Hidden and partial files (.DS_Store, browser and rsync temps) are never images.
        return not (name.startswith((".", "~")) or name.endswith((".part", ".crdownload", ".tmp")))

    def _entries(self) -> list[tuple[str, os.stat_result]]:
        try:
            scan = list(os.scandir(self.root))
        except FileNotFoundError:
            return []
        entries = []
        for entry in scan:
            if not self.is_candidate_name(entry.name):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                entries.append((entry.name, entry.stat(follow_symlinks=False)))
            except FileNotFoundError:
                continue
        # Oldest first, so files are processed in the order they arrived.
        entries.sort(key=lambda item: (item[1].st_mtime_ns, item[0]))
        return entries

    def _unsettled_for(self, stat: os.stat_result, now: float) -> float:
        """Seconds until the file counts as complete (0: it does now).

        ctime as well as mtime: every write moves both, but a copy that
        keeps the original's mtime (cp -p, rsync -t, Finder) sets an old
        mtime, and only ctime says the file was just written."""
        changed = max(stat.st_mtime, stat.st_ctime)
        return max(0.0, changed + self.stable_seconds - now)

    def settles_in(self, file_id: str) -> float | None:
        """Seconds until a poll would take `file_id` (0: now), or None if it
        never will (gone, hidden, not a file). For the watcher's debounce."""
        if not self.is_candidate_name(Path(file_id).name):
            return None
        try:
            stat = os.stat(self._path(file_id), follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError, SourceNotFound):
            return None
        if not S_ISREG(stat.st_mode):
            return None
        return self._unsettled_for(stat, time.time())

    def _remote(self, name: str, stat: os.stat_result) -> RemoteFile:
        return RemoteFile(
            id=name,
            name=name,
            version_key=f"{stat.st_size}-{stat.st_mtime_ns}",
            size=stat.st_size,
            parent_id=".",
            link=str(self.root / name),
            modified_at=stat.st_mtime,
        )

    def detect(self, *, folder_id: str, cursor: str, limit: int) -> Detection:
        """Files that nothing has changed for `stable_seconds`, in one look:
        no second poll is needed to see a size hold still. The cursor
        remembers "taken:<version>" for each file handed over (and the
        version of each file still settling), so an unchanged original is
        returned only once."""
        try:
            previous = json.loads(cursor) if cursor else {}
        except ValueError:
            previous = {}
        now = time.time()
        observed, files, more = {}, [], False
        for name, stat in self._entries():
            remote = self._remote(name, stat)
            taken = TAKEN + remote.version_key
            if previous.get(name) == taken:
                observed[name] = taken  # handed over by an earlier poll
                continue
            observed[name] = remote.version_key
            if self._unsettled_for(stat, now) > 0:
                continue  # still being written, or just finished: a later poll takes it
            if len(files) >= limit:
                more = True
                continue
            files.append(remote)
            observed[name] = taken
        return Detection(files=files, cursor=json.dumps(observed), more=more, observed=observed)

    def list_folder(self, *, folder_id: str) -> Iterator[RemoteFile]:
        for name, stat in self._entries():
            yield self._remote(name, stat)

    def download(self, file: RemoteFile, dest: IO[bytes], *, max_bytes: int) -> int:
        try:
            with open(self._path(file.id), "rb") as handle:
                total = 0
                while chunk := handle.read(1024 * 1024):
                    total += len(chunk)
                    if total > max_bytes:
                        raise ValueError("too large")
                    dest.write(chunk)
                return total
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise SourceNotFound(f"“{file.name}” was removed from the inbox.") from exc

    def output_folder_ensure(self, *, parent_id: str, name: str) -> Folder:
        path = self.root / self.OUTPUT_DIR
        path.mkdir(parents=True, exist_ok=True)
        return Folder(id=self.OUTPUT_DIR, name=self.OUTPUT_DIR, link=str(path))

    def upload(
        self, *, folder_id: str, name: str, stream: IO[bytes], size: int, mime_type: str, tag: str
    ) -> RemoteFile:
        folder = self._path(folder_id)
        folder.mkdir(parents=True, exist_ok=True)
        # Written to a hidden temp file, then linked under the first free
        # name: os.link fails if the name exists, so nothing is clobbered even
        # if two deliveries race.
        temp = folder / f".{tag}.part"
        with open(temp, "wb") as handle:
            shutil.copyfileobj(stream, handle, 1024 * 1024)
        try:
            n = 1
            while True:
                target = folder / numbered(name, n)
                try:
                    os.link(temp, target)
                    break
                except FileExistsError:
                    n += 1
        finally:
            temp.unlink(missing_ok=True)
        relative = f"{folder_id}/{target.name}"
        return RemoteFile(
            id=relative,
            name=target.name,
            version_key="",
            size=size,
            mime_type=mime_type,
            parent_id=folder_id,
            link=str(target),
            ours=True,
        )
