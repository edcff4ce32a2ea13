"""`python -m bench.api`: what the public API costs. Not a test: it prints.

(a) latency p50/p95 of the common calls through a real gunicorn server
    (GET a job, list jobs, list workflows, create a job from a small upload);
(b) how late a synchronous `POST /generate` answers after its job
    completed (the cost of waiting on the cache instead of the database);
(c) database connections held while many `generate` requests wait on
    slow jobs (should stay flat: waiting requests give theirs back);
(d) job-create requests/second and p50/p99 latency under 20 concurrent
    clients, side by side with a minimal Django view (/health) on the same
    gunicorn; target: job creation at least 30% of the minimal view's rate.
    The cheapest authenticated API read (GET /me) is measured in between, to
    show how much of the gap is the API's floor rather than job creation.

Same scratch database, broker and development ComfyUI server as `make bench`.
"""

import base64
import os
import statistics
import sys
import threading
import time
import uuid

from bench.__main__ import (
    Proc,
    _bench_database_url,
    _free_port,
    _percentile,
    _png,
    print_rows,
)

N = int(os.environ.get("BENCH_API_REQUESTS", 200))
N_GENERATE = int(os.environ.get("BENCH_API_GENERATE", 30))
N_WAITERS = int(os.environ.get("BENCH_API_WAITERS", 8))
LOAD_CLIENTS = int(os.environ.get("BENCH_API_CLIENTS", 20))
LOAD_SECONDS = float(os.environ.get("BENCH_API_SECONDS", 10))


