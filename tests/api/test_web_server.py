"""The production web server settings (gunicorn.conf.py) keep answering
while synchronous `generate` requests wait for their jobs."""

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.db import connection

from generations.models import Generation
from tests.factories import ApiKeyFactory
from tests.generations.conftest import png_bytes

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def web_server(transactional_db):
    """gunicorn with the repository's config, one worker process, on the
    test database; its jobs go to a queue no worker reads (they stay queued)."""
    port = _free_port()
    db_settings = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db_settings['USER']}@{db_settings['HOST'] or '127.0.0.1'}"
            f":{db_settings['PORT'] or 5432}/{db_settings['NAME']}"
        ),
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "4",
        "WEB_ACCESS_LOG": "",
        "CELERY_TASK_DEFAULT_QUEUE": f"nobody-{uuid.uuid4().hex[:8]}",
        "API_RATE_FREE": "10000/min",
        "API_JOB_RATE_FREE": "10000/hour",
    }
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "creator_site.wsgi",
         "-b", f"127.0.0.1:{port}"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/health", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert process.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.mark.django_db(transaction=True)
def test_waiting_generate_requests_leave_the_server_answering(alice, presets, web_server):
    key = ApiKeyFactory(user=alice).full_key
    answers: list[int] = []

    def generate():
        response = requests.post(
            f"{web_server}/api/v1/generate",
            data={"workflow": "portrait_pro"},
            files={"image": ("me.png", png_bytes(), "image/png")},
            headers={"Authorization": f"Bearer {key}", "Prefer": "wait=15"},
            timeout=60,
        )
        answers.append(response.status_code)

    waiters = [threading.Thread(target=generate) for _ in range(3)]
    for waiter in waiters:
        waiter.start()
    deadline = time.monotonic() + 20
    while Generation.objects.filter(user=alice).count() < 3:  # all three are waiting
        assert time.monotonic() < deadline, "the server took one request at a time"
        time.sleep(0.1)

    # One worker process, three requests waiting in it: it still answers.
    health = requests.get(f"{web_server}/health", timeout=10)
    me = requests.get(
        f"{web_server}/api/v1/me", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )

    assert health.status_code == 200 and me.status_code == 200
    assert all(w.is_alive() for w in waiters), "the waits ended before the server answered"
    for waiter in waiters:
        waiter.join(60)
    assert answers == [202, 202, 202]  # no worker: each wait ran out
