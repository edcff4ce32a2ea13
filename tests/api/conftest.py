"""Fixtures for the public API: keys, clients, presets and a tiny image server."""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from generations.models import Generation
from tests.factories import ApiKeyFactory
from tests.generations.conftest import (  # noqa: F401  (fixtures reused here)
    png_bytes,
    presets,
    start_worker,
    worker_env,
)

# The SDK is a standalone package in sdk/; its tests import it from there.
SDK_DIR = Path(__file__).resolve().parents[2] / "sdk"
if str(SDK_DIR) not in sys.path:
    sys.path.insert(0, str(SDK_DIR))


def key_client(user, scopes=None) -> APIClient:
    """An API client authenticated with a new key of `user`."""
    kwargs = {} if scopes is None else {"scopes": scopes}
    api_key = ApiKeyFactory(user=user, **kwargs)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.full_key}")
    client.api_key = api_key
    return client


@pytest.fixture
def alice_api(alice) -> APIClient:
    return key_client(alice)


@pytest.fixture
def bob_api(bob) -> APIClient:
    return key_client(bob)


@pytest.fixture
def generous_rate_limits(settings):
    """For tests that poll a real job: the limits are not what they test."""
    settings.API_REQUEST_RATES = {"free": "10000/min"}
    settings.API_JOB_RATES = {"free": "10000/hour"}


@pytest.fixture
def preset_workflows(db):
    """The system presets (portrait_pro, product_glow, cinematic)."""
    from workflows.models import Workflow
    from workflows.preset_sync import presets_sync

    presets_sync()
    return {w.slug: w for w in Workflow.objects.filter(owner__isnull=True)}


def job_count() -> int:
    return Generation.objects.count()


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content[:2000]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]


class ImageServer:
    """A loopback HTTP server for image_url tests: serves a PNG at /photo.png,
    redirects /redirect?to=… and records every request it gets."""

    def __init__(self):
        self.requests: list[str] = []
        self.redirect_to = ""
        self.body = png_bytes((64, 48))
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.requests.append(self.path)
                if self.path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", server.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path.startswith("/photo.png"):
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Content-Length", str(len(server.body)))
                    self.end_headers()
                    self.wfile.write(server.body)
                    return
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def image_server(settings):
    """The loopback image server, let through the outbound guard by port."""
    server = ImageServer()
    settings.OUTBOUND_ALLOWED_HOSTS = [f"127.0.0.1:{server.port}"]
    yield server
    server.stop()
