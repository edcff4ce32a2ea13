"""Replays a recorded real-ComfyUI transcript against the development server.

Requests are re-sent in recorded order (ids and output names mapped to the ones
our server hands out, upload bytes regenerated per recorded sha256), each one
after the websocket messages that had arrived before it was sent. The result is
what both servers answered, for comparing status codes, JSON shapes and the
order of websocket message types.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from PIL import Image
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

TRANSCRIPTS = Path(__file__).resolve().parents[2] / "tests/standins/comfyui/recorded/transcripts"
# Keys that are ids (prompt ids, node ids): such dicts are compared as maps.
ID_KEY = re.compile(
    r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+|my-own-id-\d+)$"
)
OUTPUT_NAME = re.compile(r"_\d{5}_\.png$")


def load(scenario: str) -> list[dict[str, Any]]:
    lines = (TRANSCRIPTS / f"{scenario}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def shape(value: Any) -> Any:
    """Keys and value types, recursively; id-keyed dicts become {"<id>": value shapes}."""
    if isinstance(value, dict):
        if value and all(ID_KEY.match(str(key)) for key in value):
            return {"<id>": sorted({json.dumps(shape(v), sort_keys=True) for v in value.values()})}
        return {key: shape(v) for key, v in value.items()}
    if isinstance(value, list):
        return ["list", sorted({json.dumps(shape(v), sort_keys=True) for v in value})]
    if value is None:
        return "null"
    return type(value).__name__


def same_shape(recorded: Any, ours: Any) -> bool:
    return json.dumps(shape(recorded), sort_keys=True) == json.dumps(shape(ours), sort_keys=True)


def shape_diff(recorded: Any, ours: Any, path: str = "$") -> list[str]:
    """Where two shapes differ (for readable assertion messages)."""
    rs, os_ = shape(recorded), shape(ours)
    if rs == os_:
        return []
    if isinstance(recorded, dict) and isinstance(ours, dict) and recorded and ours:
        if "<id>" in rs and "<id>" in os_:
            return shape_diff(
                next(iter(recorded.values())), next(iter(ours.values())), f"{path}.<id>"
            )
        if "<id>" not in rs:
            keys = set(recorded) ^ set(ours)
            diffs = [f"{path}: keys differ {sorted(keys)}"] if keys else []
            for key in set(recorded) & set(ours):
                diffs += shape_diff(recorded[key], ours[key], f"{path}.{key}")
            return diffs
    if isinstance(recorded, list) and isinstance(ours, list) and recorded and ours:
        diffs = []
        for r, o in zip(recorded, ours, strict=False):
            diffs += shape_diff(r, o, f"{path}[]")
        if diffs:
            return diffs
    return [f"{path}: recorded {json.dumps(rs)[:300]} ours {json.dumps(os_)[:300]}"]


def upload_bytes(part: dict[str, Any], limit: int) -> bytes:
    """Distinct recorded bytes (by sha256) get distinct, deterministic small images."""
    if part["length"] > limit:
        return b"\0" * (limit + 1)
    digest = hashlib.sha256(part["sha256"].encode()).digest()
    buf = io.BytesIO()
    fmt = "PNG" if part.get("content_type") == "image/png" else "JPEG"
    Image.new("RGB", (48, 32), tuple(digest[:3])).save(buf, format=fmt)
    return buf.getvalue()


@dataclass
class Socket:
    name: str
    conn: ClientConnection
    messages: list[dict[str, Any]] = field(default_factory=list)
    thread: threading.Thread | None = None

    def read(self) -> None:
        try:
            while True:
                raw = self.conn.recv()
                if isinstance(raw, str):
                    self.messages.append(json.loads(raw))
        except (ConnectionClosed, OSError):
            return

    def count(self, kind: str) -> int:
        return sum(1 for message in list(self.messages) if message["type"] == kind)


@dataclass
class Exchange:
    record: dict[str, Any]
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Replay:
    def __init__(self, server: Any, scenario: str):
        self.server = server
        self.records = load(scenario)
        self.ids: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.sockets: dict[str, Socket] = {}
        self.exchanges: list[Exchange] = []
        self.last_history: Any = None
        self.recorded_ws: dict[str, list[dict[str, Any]]] = {}
        for record in self.records:
            if record["kind"] == "ws_recv" and record["frame"] == "text":
                self.recorded_ws.setdefault(record["ws"], []).append(record["text"])

    # ----------------------------------------------------------------- mapping

    def _map(self, value: Any) -> Any:
        if isinstance(value, str):
            for old, new in {**self.ids, **self.names}.items():
                value = value.replace(old, new)
            return value.replace("127.0.0.1:8188", f"{self.server.host}:{self.server.port}")
        if isinstance(value, list):
            return [self._map(v) for v in value]
        if isinstance(value, dict):
            return {self._map(k): self._map(v) for k, v in value.items()}
        return value

    def _learn(self, recorded: Any, ours: Any) -> None:
        """Pair recorded output names with ours (counters differ from the long-lived server)."""
        if isinstance(recorded, dict) and isinstance(ours, dict):
            if len(recorded) == 1 and len(ours) == 1 and ID_KEY.match(next(iter(recorded))):
                self._learn(next(iter(recorded.values())), next(iter(ours.values())))
                return
            for key in set(recorded) & set(ours):
                self._learn(recorded[key], ours[key])
        elif isinstance(recorded, list) and isinstance(ours, list):
            for r, o in zip(recorded, ours, strict=False):
                self._learn(r, o)
        elif (
            isinstance(recorded, str)
            and isinstance(ours, str)
            and OUTPUT_NAME.search(recorded)
            and OUTPUT_NAME.search(ours)
            and recorded != ours
        ):
            self.names.setdefault(recorded, ours)

    # ----------------------------------------------------------------- replay

    def _wait_for_ws(self, before_ms: float, timeout: float = 10) -> None:
        """Wait until each socket got what the recorded one had got by `before_ms`."""
        wanted: dict[str, dict[str, int]] = {}
        for record in self.records:
            if (
                record["kind"] == "ws_recv"
                and record["t_ms"] < before_ms
                and record["frame"] == "text"
            ):
                counts = wanted.setdefault(record["ws"], {})
                kind = record["text"]["type"]
                counts[kind] = counts.get(kind, 0) + 1
        deadline = time.monotonic() + timeout
        for name, counts in wanted.items():
            socket = self.sockets.get(name)
            if socket is None:
                continue
            for kind, count in counts.items():
                while socket.count(kind) < count and time.monotonic() < deadline:
                    time.sleep(0.01)

    def _open(self, name: str, url: str) -> None:
        path_and_query = url.split("127.0.0.1:8188", 1)[1]
        conn = connect(
            f"ws://{self.server.host}:{self.server.port}{path_and_query}", proxy=None, legacy=True
        )
        # Some recordings reuse a socket name for successive connections: what a
        # name received is then what all of them received, in order.
        previous = self.sockets.get(name)
        socket = Socket(name, conn, previous.messages if previous else [])
        socket.thread = threading.Thread(target=socket.read, daemon=True)
        socket.thread.start()
        self.sockets[name] = socket

    def _view_query(self, record: dict[str, Any]) -> dict[str, str]:
        """The query of a /view the recorder logged without one (scenarios l, m, n).

        It asked for a file the history answer before it named; the answer's
        Content-Disposition says which."""
        disposition = record["response"]["headers"].get("content-disposition", "")
        wanted = disposition.partition('filename="')[2].rstrip('"')
        for entry in (self.last_history or {}).values():
            for output in (entry.get("outputs") or {}).values():
                for image in output.get("images", []):
                    if image["filename"] == wanted:
                        return self._map(image)
        return {}

    def _send(self, record: dict[str, Any]) -> Exchange:
        request = record["request"]
        url = f"{self.server.url}{self._map(request['path'])}"
        query = request.get("query")
        if query is None and request["path"] in ("/view", "/api/view"):
            query = self._view_query(record)
        kwargs: dict[str, Any] = {"timeout": 30, "params": self._map(query or {})}
        headers = self._map(request.get("headers") or {})
        if "json" in request:
            kwargs["json"] = self._map(request["json"])
        elif "raw_body" in request:
            kwargs["data"] = request["raw_body"].encode()
        elif "multipart" in request:
            files = []
            for part in request["multipart"]:
                if "filename" in part:
                    data = upload_bytes(part, self.server.max_upload_size)
                    files.append((part["field"], (part["filename"], data, part["content_type"])))
                else:
                    files.append((part["field"], (None, part["value"])))
            kwargs["files"] = files
        recorded = record["response"]
        if request["path"].startswith("/history/"):
            self.last_history = recorded.get("json")
        deadline = time.monotonic() + 15
        while True:
            response = requests.request(request["method"], url, headers=headers, **kwargs)
            # The recorder polled /history until done; poll the same way.
            if not (
                request["path"].startswith("/history/")
                and recorded.get("json")
                and response.status_code == 200
                and response.json() == {}
                and time.monotonic() < deadline
            ):
                break
            time.sleep(0.05)
        exchange = Exchange(
            record, response.status_code, response.headers.get("Content-Type", ""), response.content
        )
        if "json" in recorded and exchange.content_type.startswith("application/json"):
            ours = exchange.json()
            if (
                request["method"] == "POST"
                and request["path"].endswith("/prompt")
                and isinstance(recorded["json"], dict)
                and "prompt_id" in recorded["json"]
            ):
                self.ids.setdefault(recorded["json"]["prompt_id"], ours.get("prompt_id", ""))
            self._learn(recorded["json"], ours)
        return exchange

    def run(self) -> Replay:
        received_since_open: dict[str, int] = {}
        kept_at_open: dict[str, int] = {}
        for record in self.records:
            kind = record["kind"]
            if kind == "ws_open":
                self._wait_for_ws(record["t_ms"])
                previous = self.sockets.get(record["ws"])
                kept_at_open[record["ws"]] = len(previous.messages) if previous else 0
                received_since_open[record["ws"]] = 0
                self._open(record["ws"], record["url"])
            elif kind == "ws_recv":
                received_since_open[record["ws"]] = received_since_open.get(record["ws"], 0) + 1
            if kind == "ws_close":
                self._wait_for_ws(record["t_ms"])
                socket = self.sockets[record["ws"]]
                socket.conn.close()
                socket.thread.join(5)
                if received_since_open.get(record["ws"]) == 0:
                    # The recorder closed this socket before reading its greeting;
                    # what ours read on it is not part of the comparison.
                    del socket.messages[kept_at_open[record["ws"]] :]
            elif kind == "http":
                self._wait_for_ws(record["t_start_ms"])
                self.exchanges.append(self._send(record))
            elif kind == "ws_recv" and record["ws"] not in self.sockets:
                self._open(record["ws"], "ws://127.0.0.1:8188/api/ws")
            elif (
                kind == "note"
                and record["text"].startswith("deleted ")
                and "input directory" in record["text"]
            ):
                name = record["text"].split()[1]
                (self.server.input_dir / name).unlink()
        self._wait_for_ws(float("inf"))
        for socket in self.sockets.values():
            socket.conn.close()
            socket.thread.join(5)
        return self

    def ws_types(self, name: str) -> tuple[list[str], list[str]]:
        """(recorded, ours) message types, in arrival order, for one socket."""
        recorded = [m["type"] for m in self.recorded_ws.get(name, [])]
        ours = [m["type"] for m in self.sockets[name].messages]
        return recorded, ours
