"""A Google Drive v3 stand-in: a real HTTP server on loopback.

Serves the endpoints Creator uses, with Drive's JSON shapes and error bodies,
so google-api-python-client and google-auth run unmodified against it
(through the API-root and token-endpoint overrides):

* files: get (metadata and `alt=media` with Range), list (`q` with
  `in parents`, `trashed`, `mimeType`, `name`, `appProperties has`; paging),
  create (metadata only, multipart upload, resumable upload sessions);
* changes: getStartPageToken, list (paging, newStartPageToken);
* OAuth: the token endpoint (refresh_token grant) and revoke.

Files belong to an account; a token sees only its account's files (others
answer 404, as Drive does for files you cannot see). Knobs: `fail_next()`
(500, 403 userRateLimitExceeded, 429 with Retry-After), `revoke_grants()`
(refresh answers invalid_grant), `expire_access_tokens()` (API answers 401).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

FOLDER = "application/vnd.google-apps.folder"
DEFAULT_ACCOUNT = "alice@example.com"


def _now() -> str:
    return (
        datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(time.time() * 1000) % 1000:03d}Z"
    )


def _new_id() -> str:
    return "1" + secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")


def _error(code: int, message: str, reason: str, domain: str = "global", **extra) -> dict:
    status = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
    }.get(code, "UNKNOWN")
    err = {"message": message, "domain": domain, "reason": reason, **extra}
    return {"error": {"code": code, "message": message, "errors": [err], "status": status}}


RATE_LIMIT_403 = _error(403, "User rate limit exceeded.", "userRateLimitExceeded", "usageLimits")
RATE_LIMIT_429 = _error(429, "Rate Limit Exceeded", "rateLimitExceeded", "usageLimits")
SERVER_ERROR = _error(500, "Internal Error", "internalError")
SCOPE_ERROR = _error(
    403, "Request had insufficient authentication scopes.", "insufficientPermissions"
)
SCOPE_ERROR["error"]["details"] = [
    {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
        "domain": "googleapis.com",
        "metadata": {
            "service": "drive.googleapis.com",
            "method": "google.apps.drive.v3.DriveFiles.List",
        },
    }
]
AUTH_ERROR = _error(
    401,
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential.",
    "authError",
    location="Authorization",
    locationType="header",
)


@dataclass
class StoredFile:
    id: str
    name: str
    mime_type: str
    parents: list[str]
    owner: str
    content: bytes = b""
    declared_size: int | None = None  # a huge file we only pretend to hold
    trashed: bool = False
    app_properties: dict = field(default_factory=dict)
    version: int = 1
    created: str = field(default_factory=_now)
    modified: str = field(default_factory=_now)
    seq: int = 0  # creation order, for orderBy=createdTime

    @property
    def is_folder(self) -> bool:
        return self.mime_type == FOLDER

    @property
    def size(self) -> int:
        return self.declared_size if self.declared_size is not None else len(self.content)

    def resource(self) -> dict:
        data = {
            "kind": "drive#file",
            "id": self.id,
            "name": self.name,
            "mimeType": self.mime_type,
            "parents": list(self.parents),
            "trashed": self.trashed,
            "version": str(self.version),
            "createdTime": self.created,
            "modifiedTime": self.modified,
            "webViewLink": (
                f"https://drive.google.com/drive/folders/{self.id}"
                if self.is_folder
                else f"https://drive.google.com/file/d/{self.id}/view?usp=drivesdk"
            ),
        }
        if self.app_properties:
            data["appProperties"] = dict(self.app_properties)
        if not self.is_folder:
            data["size"] = str(self.size)
            data["md5Checksum"] = hashlib.md5(  # noqa: S324 (Drive's own checksum)
                self.content if self.declared_size is None else str(self.declared_size).encode()
            ).hexdigest()
            data["headRevisionId"] = f"{self.id[:6]}rev{self.version}"
        return data


@dataclass
class Change:
    file_id: str
    owner: str
    removed: bool
    time: str


class DriveStandIn:
    """`DriveStandIn().start()` serves on a free loopback port; `.url` is the
    API root, `.stop()` shuts it down. Test-side methods change the Drive
    (as a user would in the browser) and turn the knobs."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self.client_id = "creator-test.apps.googleusercontent.com"
        self.client_secret = "stand-in-secret"
        self.lock = threading.RLock()
        self.files: dict[str, StoredFile] = {}
        self.changes: list[Change] = []
        self.roots: dict[str, str] = {}
        self.access_tokens: dict[str, tuple[str, float]] = {}  # token -> (account, expires)
        self.refresh_tokens: dict[str, str] = {}  # token -> account
        self.uploads: dict[str, dict] = {}
        self.failures: list[tuple[int, dict, float | None]] = []
        self.fail_paths: str = ""
        self.requests: list[tuple[str, str]] = []
        self.refreshes = 0
        self.no_drive_scope: set[str] = set()  # tokens granted without the Drive scope
        self.revoked: list[str] = []
        self._seq = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> DriveStandIn:
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # ------------------------------------------------------------ test helpers

    def root_id(self, account: str = DEFAULT_ACCOUNT) -> str:
        with self.lock:
            if account not in self.roots:
                root = StoredFile(
                    id=_new_id(), name="My Drive", mime_type=FOLDER, parents=[], owner=account
                )
                self.files[root.id] = root
                self.roots[account] = root.id
            return self.roots[account]

    def grant(
        self, account: str = DEFAULT_ACCOUNT, expires_in: int = 3599, drive_scope: bool = True
    ) -> dict:
        """Tokens as Google returns them after consent (what allauth receives).
        `drive_scope=False` is a user who unticked the Drive box."""
        with self.lock:
            self.root_id(account)
            refresh = "1//" + secrets.token_urlsafe(40)
            self.refresh_tokens[refresh] = account
            if not drive_scope:
                self.no_drive_scope.add(refresh)
            access = self._issue(account, expires_in, drive_scope)
            return {"access_token": access, "refresh_token": refresh, "expires_in": expires_in}

    def _issue(self, account: str, expires_in: int, drive_scope: bool = True) -> str:
        token = "ya29." + secrets.token_urlsafe(60)
        self.access_tokens[token] = (account, time.time() + expires_in)
        if not drive_scope:
            self.no_drive_scope.add(token)
        return token

    def add_folder(
        self, name: str, parent: str | None = None, account: str = DEFAULT_ACCOUNT
    ) -> str:
        return self._add(name, FOLDER, parent, account, b"", None, None)

    def add_file(
        self,
        name: str,
        content: bytes = b"",
        parent: str | None = None,
        *,
        account: str = DEFAULT_ACCOUNT,
        mime_type: str | None = None,
        declared_size: int | None = None,
        app_properties: dict | None = None,
    ) -> str:
        # Drive guesses the type from the name, as it does for browser uploads.
        mime = mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        return self._add(name, mime, parent, account, content, declared_size, app_properties)

    def _add(self, name, mime, parent, account, content, declared_size, app_properties) -> str:
        with self.lock:
            self._seq += 1
            stored = StoredFile(
                id=_new_id(),
                name=name,
                mime_type=mime,
                parents=[parent or self.root_id(account)],
                owner=account,
                content=content,
                declared_size=declared_size,
                app_properties=dict(app_properties or {}),
                seq=self._seq,
            )
            self.files[stored.id] = stored
            self._changed(stored)
            return stored.id

    def _changed(self, stored: StoredFile, removed: bool = False) -> None:
        self.changes.append(Change(stored.id, stored.owner, removed, _now()))

    def update_file(self, file_id: str, content: bytes) -> None:
        with self.lock:
            stored = self.files[file_id]
            stored.content = content
            stored.version += 1
            stored.modified = _now()
            self._changed(stored)

    def delete_file(self, file_id: str) -> None:
        with self.lock:
            stored = self.files.pop(file_id)
            self._changed(stored, removed=True)

    def trash_file(self, file_id: str) -> None:
        with self.lock:
            stored = self.files[file_id]
            stored.trashed = True
            stored.version += 1
            self._changed(stored)

    def children(self, folder_id: str) -> list[dict]:
        with self.lock:
            return [
                f.resource()
                for f in sorted(self.files.values(), key=lambda f: f.seq)
                if folder_id in f.parents and not f.trashed
            ]

    def content(self, file_id: str) -> bytes:
        return self.files[file_id].content

    # ------------------------------------------------------------------ knobs

    def fail_next(
        self, count: int = 1, status: int = 500, retry_after: float | None = None, paths: str = ""
    ) -> None:
        """The next `count` API calls (whose path contains `paths`) fail:
        500, 403 (userRateLimitExceeded) or 429 (with Retry-After)."""
        body = {500: SERVER_ERROR, 403: RATE_LIMIT_403, 429: RATE_LIMIT_429}[status]
        with self.lock:
            self.failures += [(status, body, retry_after)] * count
            self.fail_paths = paths

    def revoke_grants(self, account: str | None = None) -> None:
        """The user removed Creator's access in their Google account."""
        with self.lock:
            for token, owner in list(self.refresh_tokens.items()):
                if account is None or owner == account:
                    del self.refresh_tokens[token]
            self.expire_access_tokens()

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access_tokens.clear()

    def api_calls(self, prefix: str = "/drive/v3/") -> int:
        with self.lock:
            return sum(1 for _, path in self.requests if path.startswith(prefix))

    # ---------------------------------------------------------------- queries

    _TERM = re.compile(
        r"""\s*(?:
        '(?P<parent>(?:[^'\\]|\\.)*)'\s+in\s+parents
        | trashed\s*=\s*(?P<trashed>true|false)
        | mimeType\s*(?P<mop>!=|=)\s*'(?P<mime>(?:[^'\\]|\\.)*)'
        | name\s*=\s*'(?P<name>(?:[^'\\]|\\.)*)'
        | appProperties\s+has\s+\{\s*key\s*=\s*'(?P<pk>(?:[^'\\]|\\.)*)'\s+and\s+
          value\s*=\s*'(?P<pv>(?:[^'\\]|\\.)*)'\s*\}
        )\s*(?:and\b|$)""",
        re.X,
    )

    def _matcher(self, q: str, account: str):
        tests = []
        pos, q = 0, q.strip()

        def unescape(value):
            return re.sub(r"\\(.)", r"\1", value)

        while pos < len(q):
            match = self._TERM.match(q, pos)
            if not match or match.end() == pos:
                return None
            g = match.groupdict()
            if g["parent"] is not None:
                parent = unescape(g["parent"])
                parent = self.roots.get(account, parent) if parent == "root" else parent
                tests.append(lambda f, p=parent: p in f.parents)
            elif g["trashed"] is not None:
                tests.append(lambda f, t=g["trashed"] == "true": f.trashed == t)
            elif g["mime"] is not None:
                mime, neg = unescape(g["mime"]), g["mop"] == "!="
                tests.append(lambda f, m=mime, n=neg: (f.mime_type == m) != n)
            elif g["name"] is not None:
                name = unescape(g["name"])
                tests.append(lambda f, n=name: f.name == n)
            else:
                key, value = unescape(g["pk"]), unescape(g["pv"])
                tests.append(lambda f, k=key, v=value: f.app_properties.get(k) == v)
            pos = match.end()
        return lambda f: all(t(f) for t in tests)


