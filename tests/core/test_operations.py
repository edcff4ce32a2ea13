"""Staff see the operational numbers; Prometheus scrapes them with a token."""

import pytest

from generations.models import Generation
from tests.factories import UserFactory
from tests.generations.factories import ComfyServerFactory, GenerationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def jobs():
    server = ComfyServerFactory(url="http://127.0.0.1:8188")
    GenerationFactory(status=Generation.Status.QUEUED)
    GenerationFactory(status=Generation.Status.PROCESSING, server=server)
    for ms in (100, 200, 300, 400, 1000):
        GenerationFactory(
            status=Generation.Status.COMPLETED,
            workflow_name="portrait_pro",
            duration_ms=ms,
            completed_at="2099-01-01T00:00:00Z",
        )


def test_metrics_need_the_token(client, settings, jobs):
    settings.METRICS_TOKEN = "scrape-me"
    assert client.get("/metrics").status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert response.status_code == 200
    text = response.content.decode()
    assert 'creator_jobs{status="queued"} 1.0' in text
    assert "creator_queue_depth 1.0" in text
    assert 'creator_comfyui_running{url="http://127.0.0.1:8188"} 1.0' in text
    assert 'creator_job_duration_ms{quantile="0.5",workflow="portrait_pro"} 300.0' in text
    assert 'creator_job_duration_ms{quantile="0.95",workflow="portrait_pro"} 1000.0' in text


def test_metrics_are_hidden_in_production_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.DEBUG = False
    assert client.get("/metrics").status_code == 404


def test_staff_see_the_operations_page_and_others_do_not(client, jobs):
    client.force_login(UserFactory(is_staff=True))
    page = client.get("/admin/operations/")
    assert page.status_code == 200
    assert "portrait_pro" in page.content.decode()
    client.force_login(UserFactory())
    assert client.get("/admin/operations/").status_code == 302  # to the admin login
