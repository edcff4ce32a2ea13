"""A small Google Drive v3 client: plain Python, no Django.

Wraps google-api-python-client (with its bundled discovery document, so
building the service makes no network call) and google-auth. It promises:

* access tokens are refreshed silently (before expiry, and on a 401);
  `tokens_changed` tells the caller to persist the new one;
* every failure is one of the exceptions below, with a sentence a person
  can read: `DriveGrantRevoked` (refresh refused: the user must reconnect),
  `DriveRateLimited` (with the server's Retry-After when it sent one),
  `DriveUnavailable` (5xx or network, after a few quick retries),
  `DriveNotFound`, `DriveForbidden`;
* downloads and uploads are streamed in chunks (resumable uploads for
  anything larger than one chunk), never held whole in memory.
"""

from __future__ import annotations

import functools
import json
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from urllib.parse import urlencode, urlparse

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseDownload, MediaIoBaseUpload

GOOGLE_API_ROOT = "https://www.googleapis.com/"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"
FOLDER_MIME = "application/vnd.google-apps.folder"
FILE_FIELDS = (
    "id,name,mimeType,parents,trashed,size,md5Checksum,version,headRevisionId,"
    "modifiedTime,createdTime,appProperties,webViewLink"
)
RATE_LIMIT_REASONS = {"userRateLimitExceeded", "rateLimitExceeded", "sharingRateLimitExceeded"}
CHUNK_SIZE = 1024 * 1024  # a multiple of 256 KiB, as resumable uploads require


