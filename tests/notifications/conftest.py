"""Fixtures for notification tests: a real HTTP receiver on a free loopback
port, Celery running tasks in-process, and a guard against connections."""

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from creator_site.celery import app as celery_app
from generations.models import Generation
from tests.generations.factories import GenerationFactory


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each request with the next scripted (status, headers, body),
    then 200 OK once the script runs out; remembers every request."""

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    script: list[tuple[int, dict, bytes]] = field(default_factory=list)

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host_port}{path}"

    def answer(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.script.append((status, headers or {}, body))


@pytest.fixture
def receiver():
    holder: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            current = holder["receiver"]
            current.requests.append(
                Received(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
            )
            status, headers, reply = current.script.pop(0) if current.script else (200, {}, b"ok")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_GET = do_POST = _handle

        def log_message(self, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["receiver"] = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder["receiver"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def allow_receiver(settings, receiver):
    """The operator escape hatch, opened for this receiver only."""
    settings.OUTBOUND_ALLOWED_HOSTS = [receiver.host_port]
    return receiver


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    settings.WEBHOOK_RETRY_DELAYS = [0.01, 0.01]
    settings.WEBHOOK_TIMEOUT = 5
    settings.SITE_URL = "https://creator.test"


@pytest.fixture
def eager_celery():
    """Tasks run in the calling thread (countdowns are ignored), so a whole
    delivery with its retries happens inside the test."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def connections(monkeypatch):
    """Every outbound connection attempt, recorded; refused ones must leave
    this empty. (pytest-socket would also stop a non-loopback one.)"""
    attempts: list = []
    real = socket.create_connection

    def recording(address, *args, **kwargs):
        attempts.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    return attempts


class FakeDNS:
    """Host names answered by the test: each lookup of a name takes the next
    scripted address (the last one repeats), like a rebinding DNS server."""

    def __init__(self):
        self.answers: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def answer(self, host: str, *addresses: str) -> None:
        self.answers[host] = list(addresses)


@pytest.fixture
def fake_dns(monkeypatch):
    dns = FakeDNS()
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in dns.answers:
            return real(host, port, *args, **kwargs)
        dns.lookups.append(host)
        queue = dns.answers[host]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        if ":" in address:
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return dns


def finished_job(user, status=Generation.Status.COMPLETED, **fields) -> Generation:
    now = timezone.now()
    return GenerationFactory(
        user=user,
        status=status,
        started_at=now,
        completed_at=now,
        progress=100 if status == Generation.Status.COMPLETED else 0,
        **fields,
    )
