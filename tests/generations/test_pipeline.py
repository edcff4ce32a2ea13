"""A job runs through the real pipeline: Redis broker, a Celery worker
process, PostgreSQL, storage and the development ComfyUI server."""

import time

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from generations.finishing import generation_cancel
from generations.models import Asset, Generation, GenerationEvent
from generations.pipeline import generations_reap_stale
from generations.services import generation_create
from tests.factories import UserFactory
from tests.generations.conftest import png_bytes, wait_for_status
from tests.generations.factories import ComfyServerFactory

Status = Generation.Status
FINAL = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)
pytestmark = pytest.mark.django_db(transaction=True)


def create_job(user, workflow, **kwargs):
    return generation_create(
        user=user, workflow=workflow, image=png_bytes(), image_name="me.png", **kwargs
    )


def transition_kinds(job):
    return list(
        GenerationEvent.objects.filter(generation=job)
        .exclude(to_status="")
        .values_list("kind", flat=True)
    )


@pytest.mark.parametrize(
    ("slug", "size"),
    [("portrait_pro", (1536, 1536)), ("product_glow", (1080, 1350)), ("cinematic", (1920, 1080))],
)
def test_each_preset_runs_to_a_stored_output_of_the_right_size(
    slug, size, presets, comfy_dev_server, start_worker
):
    ComfyServerFactory(url=comfy_dev_server.url)
    start_worker()
    job = create_job(UserFactory(), presets[slug])
    wait_for_status(job, FINAL)

    assert job.status == Status.COMPLETED, job.error_message
    assert job.progress == 100
    assert job.attempts == 1
    assert job.duration_ms is not None and job.completed_at >= job.started_at
    outputs = job.assets.filter(kind=Asset.Kind.OUTPUT)
    assert outputs.count() == 1
    output = outputs.get()
    assert output.file.name.startswith(f"outputs/{job.user_id}/{job.id}/")
    with default_storage.open(output.file.name) as stored, Image.open(stored) as image:
        assert image.size == size
    assert (output.width, output.height) == size
    assert job.assets.filter(kind=Asset.Kind.THUMBNAIL).count() == 1
    kinds = list(job.events.values_list("kind", flat=True))
    assert kinds == ["created", "started", "executed", "completed", "notified"]


def test_an_execution_error_fails_at_once_with_the_node(presets, comfy_dev_server, start_worker):
    ComfyServerFactory(url=comfy_dev_server.url)
    comfy_dev_server.set_knobs(fail_node="ImageBlend", fail_message="blend exploded")
    start_worker()
    job = create_job(UserFactory(), presets["portrait_pro"])
    wait_for_status(job, FINAL)

    assert job.status == Status.FAILED
    assert job.attempts == 1  # permanent: no retry
    assert job.error_code == "execution_error"
    assert job.error_details["node_type"] == "ImageBlend"
    assert job.error_details["node_id"]
    assert "blend exploded" in job.error_message
    assert not job.assets.filter(kind=Asset.Kind.OUTPUT).exists()
    assert job.refunded_at is not None
    assert job.events.filter(kind="refund").count() == 1


def test_a_validation_error_fails_at_once(presets, comfy_dev_server, start_worker):
    ComfyServerFactory(url=comfy_dev_server.url)
    user = UserFactory()
    job = create_job(user, presets["portrait_pro"])
    # A graph the server refuses (e.g. a server without this node type).
    Generation.objects.filter(id=job.id).update(
        workflow_snapshot={
            **job.workflow_snapshot,
            "99": {"class_type": "NoSuchNode", "inputs": {}},
        }
    )
    start_worker()
    wait_for_status(job, FINAL)
    assert job.status == Status.FAILED
    assert job.error_code == "validation_error"
    assert job.attempts == 1


def test_a_server_that_is_down_is_retried_on_another(presets, comfy_dev_server, start_worker):
    dead = ComfyServerFactory(url="http://127.0.0.1:9", weight=5)  # tried first, refused
    good = ComfyServerFactory(url=comfy_dev_server.url, weight=1)
    start_worker()
    job = create_job(UserFactory(), presets["portrait_pro"])
    wait_for_status(job, FINAL)

    assert job.status == Status.COMPLETED, job.error_message
    assert job.attempts == 2
    assert job.server_id == good.id
    assert dead.id in job.error_details.get("failed_servers", [])
    assert transition_kinds(job) == ["created", "started", "retry", "started", "completed"]


def test_all_servers_down_fails_after_three_attempts(presets, start_worker):
    ComfyServerFactory(url="http://127.0.0.1:9")
    start_worker()
    job = create_job(UserFactory(), presets["portrait_pro"])
    wait_for_status(job, FINAL)

    assert job.status == Status.FAILED
    assert job.attempts == 3
    assert job.error_code == "server_unavailable"
    assert "after 3 attempts" in job.error_message
    assert job.events.filter(kind="refund").count() == 1


