import pytest


@pytest.mark.django_db
def test_health_answers_without_auth(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_when_database_broker_and_comfyui_are_up(client, settings, comfy_dev_server):
    settings.COMFYUI_URL = comfy_dev_server.url
    response = client.get("/ready")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["comfyui"] == {"ok": True, "detail": comfy_dev_server.url}


@pytest.mark.django_db
def test_ready_is_503_when_no_comfyui_server_answers(client, settings):
    settings.COMFYUI_URL = "http://127.0.0.1:9"
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["comfyui"]["ok"] is False
    assert response.json()["checks"]["broker"]["ok"] is True


@pytest.mark.django_db
def test_ready_is_503_when_broker_is_unreachable(client, settings):
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