class DriveError(Exception):
    """A Drive call failed. str() is a sentence for people; `reason` is Google's code."""

    def __init__(self, message: str, *, status: int | None = None, reason: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason


class DriveGrantRevoked(DriveError):
    """The refresh token no longer works (revoked, expired or the password changed)."""


class DriveRateLimited(DriveError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class DriveUnavailable(DriveError):
    """5xx answers or a network failure, still failing after quick retries."""


class DriveNotFound(DriveError):
    pass


class DriveForbidden(DriveError):
    """No permission (or a missing scope): retrying will not help."""


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expiry: datetime | None  # naive UTC, as google-auth keeps it


def _loopback(url: str) -> bool:
    return (urlparse(url).hostname or "") in ("127.0.0.1", "::1", "localhost")


_local = threading.local()


@functools.cache
def _discovery_document() -> dict:
    # Parsed once per process: building a client per poll must stay cheap.
    return json.loads(get_static_doc("drive", "v3"))


def _shared_http(timeout: float, url: str) -> httplib2.Http:
    """One HTTP connection pool per thread and host, reused across clients
    (a poll then costs no new TCP/TLS handshake). httplib2 is not thread-safe,
    hence per thread."""
    cache = getattr(_local, "http", None)
    if cache is None:
        cache = _local.http = {}
    key = (urlparse(url).netloc, timeout)
    if key not in cache:
        cache[key] = _http(timeout, url)
    return cache[key]


def _resources(api_root: str) -> dict:
    """The `files` and `changes` resources for an API root, built once per
    thread: googleapiclient generates every method (and its docstring) when a
    resource is created, which costs more than the call itself. Requests are
    then sent with each client's own authorized http."""
    cache = getattr(_local, "resources", None)
    if cache is None:
        cache = _local.resources = {}
    if api_root not in cache:
        doc = dict(_discovery_document())
        # The endpoint override: api_endpoint moves the metadata calls, but
        # upload URLs are built from the document's rootUrl (and keep its
        # https scheme), so both are pointed at the configured root.
        doc["rootUrl"] = api_root
        service = build_from_document(
            doc,
            http=httplib2.Http(),  # placeholder: every request gets the client's http
            client_options={"api_endpoint": api_root + doc["servicePath"]},
        )
        cache[api_root] = {"files": service.files(), "changes": service.changes()}
    return cache[api_root]


def _http(timeout: float, url: str) -> httplib2.Http:
    # A proxy from the environment must not capture calls to a loopback stand-in.
    if _loopback(url):
        http = httplib2.Http(timeout=timeout, proxy_info=None)
    else:
        http = httplib2.Http(timeout=timeout)
    # Resumable uploads answer 308 "Resume Incomplete" without a Location:
    # it is not a redirect (googleapiclient's own build_http does the same).
    http.redirect_codes = http.redirect_codes - {308}
    return http


class DriveClient:
    def __init__(
        self,
        *,
        access_token: str,
        refresh_token: str,
        expiry: datetime | None,
        client_id: str,
        client_secret: str,
        api_root: str = GOOGLE_API_ROOT,
        token_uri: str = GOOGLE_TOKEN_URI,
        revoke_uri: str = GOOGLE_REVOKE_URI,
        timeout: float = 30,
        retries: int = 2,
        retry_delay: float = 0.5,
        chunk_size: int = CHUNK_SIZE,
    ):
        self.credentials = Credentials(
            token=access_token or None,
            refresh_token=refresh_token or None,
            token_uri=token_uri,
            client_id=client_id,
            client_secret=client_secret,
            expiry=expiry,
        )
        self._initial_token = access_token
        self.api_root = api_root if api_root.endswith("/") else api_root + "/"
        self.revoke_uri = revoke_uri
        self.timeout = timeout
        self.retries = retries
        self.retry_delay = retry_delay
        self.chunk_size = chunk_size
        self.calls = 0  # API requests made (the bench counts them)
        self._http = google_auth_httplib2.AuthorizedHttp(
            self.credentials, http=_shared_http(timeout, self.api_root)
        )
        resources = _resources(self.api_root)
        self._files, self._changes = resources["files"], resources["changes"]

    # ------------------------------------------------------------------ tokens

    @property
    def tokens(self) -> Tokens:
        return Tokens(
            access_token=self.credentials.token or "",
            refresh_token=self.credentials.refresh_token or "",
            expiry=self.credentials.expiry,
        )

    @property
    def tokens_changed(self) -> bool:
        """True once the access token was refreshed: the caller stores it."""
        return (self.credentials.token or "") != (self._initial_token or "")

    def tokens_stored(self) -> None:
        """The caller persisted the current tokens: `tokens_changed` is False again."""
        self._initial_token = self.credentials.token or ""

    def revoke(self) -> None:
        """Revoke the grant at Google (best effort: a token that is already
        invalid counts as revoked)."""
        token = self.credentials.refresh_token or self.credentials.token
        if not token:
            return
        http = _http(self.timeout, self.revoke_uri)
        try:
            http.request(
                self.revoke_uri,
                "POST",
                body=urlencode({"token": token}),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except (OSError, httplib2.HttpLib2Error) as exc:
            raise DriveUnavailable(f"Google could not be reached to revoke access: {exc}") from exc

    # ------------------------------------------------------------------ calls

    def _execute(self, request, *, retry: bool = True) -> Any:
        request.http = self._http
        attempt = 0
        while True:
            self.calls += 1
            try:
                return request.execute(num_retries=0)
            except Exception as exc:
                error = translate_error(exc)
                if isinstance(error, DriveUnavailable) and retry and attempt < self.retries:
                    # A blip: retry soon, with jitter so many workers do not align.
                    time.sleep(self.retry_delay * (2**attempt) * (0.5 + random.random()))  # noqa: S311
                    attempt += 1
                    continue
                raise error from exc

    def start_page_token(self) -> str:
        return self._execute(self._changes.getStartPageToken())["startPageToken"]

    def changes(self, page_token: str, *, page_size: int = 100) -> dict:
        """One page of the change feed: {"changes", "nextPageToken" | "newStartPageToken"}."""
        return self._execute(
            self._changes.list(
                pageToken=page_token,
                pageSize=page_size,
                spaces="drive",
                includeRemoved=True,
                fields=f"nextPageToken,newStartPageToken,changes(changeType,removed,fileId,file({FILE_FIELDS}))",
            )
        )

    def children(
        self,
        folder_id: str,
        *,
        folders_only: bool = False,
        page_token: str | None = None,
        page_size: int = 100,
    ) -> dict:
        """One page of a folder's non-trashed children, oldest first."""
        query = f"'{_quote(folder_id)}' in parents and trashed = false"
        if folders_only:
            query += f" and mimeType = '{FOLDER_MIME}'"
        return self._execute(
            self._files.list(
                q=query,
                pageSize=page_size,
                pageToken=page_token,
                orderBy="createdTime" if not folders_only else "name",
                spaces="drive",
                fields=f"nextPageToken,files({FILE_FIELDS})",
            )
        )

    def find_child(self, parent_id: str, name: str, *, mime_type: str | None = None) -> dict | None:
        query = f"'{_quote(parent_id)}' in parents and name = '{_quote(name)}' and trashed = false"
        if mime_type:
            query += f" and mimeType = '{mime_type}'"
        found = self._execute(
            self._files.list(q=query, pageSize=1, spaces="drive", fields=f"files({FILE_FIELDS})")
        )["files"]
        return found[0] if found else None

    def find_tagged(self, parent_id: str, key: str, value: str) -> dict | None:
        """A child carrying appProperties[key] == value (our upload tags)."""
        query = (
            f"'{_quote(parent_id)}' in parents and trashed = false and "
            f"appProperties has {{ key='{_quote(key)}' and value='{_quote(value)}' }}"
        )
        found = self._execute(
            self._files.list(q=query, pageSize=1, spaces="drive", fields=f"files({FILE_FIELDS})")
        )["files"]
        return found[0] if found else None

    def get(self, file_id: str) -> dict:
        return self._execute(self._files.get(fileId=file_id, fields=FILE_FIELDS))

    def create_folder(self, *, name: str, parent_id: str, app_properties: dict) -> dict:
        body = {
            "name": name,
            "mimeType": FOLDER_MIME,
            "parents": [parent_id],
            "appProperties": app_properties,
        }
        return self._execute(self._files.create(body=body, fields=FILE_FIELDS))

    def download(self, file_id: str, dest: IO[bytes], *, max_bytes: int | None = None) -> int:
        """Stream a file's content into `dest` chunk by chunk; return the size.
        Raises DriveError (DriveNotFound if it was deleted meanwhile) or
        ValueError if the content grows past `max_bytes`."""
        request = self._files.get_media(fileId=file_id)
        request.http = self._http
        downloader = MediaIoBaseDownload(dest, request, chunksize=self.chunk_size)
        done = False
        while not done:
            self.calls += 1
            try:
                _, done = downloader.next_chunk(num_retries=self.retries)
            except Exception as exc:
                raise translate_error(exc) from exc
            if max_bytes is not None and dest.tell() > max_bytes:
                raise ValueError("too large")
        return dest.tell()

    def upload(
        self,
        stream: IO[bytes],
        *,
        name: str,
        parent_id: str,
        mime_type: str,
        size: int,
        app_properties: dict,
        on_progress: Callable[[int], None] | None = None,
    ) -> dict:
        """Create a file from `stream`: one multipart request when it fits in
        a chunk, a resumable session otherwise."""
        body = {"name": name, "parents": [parent_id], "appProperties": app_properties}
        resumable = size > self.chunk_size
        media = MediaIoBaseUpload(
            stream, mimetype=mime_type, chunksize=self.chunk_size, resumable=resumable
        )
        request = self._files.create(body=body, media_body=media, fields=FILE_FIELDS)
        request.http = self._http
        if not resumable:
            return self._execute(request, retry=False)
        response = None
        while response is None:
            self.calls += 1
            try:
                status, response = request.next_chunk(num_retries=self.retries)
            except Exception as exc:
                raise translate_error(exc) from exc
            if status is not None and on_progress:
                on_progress(status.resumable_progress)
        return response


def _quote(value: str) -> str:
    # Drive query strings: backslash and single quote are escaped with a backslash.
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _retry_after(headers) -> float | None:
    value = (headers or {}).get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def translate_error(exc: Exception) -> DriveError:
    """Map an exception from the Google libraries to one of ours."""
    if isinstance(exc, DriveError):
        return exc
    if isinstance(exc, google.auth.exceptions.RefreshError):
        text = str(exc)
        if "invalid_grant" in text or "unauthorized_client" in text:
            return DriveGrantRevoked(
                "Google no longer accepts Creator's access to this Drive "
                "(it was revoked or expired). Reconnect Google Drive to resume.",
                reason="invalid_grant",
            )
        return DriveUnavailable(f"Google could not refresh the access token: {text}")
    if isinstance(exc, HttpError):
        status = exc.resp.status
        reason, message = "", ""
        try:
            error = json.loads(exc.content.decode("utf-8")).get("error", {})
            message = error.get("message", "")
            errors = error.get("errors") or []
            reason = errors[0].get("reason", "") if errors else error.get("status", "")
        except (ValueError, AttributeError):
            pass
        if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS):
            return DriveRateLimited(
                "Google Drive asked us to slow down.",
                retry_after=_retry_after(exc.resp),
                status=status,
                reason=reason or "rateLimitExceeded",
            )
        if status >= 500:
            return DriveUnavailable(
                f"Google Drive answered with an error ({status}). We will retry.",
                status=status,
                reason=reason,
            )
        if status == 404:
            return DriveNotFound(message or "The file no longer exists.", status=404, reason=reason)
        if status == 401:
            return DriveUnavailable(
                "Google Drive refused the access token even after a refresh.",
                status=401,
                reason=reason or "authError",
            )
        return DriveForbidden(
            message or f"Google Drive refused the request ({status}).", status=status, reason=reason
        )
    if isinstance(exc, OSError | httplib2.HttpLib2Error | socket.timeout):
        return DriveUnavailable(f"Google Drive could not be reached: {exc}")
    return DriveError(f"Unexpected answer from Google Drive: {exc}")
