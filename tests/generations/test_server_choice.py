"""Jobs go to the least-loaded healthy server with a free slot."""

import pytest

from generations.models import Generation
from generations.servers import server_pick, server_record_health, servers_seed_from_settings
from tests.generations.factories import ComfyServerFactory, GenerationFactory

pytestmark = pytest.mark.django_db


def busy(server, n):
    for _ in range(n):
        GenerationFactory(status=Generation.Status.PROCESSING, server=server)


def test_it_picks_the_least_loaded_server_by_weight():
    small = ComfyServerFactory(weight=1, max_concurrent_jobs=10)
    big = ComfyServerFactory(weight=4, max_concurrent_jobs=10)
    busy(small, 1)
    busy(big, 3)  # 3/4 < 1/1
    assert server_pick() == big


def test_it_skips_full_disabled_and_unhealthy_servers():
    full = ComfyServerFactory(max_concurrent_jobs=1)
    busy(full, 1)
    ComfyServerFactory(enabled=False)
    ComfyServerFactory(is_healthy=False)
    assert server_pick() is None
    spare = ComfyServerFactory()
    assert server_pick() == spare
    assert server_pick(exclude_ids=[spare.id]) is None


def test_finished_jobs_do_not_count_as_load():
    server = ComfyServerFactory(max_concurrent_jobs=1)
    GenerationFactory(status=Generation.Status.COMPLETED, server=server)
    assert server_pick() == server


def test_one_failed_check_keeps_a_server_two_mark_it_down_one_success_brings_it_back():
    server = ComfyServerFactory()
    server_record_health(server=server, ok=False, error="refused")
    assert server.is_healthy
    server_record_health(server=server, ok=False, error="refused")
    assert not server.is_healthy
    server_record_health(server=server, ok=True)
    assert server.is_healthy and server.consecutive_failures == 0


def test_servers_are_seeded_from_the_environment_once(settings):
    settings.COMFYUI_URL = "http://127.0.0.1:8188, http://127.0.0.1:8189/"
    servers_seed_from_settings()
    servers_seed_from_settings()
    from generations.models import ComfyServer

    assert sorted(ComfyServer.objects.values_list("url", flat=True)) == [
        "http://127.0.0.1:8188",
        "http://127.0.0.1:8189",
    ]