def test_a_dropped_websocket_does_not_lose_the_result(presets, comfy_dev_server, start_worker):
    ComfyServerFactory(url=comfy_dev_server.url)
    comfy_dev_server.set_knobs(drop_ws_after=6, node_delay=0.2)
    start_worker()
    job = create_job(UserFactory(), presets["portrait_pro"])
    wait_for_status(job, FINAL)
    assert job.status == Status.COMPLETED, job.error_message
    assert job.attempts == 1
    assert job.assets.filter(kind=Asset.Kind.OUTPUT).count() == 1


def test_a_killed_worker_leaves_a_job_that_completes_once(presets, comfy_dev_server, start_worker):
    ComfyServerFactory(url=comfy_dev_server.url)
    comfy_dev_server.set_knobs(node_delay=0.5)
    worker = start_worker(GENERATION_STALE_SECONDS=2)
    job = create_job(UserFactory(), presets["portrait_pro"])
    wait_for_status(job, [Status.PROCESSING])
    while job.progress < 20:
        time.sleep(0.05)
        job.refresh_from_db()
    worker.kill()  # SIGKILL: no chance to acknowledge or clean up
    comfy_dev_server.set_knobs(node_delay=0)

    start_worker(GENERATION_STALE_SECONDS=2)
    deadline = time.monotonic() + 30
    while job.status != Status.COMPLETED and time.monotonic() < deadline:
        time.sleep(1)
        with pytest.MonkeyPatch.context() as patch:
            from django.conf import settings

            patch.setattr(settings, "GENERATION_STALE_SECONDS", 2)
            generations_reap_stale()  # what beat runs every minute
        job.refresh_from_db()

    assert job.status == Status.COMPLETED, job.error_message
    assert job.attempts == 2
    assert job.events.filter(kind="completed").count() == 1
    assert job.events.filter(kind="requeued").count() == 1
    assert job.assets.filter(kind=Asset.Kind.OUTPUT).count() == 1


def test_a_cancelled_queued_job_never_runs(presets, comfy_dev_server, start_worker):
    ComfyServerFactory(url=comfy_dev_server.url)
    job = create_job(UserFactory(), presets["portrait_pro"])  # queued, no worker yet
    assert generation_cancel(generation=job)
    start_worker()
    time.sleep(2)  # the worker receives the message and must leave the job alone
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert not job.events.filter(kind="started").exists()
    assert comfy_dev_server.history == {}
    assert job.events.filter(kind="refund").count() == 1


def test_a_running_job_is_interrupted_on_cancel(presets, comfy_dev_server, start_worker):
    ComfyServerFactory(url=comfy_dev_server.url)
    comfy_dev_server.set_knobs(node_delay=0.5)
    start_worker()
    job = create_job(UserFactory(), presets["portrait_pro"])
    wait_for_status(job, [Status.PROCESSING])
    while job.progress < 15:
        time.sleep(0.05)
        job.refresh_from_db()
    assert generation_cancel(generation=job)
    time.sleep(2)
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    entry = comfy_dev_server.history[str(job.comfy_prompt_id)]
    assert entry["status"]["status_str"] == "error"  # interrupted on the server
    assert not job.assets.filter(kind=Asset.Kind.OUTPUT).exists()
    assert not generation_cancel(generation=job)  # already final


def test_a_fully_cached_resubmission_still_stores_an_output(
    presets, comfy_dev_server, start_worker
):
    ComfyServerFactory(url=comfy_dev_server.url)
    start_worker()
    user = UserFactory()
    first = create_job(user, presets["portrait_pro"])
    wait_for_status(first, FINAL)
    assert first.status == Status.COMPLETED

    # The same graph again (same input file on the server): ComfyUI runs
    # nothing, lists every node as cached and replays the old output name.
    second = create_job(user, presets["portrait_pro"])
    Generation.objects.filter(id=second.id).update(workflow_snapshot=first.workflow_snapshot)
    wait_for_status(second, FINAL)

    assert second.status == Status.COMPLETED, second.error_message
    executed = second.events.get(kind="executed")
    assert sorted(executed.data["cached_nodes"]) == sorted(first.workflow_snapshot)
    [output] = second.assets.filter(kind=Asset.Kind.OUTPUT)
    assert (output.width, output.height) == (1536, 1536)
    assert output.file.name.startswith(f"outputs/{user.id}/{second.id}/")
    first_output = first.assets.get(kind=Asset.Kind.OUTPUT)
    assert output.sha256 == first_output.sha256