def _load(make_session, call, *, clients: int, seconds: float) -> tuple[float, list[float], int]:
    """`clients` threads call `call(session)` back to back for `seconds`.
    Returns (successful requests per second, latencies in ms, non-2xx count)."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    sessions = [make_session() for _ in range(clients)]
    deadline = time.monotonic() + seconds

    def run(session) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = call(session)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if 200 <= response.status_code < 300:
                    latencies.append(elapsed)
                else:
                    failures[0] += 1

    threads = [threading.Thread(target=run, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / seconds, latencies, failures[0]


def _wait_for_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _timed(call, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code >= 400:
            raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
    return samples


def main() -> None:
    import tempfile
    from pathlib import Path

    os.environ["DATABASE_URL"] = _bench_database_url()
    tmp = Path(tempfile.mkdtemp(prefix="creator-bench-api-"))
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ["COMFYUI_URL"] = ""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creator_site.settings")
    # The bench measures the server, not the throttles.
    os.environ["API_RATE_STUDIO"] = "10000000/min"
    os.environ["API_JOB_RATE_STUDIO"] = "10000000/hour"

    import django

    django.setup()
    import requests
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from accounts.models import User
    from accounts.services import api_key_create
    from billing.models import Subscription, Tier
    from creator_site.celery import app as celery_app
    from generations.models import ComfyServer, Generation

    env = dict(os.environ)
    # The web server runs as in production (DEBUG off: no per-query SQL
    # logging, no debug pages), behind no TLS proxy here.
    web_env = {
        **env,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "TOKEN_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "WEB_ACCESS_LOG": "",
    }
    comfy_port, web_port = _free_port(), _free_port()
    comfy = Proc(
        [sys.executable, "-m", "tests.standins.comfyui", "--port", str(comfy_port),
         "--data-dir", str(tmp / "comfy")],
        env, tmp / "comfy.log",
    )  # fmt: skip
    _wait_for_port(comfy_port)
    web = Proc(
        # The production settings (gunicorn.conf.py: gthread, 8 threads),
        # two processes for this machine's two cores.
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "creator_site.wsgi",
         "-b", f"127.0.0.1:{web_port}", "--workers", "2"],
        web_env, tmp / "web.log",
    )  # fmt: skip
    _wait_for_port(web_port)
    ComfyServer.objects.create(url=f"http://127.0.0.1:{comfy_port}", max_concurrent_jobs=64)
    user = User.objects.create_user(email=f"bench-{uuid.uuid4().hex[:6]}@example.com")
    # STUDIO limits, and a key per measure: the bench must not meet the throttles.
    Subscription.objects.create(user=user, tier=Tier.STUDIO, status="active")
    # ... and no quota or hourly limit (a scratch database).
    from billing.models import Plan

    Plan.objects.filter(tier=Tier.STUDIO).update(monthly_limit=10**9, jobs_per_hour=0)
    base = f"http://127.0.0.1:{web_port}/api/v1"

    def session() -> requests.Session:
        key = api_key_create(user=user, name="bench", scopes=["generate", "jobs:read",
                             "jobs:write", "workflows:read"]).full_key  # fmt: skip
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {key}"
        return s

    small = _png((64, 64))
    celery_app.control.purge()
    rows = []

    # (a) latency of common calls (no worker: jobs stay queued, which is
    # what a busy system looks like to the API).
    create = session()
    created = _timed(
        lambda: create.post(
            f"{base}/jobs", data={"workflow": "portrait_pro"}, files={"image": ("b.png", small)}
        ),
        N,
    )
    job_id = Generation.objects.filter(user=user).values_list("id", flat=True).first()
    read = session()
    got = _timed(lambda: read.get(f"{base}/jobs/{job_id}"), N)
    listing = session()
    listed = _timed(lambda: listing.get(f"{base}/jobs", params={"page_size": 20}), N)
    flows = session()
    workflows = _timed(lambda: flows.get(f"{base}/workflows"), N)
    for name, samples in (
        ("GET /jobs/{id}", got),
        ("GET /jobs (20 per page)", listed),
        ("GET /workflows", workflows),
        ("POST /jobs (64×64 upload)", created),
    ):
        rows.append((f"{name} p50 (ms)", f"{_percentile(samples, 50):.1f}", ""))
        rows.append((f"{name} p95 (ms)", f"{_percentile(samples, 95):.1f}", ""))
    Generation.objects.filter(user=user).update(status=Generation.Status.CANCELLED)
    celery_app.control.purge()

    # (b) how late /generate answers after its job completed.
    worker = Proc(
        [sys.executable, "-m", "celery", "-A", "creator_site", "worker", "--pool=prefork",
         "--concurrency=4", "--loglevel=WARNING", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-n", f"benchapi-{uuid.uuid4().hex[:4]}@127.0.0.1"],
        env, tmp / "worker.log",
    )  # fmt: skip
    time.sleep(3)
    generate = session()
    lateness = []
    for _ in range(N_GENERATE):
        response = generate.post(
            f"{base}/generate",
            data={"workflow": "portrait_pro"},
            files={"image": ("b.png", small)},
            headers={"Prefer": "wait=60"},
        )
        answered = time.time()
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
        job = Generation.objects.get(id=response.json()["id"])
        lateness.append((answered - job.completed_at.timestamp()) * 1000)
    for q in (50, 95):
        rows.append(
            (f"/generate answer after completion p{q} (ms)", f"{_percentile(lateness, q):.0f}", "")
        )

    # (c) connections while N_WAITERS requests wait on slow jobs.
    requests.post(
        f"http://127.0.0.1:{comfy_port}/__standin__/knobs", json={"node_delay": 1.0}, timeout=5
    )

    def backends() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return cursor.fetchone()[0]

    idle = backends()
    waiters = [session() for _ in range(N_WAITERS)]
    threads = [
        threading.Thread(
            target=lambda s=s: s.post(
                f"{base}/generate",
                data={"workflow": "portrait_pro"},
                files={"image": ("b.png", small)},
                headers={"Prefer": "wait=4"},
            )
        )
        for s in waiters
    ]
    for thread in threads:
        thread.start()
    time.sleep(2)
    samples = []
    for _ in range(10):
        samples.append(backends())
        time.sleep(0.1)
    for thread in threads:
        thread.join()
    rows.append(("DB connections before the waiters", str(idle), ""))
    rows.append(
        (
            f"DB connections while {N_WAITERS} /generate wait",
            f"{statistics.median(samples):.0f}",
            f"< {idle + N_WAITERS} (not one per waiter)",
        )
    )
    worker.stop()

    # (d) throughput under concurrent clients: job creation vs a minimal view.
    def minimal_session() -> requests.Session:
        return requests.Session()

    health_rate, health_ms, health_bad = _load(
        minimal_session,
        lambda s: s.get(f"http://127.0.0.1:{web_port}/health"),
        clients=LOAD_CLIENTS,
        seconds=LOAD_SECONDS,
    )
    # A reference in between: the cheapest authenticated API read (key
    # lookup, rate limits, the account's plan and usage), no writes.
    me_rate, me_ms, me_bad = _load(
        session,
        lambda s: s.get(f"{base}/me"),
        clients=LOAD_CLIENTS,
        seconds=LOAD_SECONDS,
    )
    create_rate, create_ms, create_bad = _load(
        session,
        lambda s: s.post(
            f"{base}/jobs", data={"workflow": "portrait_pro"}, files={"image": ("b.png", small)}
        ),
        clients=LOAD_CLIENTS,
        seconds=LOAD_SECONDS,
    )
    celery_app.control.purge()  # the queued jobs were only for measuring
    for name, rate, samples, bad in (
        ("minimal view GET /health", health_rate, health_ms, health_bad),
        ("GET /me (an authenticated read)", me_rate, me_ms, me_bad),
        ("POST /jobs", create_rate, create_ms, create_bad),
    ):
        rows.append((f"{name}: req/s, {LOAD_CLIENTS} clients", f"{rate:.1f}", ""))
        rows.append((f"{name}: p50 (ms)", f"{_percentile(samples, 50):.1f}", ""))
        rows.append((f"{name}: p99 (ms)", f"{_percentile(samples, 99):.1f}", ""))
        if bad:
            rows.append((f"{name}: non-2xx answers", str(bad), "0"))
    rows.append(
        ("authenticated read / minimal view", f"{100 * me_rate / max(health_rate, 1e-9):.0f}%", "")
    )
    rows.append(
        (
            "job creation / minimal view",
            f"{100 * create_rate / max(health_rate, 1e-9):.0f}%",
            "≥ 30%",
        )
    )
    web.stop()
    comfy.stop()
    print_rows(rows)


if __name__ == "__main__":
    main()
