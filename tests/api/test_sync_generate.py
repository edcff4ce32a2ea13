"""`POST /api/v1/generate` waits (bounded) for the result: 200 with outputs
for a fast job, 202 with the job for a slow one. Real worker and ComfyUI."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generations.models import Generation
from tests.generations.conftest import png_bytes
from tests.generations.factories import ComfyServerFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("generous_rate_limits"),
]


def generate(client, wait, **fields):
    body = {
        "workflow": "portrait_pro",
        "image": SimpleUploadedFile("me.png", png_bytes(), content_type="image/png"),
        **fields,
    }
    return client.post("/api/v1/generate", body, format="multipart", HTTP_PREFER=f"wait={wait}")


def test_a_fast_job_answers_200_with_its_outputs(
    alice_api, presets, comfy_dev_server, start_worker
):
    ComfyServerFactory(url=comfy_dev_server.url)
    start_worker()

    response = generate(alice_api, wait=60)

    assert response.status_code == 200, response.content
    assert response["Preference-Applied"] == "wait=60"
    job = response.json()
    assert job["status"] == "completed" and job["progress"] == 100
    [output] = job["outputs"]
    assert output["url"].startswith("http://testserver/")
    assert (output["width"], output["height"], output["content_type"]) == (1536, 1536, "image/png")
    download = alice_api.get(output["url"].removeprefix("http://testserver"))
    assert download.status_code == 200
    import io

    with Image.open(io.BytesIO(b"".join(download.streaming_content))) as image:
        assert image.size == (1536, 1536)


def test_a_slow_job_answers_202_after_the_wait(alice_api, presets, comfy_dev_server, start_worker):
    ComfyServerFactory(url=comfy_dev_server.url)
    comfy_dev_server.set_knobs(node_delay=1.0)
    start_worker()

    started = time.monotonic()
    response = generate(alice_api, wait=1)
    elapsed = time.monotonic() - started

    assert response.status_code == 202, response.content
    assert response["Preference-Applied"] == "wait=1"
    job = response.json()
    assert job["status"] in ("queued", "processing")
    assert response["Location"].endswith(f"/api/v1/jobs/{job['id']}")
    assert elapsed < 10
    # The job goes on, and polling its Location finds it finished.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        polled = alice_api.get(f"/api/v1/jobs/{job['id']}").json()
        if polled["status"] == "completed":
            break
        time.sleep(0.3)
    assert polled["status"] == "completed"
    assert len(polled["outputs"]) == 1


def test_the_wait_is_capped(alice_api, presets, settings):
    settings.API_SYNC_WAIT_MAX = 1
    # No worker: the job stays queued, so the answer comes when the cap runs out.

    started = time.monotonic()
    response = generate(alice_api, wait=3600)

    assert response.status_code == 202
    assert response["Preference-Applied"] == "wait=1"
    assert time.monotonic() - started < 5
    assert Generation.objects.get().status == Generation.Status.QUEUED


def test_a_job_cancelled_while_waiting_ends_the_wait(alice, alice_api, presets, settings):
    import threading

    from generations.finishing import generation_cancel

    def cancel_soon():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            job = Generation.objects.filter(user=alice).first()
            if job is not None:
                time.sleep(0.3)
                generation_cancel(generation=job)
                return
            time.sleep(0.05)

    canceller = threading.Thread(target=cancel_soon)
    canceller.start()
    started = time.monotonic()
    response = generate(alice_api, wait=30)
    canceller.join()

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert time.monotonic() - started < 15


def test_the_wait_holds_no_database_connection(alice, alice_api, presets):
    import threading

    from django.db import connection

    def backends() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return cursor.fetchone()[0]

    before = backends()
    results = []

    def request():
        # Its own thread, so its own database connection, like a web worker.
        try:
            results.append(generate(alice_api, wait=3))
        finally:
            connection.close()

    waiter = threading.Thread(target=request)
    waiter.start()
    deadline = time.monotonic() + 10
    while not Generation.objects.filter(user=alice).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # well inside the 3 s wait
    during = backends()
    waiter.join()

    assert results[0].status_code == 202
    # The waiting request gave its connection back (other tests' processes
    # may still be closing theirs, so the count can only be lower).
    assert during <= before
