"""Graph validation gets the servers' object_info, cached, and a miss is cheap."""

import pytest

from generations.servers import comfyui_object_info
from tests.generations.factories import ComfyServerFactory

pytestmark = pytest.mark.django_db


def test_it_returns_a_servers_object_info_and_caches_it(comfy_dev_server):
    server = ComfyServerFactory(url=comfy_dev_server.url)
    info = comfyui_object_info()
    assert "LoadImage" in info and "SaveImage" in info
    server.delete()  # from now on only the cache can answer
    assert comfyui_object_info() == info


def test_a_miss_is_remembered_instead_of_retried_on_every_save(comfy_dev_server):
    ComfyServerFactory(url="http://127.0.0.1:9")  # refuses connections
    assert comfyui_object_info() is None
    ComfyServerFactory(url=comfy_dev_server.url)
    assert comfyui_object_info() is None  # within the minute: no new attempt
