"""A synchronous ComfyUI client for Celery workers (plain Python, no Django).

One `ComfyUIClient` talks to one ComfyUI server with one client id. The engine's
use is:

    with ComfyUIClient(server.url) as comfy:
        name = comfy.upload_image(data, "input.png", subfolder=f"creator/{job.pk}")
        result = comfy.run(graph, prompt_id=str(job.pk), on_progress=report)
        for output in result.outputs:
            comfy.download_to(output, fileobj)

`run` connects the websocket *before* queueing (ComfyUI buffers nothing, so a
socket opened later can miss the whole run), queues with our client id and
prompt id, and follows the socket until the prompt's terminal message. A lost
socket is reopened with the same client id and `/history` is checked, so a run
that finished while we were away is still seen.

Every failure is a `ComfyUIError`; `error.transient` says whether retrying the
job (possibly on another server) can help.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import requests
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

TERMINAL = ("execution_success", "execution_error", "execution_interrupted")

# --------------------------------------------------------------------------- errors


class ComfyUIError(Exception):
    """Base class. `transient` is True when a retry (later, or elsewhere) may succeed."""

    transient = False


class ComfyValidationError(ComfyUIError):
    """ComfyUI refused the graph (400), or accepted only part of it. Permanent."""

    def __init__(self, error: dict[str, Any], node_errors: dict[str, Any]):
        self.error = error or {}
        self.node_errors = node_errors or {}
        super().__init__(self._describe())

    @property
    def node_ids(self) -> list[str]:
        return list(self.node_errors)

    def _describe(self) -> str:
        parts = [self.error.get("message") or "ComfyUI rejected the workflow"]
        if self.error.get("details"):
            parts[0] += f" ({self.error['details']})"
        for node_id, entry in self.node_errors.items():
            for err in entry.get("errors", []):
                parts.append(
                    f"node {node_id} ({entry.get('class_type', '?')}): "
                    f"{err.get('message', '')}: {err.get('details', '')}"
                )
        return "; ".join(parts)


class ComfyExecutionError(ComfyUIError):
    """A node raised while the prompt ran (ComfyUI's `execution_error`). Permanent."""

    def __init__(
        self,
        node_id: str | None,
        node_type: str | None,
        exception_type: str,
        exception_message: str,
        traceback: list[str] | None = None,
    ):
        self.node_id = node_id
        self.node_type = node_type
        self.exception_type = exception_type
        self.exception_message = (exception_message or "").strip()
        self.traceback = traceback or []
        super().__init__(
            f"node {node_id} ({node_type}) failed: {exception_type}: {self.exception_message}"
        )


class ComfyInterrupted(ComfyUIError):
    """The prompt was interrupted (by us cancelling, or by someone else on that server)."""

    def __init__(self, prompt_id: str, node_id: str | None = None, node_type: str | None = None):
        self.prompt_id = prompt_id
        self.node_id = node_id
        self.node_type = node_type
        super().__init__(f"prompt {prompt_id} was interrupted at node {node_id} ({node_type})")


class ComfyUnreachable(ComfyUIError):
    """Connection refused/reset, 5xx, or the server lost our prompt. Transient."""

    transient = True


class ComfyTimeout(ComfyUIError):
    """Connect, silence or total timeout. Transient."""

    transient = True


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class QueuedPrompt:
    prompt_id: str
    number: float
    node_errors: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Progress:
    """Where a run is: `percent` is 0–100, monotonic within one `follow`."""

    percent: float
    node_id: str | None
    finished_nodes: int
    total_nodes: int


@dataclass(frozen=True)
class OutputImage:
    """One file a prompt produced. `kind` is the list ComfyUI reported it in
    (`images` for SaveImage and the animated savers, `gifs`/`videos` for
    video nodes); `animated` is ComfyUI's own flag for multi-frame images."""

    node_id: str
    filename: str
    subfolder: str
    type: str
    kind: str = "images"
    animated: bool = False

    def view_params(self) -> dict[str, str]:
        # Names are unique only per folder: always send subfolder and type.
        return {"filename": self.filename, "subfolder": self.subfolder, "type": self.type}


@dataclass(frozen=True)
class RunResult:
    prompt_id: str
    outputs: list[OutputImage]
    cached_nodes: list[str]
    history: dict[str, Any]


# The output lists a node's result may hold files in: SaveImage and the
# animated savers report `images`, video nodes `gifs` or `videos`.
OUTPUT_LISTS = ("images", "gifs", "videos")


def outputs_from_history(entry: dict[str, Any]) -> list[OutputImage]:
    """Every file of a history entry, in node order, then list order."""
    files = []
    for node_id, output in (entry.get("outputs") or {}).items():
        output = output or {}
        animated = bool(any(output.get("animated") or []))
        for kind in OUTPUT_LISTS:
            for item in output.get(kind, []) or []:
                if not isinstance(item, dict) or "filename" not in item:
                    continue  # e.g. text or numbers a node reports
                files.append(
                    OutputImage(
                        node_id=str(node_id),
                        filename=item["filename"],
                        subfolder=item.get("subfolder", ""),
                        type=item.get("type", "output"),
                        kind=kind,
                        animated=animated or kind != "images",
                    )
                )
    return files


class _ProgressTracker:
    """Turns ws messages into a monotonic percentage: finished nodes / total nodes."""

    def __init__(self, total_nodes: int, callback: Callable[[Progress], None] | None):
        self.total = max(int(total_nodes), 1)
        self.callback = callback
        self.finished: set[str] = set()
        self.cached: list[str] = []
        self.current: str | None = None
        self.fraction = 0.0
        self.last: Progress | None = None
        self.outputs: dict[str, dict[str, Any]] = {}
        self.terminal: dict[str, Any] | None = None

    def apply(self, message: dict[str, Any]) -> bool:
        """Take in one message about our prompt; True once it is over (`executing` null)."""
        kind, data = message.get("type"), message.get("data") or {}
        if kind == "execution_cached":
            self.cached = list(data.get("nodes", []))
            self.nodes_finished(self.cached)
        elif kind == "progress_state":
            nodes = data.get("nodes") or {}
            self.nodes_finished([n for n, s in nodes.items() if s.get("state") == "finished"])
        elif kind == "executing":
            if data.get("node") is None:
                return data.get("prompt_id") is not None
            # Without prompt_id this is the hint a reconnected socket gets.
            self.node_started(str(data["node"]))
        elif kind == "progress" and data.get("node") is not None:
            self.node_progress(str(data["node"]), data.get("value", 0), data.get("max", 0))
        elif kind == "executed":
            self.outputs[str(data.get("node"))] = data.get("output") or {}
            self.nodes_finished([str(data.get("node"))])
        elif kind in TERMINAL:
            self.terminal = message
        return False

    def node_started(self, node_id: str) -> None:
        if self.current and self.current != node_id:
            self.finished.add(self.current)
        self.current, self.fraction = node_id, 0.0
        self.emit()

    def node_progress(self, node_id: str, value: float, maximum: float) -> None:
        if node_id != self.current:
            self.node_started(node_id)
        self.fraction = min(max(value / maximum, 0.0), 1.0) if maximum else 0.0
        self.emit()

    def nodes_finished(self, node_ids: list[str]) -> None:
        self.finished.update(node_ids)
        self.emit()

    def emit(self, *, done: bool = False) -> None:
        finished = min(len(self.finished), self.total)
        running = self.fraction if self.current and self.current not in self.finished else 0.0
        percent = 100.0 if done else min(99.0, 100.0 * (finished + running) / self.total)
        if self.last is not None:
            percent = max(percent, self.last.percent)
        progress = Progress(round(percent, 1), self.current, finished, self.total)
        if progress != self.last:
            self.last = progress
            if self.callback is not None:
                self.callback(progress)


# --------------------------------------------------------------------------- client


class ComfyUIClient:
    """Client for one ComfyUI server, identified to it by `client_id`.

    Timeouts (seconds): `connect_timeout` for TCP/websocket handshakes;
    `silence_timeout` for a websocket that says nothing about our prompt (we then
    check /history and reconnect; two silent windows in a row while the prompt
    runs raise `ComfyTimeout`); `total_timeout` for a whole `follow`.
    Not thread-safe: use one client per task.
    """

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 5,
        silence_timeout: float = 60,
        total_timeout: float = 1800,
        client_id: str | None = None,
        read_timeout: float = 60,
        reconnect_attempts: int = 5,
    ):
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.silence_timeout = silence_timeout
        self.total_timeout = total_timeout
        self.read_timeout = read_timeout
        self.reconnect_attempts = reconnect_attempts
        self.client_id = client_id or uuid.uuid4().hex
        self._http = requests.Session()
        # ComfyUI servers are reached directly; an environment proxy would only get in the way.
        self._http.trust_env = False
        self._ws: ClientConnection | None = None

    def __enter__(self) -> ComfyUIClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the websocket and the HTTP session. Idempotent."""
        self.disconnect()
        self._http.close()

    # ----------------------------------------------------------------- HTTP

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", (self.connect_timeout, self.read_timeout))
        try:
            response = self._http.request(method, self.base_url + path, **kwargs)
        except requests.Timeout as exc:
            raise ComfyTimeout(f"{method} {path} timed out: {exc}") from exc
        except requests.RequestException as exc:
            raise ComfyUnreachable(f"{method} {path} failed: {exc}") from exc
        if response.status_code >= 500:
            raise ComfyUnreachable(
                f"{method} {path} answered {response.status_code}: {response.text[:200]}"
            )
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        if response.status_code != 200:
            raise ComfyUIError(f"{method} {path} answered {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise ComfyUnreachable(f"{method} {path} did not answer JSON") from exc

    def upload_image(
        self, data: bytes | IO[bytes], filename: str, *, subfolder: str, overwrite: bool = True
    ) -> str:
        """Upload an input image into `subfolder` of ComfyUI's input dir.

        Returns the value for LoadImage's `image` input (`subfolder/name`).
        Idempotent with `overwrite=True` (the default): the same name is replaced.
        Raises ComfyUIError on a 4xx (bad subfolder, body too large), ComfyUnreachable
        or ComfyTimeout on transport failures.
        """
        response = self._request(
            "POST",
            "/upload/image",
            files={"image": (filename, data, mimetypes.guess_type(filename)[0] or "image/png")},
            data={
                "overwrite": "true" if overwrite else "false",
                "subfolder": subfolder,
                "type": "input",
            },
        )
        if response.status_code != 200:
            raise ComfyUIError(
                f"ComfyUI refused the upload of {filename!r}: {response.status_code}"
            )
        body = response.json()
        name, folder = body["name"], body.get("subfolder", "")
        return f"{folder}/{name}" if folder else name

    def queue_prompt(
        self, graph: dict[str, Any], *, prompt_id: str, extra_data: dict[str, Any] | None = None
    ) -> QueuedPrompt:
        """Queue `graph` under our client id and the caller's `prompt_id`.

        Raises ComfyValidationError when ComfyUI refuses the graph, and also when it
        accepts only some outputs (200 with node_errors): that partial prompt is
        removed from the queue / interrupted, since a partial run is never wanted.
        """
        body: dict[str, Any] = {
            "prompt": graph,
            "client_id": self.client_id,
            "prompt_id": prompt_id,
        }
        if extra_data:
            body["extra_data"] = extra_data
        response = self._request("POST", "/prompt", json=body)
        if response.status_code == 400:
            payload = _json_or_empty(response)
            raise ComfyValidationError(payload.get("error") or {}, payload.get("node_errors") or {})
        if response.status_code != 200:
            raise ComfyUIError(f"POST /prompt answered {response.status_code}")
        payload = response.json()
        if payload.get("node_errors"):
            self.delete_queued(prompt_id)
            self.interrupt(prompt_id)
            raise ComfyValidationError(
                {
                    "type": "prompt_outputs_failed_validation",
                    "message": "Some outputs of the workflow failed validation",
                    "details": "",
                },
                payload["node_errors"],
            )
        return QueuedPrompt(payload.get("prompt_id", prompt_id), payload.get("number", 0), {})

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The prompt's /history entry, or None while it is queued/running (or unknown)."""
        return self._json("GET", f"/history/{prompt_id}").get(prompt_id)

    def outputs(self, prompt_id: str) -> list[OutputImage]:
        """Images the finished prompt produced (outputs and previews), from /history."""
        entry = self.history(prompt_id)
        if entry is None:
            raise ComfyUIError(f"prompt {prompt_id} has no history entry")
        return outputs_from_history(entry)

    def download(self, output: OutputImage) -> bytes:
        """The image's bytes (GET /view with filename, subfolder and type)."""
        response = self._request("GET", "/view", params=output.view_params())
        if response.status_code != 200:
            raise ComfyUIError(f"ComfyUI has no {output.filename!r}: {response.status_code}")
        return response.content

    def download_to(
        self, output: OutputImage, fileobj: IO[bytes], chunk_size: int = 1 << 16
    ) -> int:
        """Stream the image into `fileobj`; returns the number of bytes written."""
        response = self._request("GET", "/view", params=output.view_params(), stream=True)
        with response:
            if response.status_code != 200:
                raise ComfyUIError(f"ComfyUI has no {output.filename!r}: {response.status_code}")
            written = 0
            try:
                for chunk in response.iter_content(chunk_size):
                    fileobj.write(chunk)
                    written += len(chunk)
            except requests.RequestException as exc:
                raise ComfyUnreachable(f"download of {output.filename!r} broke: {exc}") from exc
        return written

    def interrupt(self, prompt_id: str) -> None:
        """Interrupt `prompt_id` if it is the one running (no-op otherwise).

        ComfyUI stops at the next node boundary, not at once.
        """
        self._request("POST", "/interrupt", json={"prompt_id": prompt_id})

    def delete_queued(self, prompt_id: str) -> None:
        """Remove `prompt_id` from the pending queue (no effect once it runs)."""
        self._request("POST", "/queue", json={"delete": [prompt_id]})

    def object_info(self) -> dict[str, Any]:
        return self._json("GET", "/object_info")

    def system_stats(self) -> dict[str, Any]:
        """Cheap health probe: raises ComfyUnreachable/ComfyTimeout when down."""
        return self._json("GET", "/system_stats")

    def queue_depth(self) -> int:
        """Prompts running + pending on the server."""
        return int(self._json("GET", "/prompt")["exec_info"]["queue_remaining"])

    def _queue_state(self, prompt_id: str) -> str | None:
        queue = self._json("GET", "/queue")
        if any(item[1] == prompt_id for item in queue.get("queue_running", [])):
            return "running"
        if any(item[1] == prompt_id for item in queue.get("queue_pending", [])):
            return "pending"
        return None

    # ----------------------------------------------------------------- websocket

    @property
    def ws_url(self) -> str:
        base = "ws" + self.base_url[4:] if self.base_url.startswith("http") else self.base_url
        return f"{base}/ws?clientId={self.client_id}"

    def connect(self) -> None:
        """Open the websocket (if not open). Raises ComfyUnreachable / ComfyTimeout."""
        if self._ws is not None:
            return
        try:
            self._ws = connect(
                self.ws_url,
                open_timeout=self.connect_timeout,
                close_timeout=1,
                max_size=None,
                proxy=None,
                legacy=True,
            )
        except TimeoutError as exc:
            raise ComfyTimeout(f"websocket handshake with {self.base_url} timed out") from exc
        except (OSError, InvalidHandshake, InvalidURI) as exc:
            raise ComfyUnreachable(f"websocket to {self.base_url} failed: {exc}") from exc

    def disconnect(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            # Closing a socket that already died may fail; there is nothing left to do.
            with contextlib.suppress(Exception):
                ws.close()

    def _reconnect(self) -> bool:
        """Reopen with the same client id; False if the server keeps refusing."""
        self.disconnect()
        delay = 0.1
        for attempt in range(self.reconnect_attempts):
            try:
                self.connect()
                return True
            except ComfyUIError:
                if attempt + 1 < self.reconnect_attempts:
                    time.sleep(delay)
                    delay = min(delay * 2, 2.0)
        return False

    def run(
        self,
        graph: dict[str, Any],
        *,
        prompt_id: str | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        extra_data: dict[str, Any] | None = None,
    ) -> RunResult:
        """Connect, queue and follow `graph` to its end. Raises what queue_prompt/follow raise."""
        prompt_id = prompt_id or str(uuid.uuid4())
        self.connect()
        self.queue_prompt(graph, prompt_id=prompt_id, extra_data=extra_data)
        return self.follow(prompt_id, on_progress, total_nodes=len(graph))

    def follow(
        self,
        prompt_id: str,
        on_progress: Callable[[Progress], None] | None = None,
        *,
        total_nodes: int,
    ) -> RunResult:
        """Wait for `prompt_id` to finish, reporting progress; return its outputs.

        Open the socket (connect() / run()) before queueing; if it is not open, it
        is opened here and /history is checked first. Raises ComfyExecutionError,
        ComfyInterrupted, ComfyTimeout (silence or total_timeout), ComfyUnreachable
        (server gone, or the prompt vanished from queue and history).
        """
        deadline = time.monotonic() + self.total_timeout
        tracker = _ProgressTracker(total_nodes, on_progress)
        if self._ws is None:
            if not self._reconnect():
                return self._poll_until_done(prompt_id, tracker, deadline)
            if (done := self._result_if_finished(prompt_id, tracker)) is not None:
                return done
        silent_windows = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ComfyTimeout(f"prompt {prompt_id} did not finish in {self.total_timeout}s")
            try:
                raw: str | bytes | None = self._ws.recv(
                    timeout=min(self.silence_timeout, remaining)
                )
            except TimeoutError:
                raw = None
            except (ConnectionClosed, OSError):
                # Nothing is buffered server-side: reconnect, then ask /history what we missed.
                if not self._reconnect():
                    return self._poll_until_done(prompt_id, tracker, deadline)
                if (done := self._result_if_finished(prompt_id, tracker)) is not None:
                    return done
                continue
            if raw is None:
                if time.monotonic() >= deadline:
                    continue
                done, running = self._after_silence(prompt_id, tracker, silent_windows)
                if done is not None:
                    return done
                silent_windows += 1 if running else 0
                if not self._reconnect():
                    return self._poll_until_done(prompt_id, tracker, deadline)
                continue
            if isinstance(raw, bytes):
                continue  # preview images
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            message_prompt = (message.get("data") or {}).get("prompt_id")
            if message_prompt is not None and message_prompt != prompt_id:
                continue
            if message_prompt == prompt_id:
                silent_windows = 0
            if tracker.apply(message):
                return self._finish(prompt_id, tracker)

    def _after_silence(
        self, prompt_id: str, tracker: _ProgressTracker, silent_windows: int
    ) -> tuple[RunResult | None, bool]:
        """The socket said nothing for silence_timeout: did we miss the end, or is it stuck?

        Returns (result if it finished, whether it is running). Raises ComfyTimeout
        for a running prompt silent twice in a row, ComfyUnreachable if it vanished.
        """
        # The run may have ended while our socket was half-dead.
        if (done := self._result_if_finished(prompt_id, tracker)) is not None:
            return done, False
        state = self._queue_state(prompt_id)
        if state is None:
            if (done := self._result_if_finished(prompt_id, tracker)) is not None:
                return done, False
            raise ComfyUnreachable(
                f"prompt {prompt_id} is neither queued nor in history "
                "(the server probably restarted)"
            )
        # Waiting behind other prompts is fine; a running prompt silent twice is stuck.
        if state == "running" and silent_windows + 1 >= 2:
            raise ComfyTimeout(
                f"no news of running prompt {prompt_id} for "
                f"{(silent_windows + 1) * self.silence_timeout:g}s"
            )
        return None, state == "running"

    def _finish(self, prompt_id: str, tracker: _ProgressTracker) -> RunResult:
        # History is written before `executing null`, so it is there now.
        entry = self.history(prompt_id)
        if entry is None:
            if tracker.terminal and tracker.terminal.get("type") == "execution_success":
                entry = {
                    "outputs": tracker.outputs,
                    "status": {"status_str": "success", "messages": []},
                }
            else:
                raise ComfyUnreachable(f"prompt {prompt_id} ended but left no history entry")
        return self._result_from_entry(prompt_id, entry, tracker)

    def _result_if_finished(self, prompt_id: str, tracker: _ProgressTracker) -> RunResult | None:
        entry = self.history(prompt_id)
        return None if entry is None else self._result_from_entry(prompt_id, entry, tracker)

    def _result_from_entry(
        self, prompt_id: str, entry: dict[str, Any], tracker: _ProgressTracker
    ) -> RunResult:
        status = entry.get("status") or {}
        messages = {event: data for event, data in status.get("messages", [])}
        if "execution_error" in messages:
            err = messages["execution_error"]
            raise ComfyExecutionError(
                err.get("node_id"),
                err.get("node_type"),
                err.get("exception_type", "Exception"),
                err.get("exception_message", ""),
                err.get("traceback"),
            )
        if "execution_interrupted" in messages:
            info = messages["execution_interrupted"]
            raise ComfyInterrupted(prompt_id, info.get("node_id"), info.get("node_type"))
        if status.get("status_str") not in (None, "success"):
            raise ComfyExecutionError(
                None, None, "Error", f"prompt ended with {status.get('status_str')}"
            )
        tracker.emit(done=True)
        cached = messages.get("execution_cached", {}).get("nodes", tracker.cached)
        return RunResult(prompt_id, outputs_from_history(entry), list(cached), entry)

    def _poll_until_done(
        self, prompt_id: str, tracker: _ProgressTracker, deadline: float
    ) -> RunResult:
        """No websocket: poll /history (raises ComfyUnreachable if HTTP is down too)."""
        interval = min(1.0, max(self.silence_timeout / 4, 0.05))
        while time.monotonic() < deadline:
            if (done := self._result_if_finished(prompt_id, tracker)) is not None:
                return done
            if self._queue_state(prompt_id) is None and self.history(prompt_id) is None:
                raise ComfyUnreachable(f"prompt {prompt_id} is neither queued nor in history")
            time.sleep(interval)
        raise ComfyTimeout(f"prompt {prompt_id} did not finish in {self.total_timeout}s")


def _json_or_empty(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
