"""Fixtures for the ComfyUI client and the development ComfyUI server.

Neither needs Django: the two autouse fixtures below replace the root ones
(media root, cache) so these tests also run with `-p no:django`.
"""

import pytest

from generations.comfyui_client import ComfyUIClient
from tests.standins.comfyui import DevComfyServer


@pytest.fixture(autouse=True)
def _media_root():
    """Overrides the root fixture: the client and the stand-in never touch Django settings."""


@pytest.fixture(autouse=True)
def _clear_cache():
    """Overrides the root fixture: nothing here uses Django's cache."""


@pytest.fixture
def comfy_server(tmp_path):
    """A development ComfyUI server on a free loopback port, stopped after the test."""
    server = DevComfyServer(port=0, data_dir=tmp_path / "comfy").start()
    yield server
    server.stop()


@pytest.fixture
def comfy(comfy_server):
    """A client with short timeouts, talking to `comfy_server`."""
    with ComfyUIClient(
        comfy_server.url, connect_timeout=2, silence_timeout=5, total_timeout=60
    ) as client:
        yield client


@pytest.fixture
def start_comfy_server(tmp_path):
    """Starts development ComfyUI servers (`models=` etc. as given); all stopped after the test."""
    servers = []

    def start(**options):
        data_dir = tmp_path / f"comfy-{len(servers)}"
        server = DevComfyServer(port=0, data_dir=data_dir, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
