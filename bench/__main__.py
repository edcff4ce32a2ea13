"""`make bench`: how fast and how lean the engine is. Not a test: it prints.

(a) orchestration overhead per job: creation -> completed, minus the
    ComfyUI server's own execution time, p50/p95 over N sequential jobs;
(b) sustained jobs/second through one and through two worker processes;
(c) peak worker memory while processing a 50 MB image.

Runs against a scratch PostgreSQL database (`<name>_bench`), the Redis
broker and the development ComfyUI server with zero node delay, each as a
real process, exactly as in production.
"""

import io
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creator_site.settings")

JOBS_OVERHEAD = int(os.environ.get("BENCH_OVERHEAD_JOBS", 200))
JOBS_THROUGHPUT = int(os.environ.get("BENCH_THROUGHPUT_JOBS", 200))
BIG_IMAGE_MB = 50


def _bench_database_url() -> str:
    import environ

    base = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    if "postgresql" not in base["ENGINE"]:
        sys.exit("make bench needs DATABASE_URL to point at PostgreSQL.")
    name = base["NAME"] + "_bench"
    import psycopg

    with psycopg.connect(
        host=base["HOST"] or "127.0.0.1",
        port=base["PORT"] or 5432,
        user=base["USER"] or "postgres",
        password=base["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    user = base["USER"] or "postgres"
    return f"postgres://{user}@{base['HOST'] or '127.0.0.1'}:{base['PORT'] or 5432}/{name}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    # Linux: children get SIGKILL if the bench dies, leaving nothing behind.
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Proc:
    def __init__(self, args, env, log: Path, ready: bytes | None = None):
        self.log = log
        handle = open(log, "wb")  # noqa: SIM115  (lives as long as the process)
        self.process = subprocess.Popen(  # noqa: S603
            args, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
        if ready:
            deadline = time.monotonic() + 60
            while ready not in log.read_bytes():
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"{args[:4]} did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.1)

    def pids(self) -> list[int]:
        """The process and its children (Celery's pool)."""
        out = subprocess.run(  # noqa: S603
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)],  # noqa: S607
            capture_output=True,
            text=True,
        ).stdout
        return [self.process.pid] + [int(p) for p in out.split()]

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def _rss_kb(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except FileNotFoundError:
        return 0
    return 0


def _png(size, noise=False) -> bytes:
    from PIL import Image

    if noise:
        image = Image.frombytes("RGB", size, random.randbytes(size[0] * size[1] * 3))  # noqa: S311
    else:
        image = Image.new("RGB", size, (120, 90, 60))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    os.environ["DATABASE_URL"] = _bench_database_url()
    tmp = Path(tempfile.mkdtemp(prefix="creator-bench-"))
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    # A queue of the bench's own: no other worker on this broker takes its jobs.
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ["COMFYUI_URL"] = ""
    os.environ["PROGRESS_WRITE_INTERVAL"] = "0.5"
    os.environ["UPLOAD_MAX_BYTES"] = str(80 * 1024 * 1024)
    os.environ["UPLOAD_MAX_PIXELS"] = str(100_000_000)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from accounts.models import User
    from creator_site.celery import app as celery_app
    from generations.models import ComfyServer, Generation
    from generations.services import generation_create
    from workflows.models import Workflow

    env = dict(os.environ)
    port = _free_port()
    comfy = Proc(
        [sys.executable, "-m", "tests.standins.comfyui", "--port", str(port),
         "--data-dir", str(tmp / "comfy")],
        env, tmp / "comfy.log",
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    ComfyServer.objects.create(url=f"http://127.0.0.1:{port}", max_concurrent_jobs=64)
    user = User.objects.create_user(email=f"bench-{uuid.uuid4().hex[:6]}@example.com")
    # A scratch database: no quota or hourly limit, so billing does not
    # stop the bench (its own cost, one locked row per job, is measured).
    from billing.models import Plan, Subscription, Tier

    Subscription.objects.create(user=user, tier=Tier.STUDIO, status="active")
    Plan.objects.filter(tier=Tier.STUDIO).update(monthly_limit=10**9, jobs_per_hour=0)
    # portrait_pro on a 64×64 input: the server's own work is a few ms, so
    # what is measured is our orchestration, not Pillow.
    workflow = Workflow.objects.get(owner__isnull=True, slug="portrait_pro")
    big_workflow = Workflow.objects.get(owner__isnull=True, slug="cinematic")
    small = _png((64, 64))
    celery_app.control.purge()

    def start_workers(n: int) -> list[Proc]:
        return [
            Proc(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "creator_site",
                    "worker",
                    "--pool=prefork",
                    "--concurrency=1",
                    "--loglevel=WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-n",
                    f"bench{i}-{uuid.uuid4().hex[:4]}@127.0.0.1",
                ],
                env,
                tmp / f"worker{i}.log",
                ready=b"",
            )  # fmt: skip
            for i in range(n)
        ]

    def wait_all(ids, timeout=600):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = Generation.objects.filter(id__in=ids).exclude(
                status__in=[s.value for s in Generation.FINAL]
            )
            if not left.exists():
                return
            time.sleep(0.05)
        raise RuntimeError("jobs did not finish in time")

    def server_execution_ms(prompt_id) -> float:
        import requests

        entry = requests.get(f"http://127.0.0.1:{port}/history/{prompt_id}", timeout=5).json()
        messages = dict((m[0], m[1]) for m in entry[str(prompt_id)]["status"]["messages"])
        return messages["execution_success"]["timestamp"] - messages["execution_start"]["timestamp"]

    rows = []
    # (a) overhead, one job at a time through one worker.
    workers = start_workers(1)
    time.sleep(2)
    overheads = []
    for _ in range(JOBS_OVERHEAD):
        job = generation_create(user=user, workflow=workflow, image=small, image_name="b.png")
        wait_all([job.id])
        job.refresh_from_db()
        if job.status != Generation.Status.COMPLETED:
            raise RuntimeError(f"job failed: {job.error_message}")
        total_ms = (job.completed_at - job.created_at).total_seconds() * 1000
        overheads.append(total_ms - server_execution_ms(job.comfy_prompt_id))
    rows.append(("overhead p50 (ms)", f"{_percentile(overheads, 50):.0f}", "≤ 100"))
    rows.append(("overhead p95 (ms)", f"{_percentile(overheads, 95):.0f}", "≤ 250"))

    # (b) throughput with one, then two worker processes.
    for count in (1, 2):
        if count == 2:
            workers += start_workers(1)
            time.sleep(2)
        ids = []
        started = time.monotonic()
        for _ in range(JOBS_THROUGHPUT):
            ids.append(
                generation_create(user=user, workflow=workflow, image=small, image_name="b.png").id
            )
        wait_all(ids)
        elapsed = time.monotonic() - started
        failed = Generation.objects.filter(id__in=ids).exclude(status="completed").count()
        rate = JOBS_THROUGHPUT / elapsed
        target = "≥ 10" if count == 2 else ""
        rows.append((f"jobs/s, {count} worker process(es)", f"{rate:.1f}", target))
        if failed:
            rows.append((f"  failed jobs ({count} workers)", str(failed), "0"))
    for worker in workers:
        worker.stop()

    # (c) peak memory of one worker while it processes a 50 MB image.
    side = int(((BIG_IMAGE_MB * 1024 * 1024) / 3) ** 0.5)
    big = _png((side, side), noise=True)
    [worker] = start_workers(1)
    time.sleep(2)
    baseline = max(_rss_kb(pid) for pid in worker.pids())
    # cinematic: its output is 1920×1080 whatever the input, so the memory
    # measured is what the worker needs for the 50 MB input itself.
    job = generation_create(user=user, workflow=big_workflow, image=big, image_name="big.png")
    peak = baseline
    while not Generation.objects.filter(id=job.id, status__in=list(Generation.FINAL)).exists():
        peak = max([peak] + [_rss_kb(pid) for pid in worker.pids()])
        time.sleep(0.01)
    worker.stop()
    job.refresh_from_db()
    size_mb = len(big) / 1024 / 1024
    rows.append(("input image (MB)", f"{size_mb:.1f}", f"{side}×{side} PNG, job {job.status}"))
    rows.append(("worker RSS before (MB)", f"{baseline / 1024:.0f}", ""))
    rows.append(("worker RSS peak (MB)", f"{peak / 1024:.0f}", ""))
    grew = (peak - baseline) / 1024
    rows.append(("worker RSS growth (MB)", f"{grew:.0f}", f"≤ {3 * size_mb:.0f} (3× input)"))
    comfy.stop()
    print_rows(rows)


def print_rows(rows: list[tuple[str, str, str]]) -> None:
    """The (measure, value, target) table every bench prints."""
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure'.ljust(width)}  {'value':>8}  target")
    print("-" * (width + 30))
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value:>8}  {target}")


if __name__ == "__main__":
    main()
