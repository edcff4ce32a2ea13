"""Stand-in servers shared by the whole suite."""

import pytest

from tests.standins.comfyui import DevComfyServer


@pytest.fixture
def comfy_dev_server(tmp_path):
    """The development ComfyUI server on a free loopback port."""
    server = DevComfyServer(port=0, data_dir=tmp_path / "comfy").start()
    yield server
    server.stop()
