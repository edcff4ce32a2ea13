"""The Python SDK against a live server, a real worker and the development
ComfyUI server: create, wait with progress, download; errors; webhooks."""

import json
import time

import pytest
from creator_sdk import (
    AuthenticationError,
    ConflictError,
    CreatorClient,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    WebhookVerificationError,
    sign_webhook,
    verify_webhook,
)
from PIL import Image

from generations import webhooks
from tests.api.conftest import key_client
from tests.generations.conftest import png_bytes
from tests.generations.factories import ComfyServerFactory


@pytest.fixture
def sdk(live_server, alice, generous_rate_limits):
    api_key = key_client(alice).api_key
    return CreatorClient(api_key.full_key, base_url=f"{live_server.url}/api/v1", max_retries=0)


@pytest.mark.django_db(transaction=True)
def test_it_runs_a_job_end_to_end(sdk, presets, comfy_dev_server, start_worker, tmp_path):
    ComfyServerFactory(url=comfy_dev_server.url)
    comfy_dev_server.set_knobs(node_delay=0.2)
    start_worker()
    seen = []

    job = sdk.create_job(
        workflow="portrait_pro", image=png_bytes(), filename="me.png", parameters={"softening": 0.5}
    )
    assert job.status == "queued"
    finished = sdk.wait(job.id, poll_interval=0.1, on_progress=seen.append)
    paths = sdk.download_outputs(finished, tmp_path / "out")

    assert finished.status == "completed" and finished.is_final
    assert finished.parameters["softening"] == 0.5
    assert seen[-1].status == "completed"
    assert len(seen) >= 2  # at least queued/processing before completed
    [path] = paths
    with Image.open(path) as image:
        assert image.size == (1536, 1536)
    assert [j.id for j in sdk.list_jobs(status="completed")] == [job.id]


@pytest.mark.django_db(transaction=True)
def test_generate_uploads_and_workflows(sdk, presets, comfy_dev_server, start_worker, tmp_path):
    ComfyServerFactory(url=comfy_dev_server.url)
    start_worker()
    image_path = tmp_path / "photo.png"
    image_path.write_bytes(png_bytes())

    workflows = {w["slug"]: w for w in sdk.list_workflows()}
    asset_id = sdk.upload(image_path)
    job = sdk.generate(workflow="cinematic", asset_id=asset_id, wait=60)

    assert "softening" in workflows["portrait_pro"]["parameters_schema"]["properties"]
    assert sdk.get_workflow("cinematic")["id"] == workflows["cinematic"]["id"]
    assert job.status == "completed"
    assert len(job.outputs) == 1
    assert sdk.me()["email"] == "alice@example.com"


@pytest.mark.django_db(transaction=True)
def test_it_raises_typed_errors(sdk, live_server, presets, alice):
    with pytest.raises(InvalidRequestError) as bad:
        sdk.create_job(workflow="portrait_pro", image=png_bytes(), parameters={"softening": "x"})
    assert bad.value.code == "invalid_parameters"
    assert "softening" in bad.value.details["parameters"]

    with pytest.raises(NotFoundError):
        sdk.get_job("00000000-0000-0000-0000-000000000000")

    job = sdk.create_job(workflow="portrait_pro", image=png_bytes(), idempotency_key="k-1")
    again = sdk.create_job(workflow="portrait_pro", image=png_bytes(), idempotency_key="k-1")
    assert again.id == job.id
    with pytest.raises(ConflictError):
        sdk.create_job(workflow="cinematic", image=png_bytes(), idempotency_key="k-1")

    assert sdk.cancel_job(job.id).status == "cancelled"
    with pytest.raises(ConflictError):
        sdk.cancel_job(job.id)

    reader = CreatorClient(
        key_client(alice, scopes=["jobs:read"]).api_key.full_key,
        base_url=f"{live_server.url}/api/v1",
    )
    with pytest.raises(PermissionDeniedError):
        reader.cancel_job(job.id)
    with pytest.raises(AuthenticationError):
        CreatorClient("sk_live_wrong", base_url=f"{live_server.url}/api/v1").me()


def test_webhook_signatures_verify_like_the_server_signs_them():
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = json.dumps({"type": "job.completed", "data": {"id": "x"}}).encode()
    now = int(time.time())
    signature = webhooks.webhook_sign(secret=secret, msg_id="msg_1", timestamp=now, body=body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": signature}

    assert signature == sign_webhook(secret=secret, msg_id="msg_1", timestamp=now, body=body)
    assert verify_webhook(secret, headers, body)["type"] == "job.completed"
    # Rotated secrets: any one of several signatures may match.
    rotated = {**headers, "webhook-signature": f"v1,bm90LXRoaXM= {signature}"}
    assert verify_webhook(secret, rotated, body)["data"]["id"] == "x"

    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, headers, body.replace(b"x", b"y"))
    with pytest.raises(WebhookVerificationError):
        verify_webhook("whsec_" + "b3RoZXIta2V5LW90aGVyLWtleQ==", headers, body)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, {**headers, "webhook-timestamp": str(now - 3600)}, body)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, {"webhook-id": "msg_1"}, body)
