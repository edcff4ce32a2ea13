"""A loopback HTTP server that answers, but one byte a second.

Each read a client makes returns quickly, so per-read socket timeouts never
trip; only a deadline on the whole exchange stops such a client. The server
notices when the client gives up: `peer_closed` is set as soon as the
client's side of a connection shuts (a FIN or a reset), so a test can check
that the client really let go rather than merely stopped waiting.

Modes (what is trickled):
  "body"              headers at once (Content-Length, keep-alive), then the body
  "body_close"        the same with `Connection: close`
  "body_until_close"  `Connection: close`, no length: the body runs until close
  "headers"           the status line and header lines themselves
"""

from __future__ import annotations

import contextlib
import itertools
import select
import socket
import threading
from collections.abc import Iterator

MODES = ("body", "body_close", "body_until_close", "headers")


class TricklingServer:
    def __init__(self, mode: str, *, interval: float = 1.0):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {MODES}")
        self.mode = mode
        self.interval = interval
        self.requests: list[bytes] = []  # each request's head, as received
        self.peer_closed = threading.Event()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return f"http://{self.host_port}{path}"

    def start(self) -> TricklingServer:
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self._listener], [], [], 0.1)
            if readable:
                conn, _ = self._listener.accept()
                self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            head = self._read_request(conn)
            if head is None:
                return
            self.requests.append(head)
            for chunk in self._answer():
                if self._stop.is_set():
                    return
                try:
                    conn.sendall(chunk)
                except OSError:  # broken pipe, reset: the client is gone
                    self.peer_closed.set()
                    return
                if self._client_left(conn):
                    self.peer_closed.set()
                    return

    def _read_request(self, conn: socket.socket) -> bytes | None:
        conn.settimeout(10)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return None
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return None
                body += chunk
        except OSError:
            return None
        return head

    def _client_left(self, conn: socket.socket) -> bool:
        """Wait one interval; True when the client shut its side meanwhile."""
        readable, _, _ = select.select([conn], [], [], self.interval)
        if not readable:
            return False
        try:
            return conn.recv(1024) == b""  # a request body's leftovers are not a close
        except OSError:
            return True

    def _answer(self) -> Iterator[bytes]:
        if self.mode == "headers":
            head = b"HTTP/1.1 200 OK\r\n"
            lines = (f"X-Slow-{n}: y\r\n".encode() for n in itertools.count())
            for byte in itertools.chain(head, itertools.chain.from_iterable(lines)):
                yield bytes([byte])
            return
        head = "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
        if self.mode in ("body", "body_close"):
            head += "Content-Length: 1000000\r\n"
        if self.mode in ("body_close", "body_until_close"):
            head += "Connection: close\r\n"
        yield (head + "\r\n").encode()
        while True:
            yield b"x"


@contextlib.contextmanager
def trickling_server(mode: str, *, interval: float = 1.0) -> Iterator[TricklingServer]:
    server = TricklingServer(mode, interval=interval).start()
    try:
        yield server
    finally:
        server.stop()
