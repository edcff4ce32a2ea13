"""Fixtures for pipeline tests: a development ComfyUI server and a real
Celery worker process on the test database and the Redis broker."""

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from PIL import Image

from creator_site.celery import app as celery_app

REPO = Path(__file__).resolve().parents[2]


def _die_with_parent() -> None:
    # Linux: the worker gets SIGKILL when pytest dies, so an interrupted run
    # leaves no worker behind to take a later run's jobs.
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class WorkerProcess:
    """`celery worker` in a subprocess, so a test can SIGKILL it like an OOM
    killer or a lost machine would."""

    def __init__(self, env: dict, log_path: Path):
        self.env = env
        self.log_path = log_path
        self.name = f"test-{uuid.uuid4().hex[:8]}@127.0.0.1"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "WorkerProcess":
        log = open(self.log_path, "ab")  # noqa: SIM115  (closed with the process)
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable, "-m", "celery", "-A", "creator_site", "worker",
                "--pool=prefork", "--concurrency=1", "--loglevel=INFO",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "-n", self.name,
            ],
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log_path.read_bytes():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("Celery worker did not start:\n" + self.log_path.read_text()[-3000:])

    def kill(self) -> None:
        """SIGKILL the whole worker (parent and pool children) at once."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker_env(tmp_path):
    return {
        **os.environ,
        "DATABASE_URL": "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(
            USER=connection.settings_dict["USER"] or "postgres",
            HOST=connection.settings_dict["HOST"] or "127.0.0.1",
            PORT=connection.settings_dict["PORT"] or 5432,
            NAME=connection.settings_dict["NAME"],
        ),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": celery_app.conf.task_default_queue,
        "COMFYUI_URL": "",
        "GENERATION_RETRY_BACKOFF": "0.2,0.2",
        "PROGRESS_WRITE_INTERVAL": "0.1",
        "COMFYUI_SILENCE_TIMEOUT": "5",
        "COMFYUI_TOTAL_TIMEOUT": "60",
    }


@pytest.fixture
def start_worker(worker_env, tmp_path):
    """Start (and later stop) Celery workers; extra env per call."""
    workers = []

    def start(**env) -> WorkerProcess:
        merged = {**worker_env, **{k: str(v) for k, v in env.items()}}
        worker = WorkerProcess(merged, tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker.start()

    # Messages left by earlier tests must not reach this test's workers.
    celery_app.control.purge()
    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def presets(transactional_db):
    # Transactional tests empty every table between tests, presets included.
    from workflows.models import Workflow
    from workflows.preset_sync import presets_sync

    presets_sync()
    return {w.slug: w for w in Workflow.objects.filter(owner__isnull=True)}


def png_bytes(size=(1024, 1024), color=(180, 120, 90)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def wait_for_status(generation, statuses, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        generation.refresh_from_db()
        if generation.status in statuses:
            return generation
        time.sleep(0.1)
    raise AssertionError(
        f"job stayed {generation.status!r} ({generation.progress_message!r}), "
        f"events: {list(generation.events.values_list('kind', flat=True))}"
    )