class _Handler(BaseHTTPRequestHandler):
    standin: DriveStandIn
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately: without TCP_NODELAY each
    # keep-alive answer waits for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # noqa: A002 (quiet in tests)
        pass

    # -------------------------------------------------------------- plumbing

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: dict | bytes | None = None, headers: dict | None = None):
        if isinstance(body, dict):
            payload = json.dumps(body).encode()
            ctype = "application/json; charset=UTF-8"
        else:
            payload = body or b""
            ctype = (headers or {}).pop("Content-Type", "application/octet-stream")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _account(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        entry = self.standin.access_tokens.get(token)
        if entry is None or entry[1] < time.time():
            return None
        return entry[0]

    def _dispatch(self, method: str) -> None:
        parsed = urlparse(self.path)
        path, query = parsed.path, {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        body = self._body()
        s = self.standin
        with s.lock:
            s.requests.append((method, path))
        if path == "/token" and method == "POST":
            return self._token(body)
        if path == "/revoke" and method == "POST":
            return self._revoke(query, body)
        with s.lock:
            if s.failures and s.fail_paths in path:
                status, error, retry_after = s.failures.pop(0)
                headers = {"Retry-After": str(int(retry_after))} if retry_after else {}
                return self._send(status, error, headers)
        account = self._account()
        if account is None:
            return self._send(
                401, AUTH_ERROR, {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
            )
        if self.headers.get("Authorization", "")[7:] in s.no_drive_scope:
            return self._send(403, SCOPE_ERROR)
        routes = [
            ("GET", r"/drive/v3/changes/startPageToken", self._start_token),
            ("GET", r"/drive/v3/changes", self._changes),
            ("GET", r"/drive/v3/files", self._list),
            ("POST", r"/drive/v3/files", self._create),
            ("GET", r"/drive/v3/files/(?P<file_id>[^/]+)", self._get),
            ("POST", r"/upload/drive/v3/files", self._upload),
            ("PUT", r"/upload/drive/v3/files", self._upload_chunk),
        ]
        for route_method, pattern, view in routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                with s.lock:
                    return view(account, query, body, **match.groupdict())
        return self._send(404, _error(404, "Not Found", "notFound"))

    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self):  # noqa: N802
        self._dispatch("PUT")

    # ---------------------------------------------------------------- OAuth

    def _token(self, body: bytes):
        s = self.standin
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        if form.get("client_id") != s.client_id or form.get("client_secret") != s.client_secret:
            return self._send(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        if form.get("grant_type") != "refresh_token":
            return self._send(
                400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
            )
        with s.lock:
            account = s.refresh_tokens.get(form.get("refresh_token", ""))
            if account is None:
                return self._send(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "Token has been expired or revoked.",
                    },
                )
            s.refreshes += 1
            access = s._issue(account, 3599, form.get("refresh_token") not in s.no_drive_scope)
        return self._send(
            200,
            {
                "access_token": access,
                "expires_in": 3599,
                "scope": "https://www.googleapis.com/auth/drive",
                "token_type": "Bearer",
            },
        )

    def _revoke(self, query: dict, body: bytes):
        s = self.standin
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        token = form.get("token") or query.get("token", "")
        with s.lock:
            account = s.refresh_tokens.pop(token, None)
            if account is None and token in s.access_tokens:
                account = s.access_tokens.pop(token)[0]
            if account is None:
                return self._send(
                    400, {"error": "invalid_token", "error_description": "Bad Request"}
                )
            s.revoked.append(account)
            s.revoke_grants(account)
        return self._send(200, {})

    # ---------------------------------------------------------------- files

    def _visible(self, account: str, file_id: str) -> StoredFile | None:
        if file_id == "root":
            file_id = self.standin.root_id(account)
        stored = self.standin.files.get(file_id)
        return stored if stored is not None and stored.owner == account else None

    def _not_found(self, file_id: str):
        message = f"File not found: {file_id}."
        return self._send(
            404, _error(404, message, "notFound", location="fileId", locationType="parameter")
        )

    def _get(self, account, query, body, file_id):
        stored = self._visible(account, file_id)
        if stored is None:
            return self._not_found(file_id)
        if query.get("alt") != "media":
            return self._send(200, stored.resource())
        if stored.is_folder:
            return self._send(
                403,
                _error(
                    403, "Only files with binary content can be downloaded.", "fileNotDownloadable"
                ),
            )
        total = stored.size
        start, end = 0, total - 1
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if match and total:
            start = int(match.group(1))
            end = min(int(match.group(2)) if match.group(2) else total - 1, total - 1)
            data = self._bytes(stored, start, end)
            return self._send(
                206,
                data,
                {"Content-Type": stored.mime_type, "Content-Range": f"bytes {start}-{end}/{total}"},
            )
        return self._send(
            200, self._bytes(stored, 0, total - 1), {"Content-Type": stored.mime_type}
        )

    @staticmethod
    def _bytes(stored: StoredFile, start: int, end: int) -> bytes:
        if stored.declared_size is not None:
            return b"\0" * max(0, end - start + 1)
        return stored.content[start : end + 1]

    def _list(self, account, query, body):
        s = self.standin
        matcher = s._matcher(query.get("q", ""), account)
        if matcher is None:
            return self._send(
                400, _error(400, "Invalid Value", "invalid", location="q", locationType="parameter")
            )
        found = [
            f
            for f in s.files.values()
            if f.owner == account and f.id not in s.roots.values() and matcher(f)
        ]
        order = query.get("orderBy", "")
        found.sort(
            key=(lambda f: f.name.lower()) if order.startswith("name") else (lambda f: f.seq)
        )
        size = min(int(query.get("pageSize", 100)), 1000)
        offset = int(query.get("pageToken") or 0)
        page = found[offset : offset + size]
        result = {
            "kind": "drive#fileList",
            "incompleteSearch": False,
            "files": [f.resource() for f in page],
        }
        if offset + size < len(found):
            result["nextPageToken"] = str(offset + size)
        return self._send(200, result)

    def _new_file(
        self, account: str, metadata: dict, content: bytes, mime: str | None
    ) -> StoredFile:
        s = self.standin
        s._seq += 1
        parents = metadata.get("parents") or [s.root_id(account)]
        stored = StoredFile(
            id=_new_id(),
            name=metadata.get("name") or "Untitled",
            mime_type=metadata.get("mimeType") or mime or "application/octet-stream",
            parents=[s.root_id(account) if p == "root" else p for p in parents],
            owner=account,
            content=content,
            app_properties=dict(metadata.get("appProperties") or {}),
            seq=s._seq,
        )
        s.files[stored.id] = stored
        s._changed(stored)
        return stored

    def _parents_ok(self, account: str, metadata: dict) -> str | None:
        for parent in metadata.get("parents") or []:
            if self._visible(account, parent) is None:
                return parent
        return None

    def _create(self, account, query, body):
        metadata = json.loads(body or b"{}")
        missing = self._parents_ok(account, metadata)
        if missing:
            return self._not_found(missing)
        return self._send(200, self._new_file(account, metadata, b"", None).resource())

    def _upload(self, account, query, body):
        upload_type = query.get("uploadType")
        if upload_type == "resumable":
            metadata = json.loads(body or b"{}")
            missing = self._parents_ok(account, metadata)
            if missing:
                return self._not_found(missing)
            upload_id = secrets.token_urlsafe(16)
            self.standin.uploads[upload_id] = {
                "account": account,
                "metadata": metadata,
                "mime": self.headers.get("X-Upload-Content-Type"),
                "data": bytearray(),
            }
            location = f"{self.standin.url}/upload/drive/v3/files?" + urlencode(
                {"uploadType": "resumable", "upload_id": upload_id}
            )
            return self._send(200, b"", {"Location": location, "X-GUploader-UploadID": upload_id})
        if upload_type == "multipart":
            match = re.search(r'boundary="?([^";]+)"?', self.headers.get("Content-Type", ""))
            if not match:
                return self._send(400, _error(400, "Bad multipart body", "badContent"))
            parts = []
            delimiter = re.escape(b"--" + match.group(1).encode())
            # Parts are separated by CRLF or LF plus the delimiter (the client sends LF).
            for chunk in re.split(rb"\r?\n" + delimiter, b"\n" + body)[1:]:
                if chunk.startswith(b"--"):
                    break
                chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk[1:]
                head, _, payload = (re.split(rb"(\r?\n\r?\n)", chunk, maxsplit=1) + [b"", b""])[:3]
                ctype = re.search(rb"(?im)^content-type:\s*([^\r\n;]+)", head)
                parts.append((ctype.group(1).decode() if ctype else "", payload))
            if len(parts) != 2:
                return self._send(400, _error(400, "Bad multipart body", "badContent"))
            metadata = json.loads(parts[0][1] or b"{}")
            missing = self._parents_ok(account, metadata)
            if missing:
                return self._not_found(missing)
            return self._send(
                200, self._new_file(account, metadata, parts[1][1], parts[1][0]).resource()
            )
        return self._send(400, _error(400, "Invalid upload type", "invalid"))

    def _upload_chunk(self, account, query, body):
        session = self.standin.uploads.get(query.get("upload_id", ""))
        if session is None or session["account"] != account:
            return self._send(404, _error(404, "No such upload session", "notFound"))
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", self.headers.get("Content-Range", ""))
        if match:
            start = int(match.group(1))
            if start != len(session["data"]):
                return self._send(400, _error(400, "Unexpected chunk offset", "badContent"))
            session["data"] += body
            total = match.group(3)
        else:
            session["data"] += body
            total = str(len(session["data"]))
        if total != "*" and len(session["data"]) >= int(total):
            del self.standin.uploads[query["upload_id"]]
            stored = self._new_file(
                account, session["metadata"], bytes(session["data"]), session["mime"]
            )
            return self._send(200, stored.resource())
        return self._send(308, b"", {"Range": f"bytes=0-{len(session['data']) - 1}"})

    # -------------------------------------------------------------- changes

    def _start_token(self, account, query, body):
        return self._send(
            200,
            {"kind": "drive#startPageToken", "startPageToken": str(len(self.standin.changes) + 1)},
        )

    def _changes(self, account, query, body):
        s = self.standin
        token = query.get("pageToken", "")
        if not token.isdigit() or int(token) < 1 or int(token) > len(s.changes) + 1:
            return self._send(
                400,
                _error(
                    400, "Invalid Value", "invalid", location="pageToken", locationType="parameter"
                ),
            )
        size = min(int(query.get("pageSize", 100)), 1000)
        start = int(token) - 1
        window = s.changes[start : start + size]
        result = {"kind": "drive#changeList", "changes": []}
        latest: dict[str, dict] = {}
        for change in window:
            if change.owner != account:
                continue
            stored = s.files.get(change.file_id)
            entry = {
                "kind": "drive#change",
                "changeType": "file",
                "time": change.time,
                "removed": stored is None,
                "fileId": change.file_id,
            }
            if stored is not None:
                entry["file"] = stored.resource()
            latest.pop(change.file_id, None)  # Drive reports each file once, at its latest state
            latest[change.file_id] = entry
        result["changes"] = list(latest.values())
        if start + size < len(s.changes):
            result["nextPageToken"] = str(start + size + 1)
        else:
            result["newStartPageToken"] = str(len(s.changes) + 1)
        return self._send(200, result)
