"""`python -m bench.inbox`: how soon a file dropped in the local inbox is
taken and comes back processed. Not a test: it prints.

For each mode, files are dropped one at a time (a random pause before each,
so drops fall anywhere between beat's ticks) and timed:

    drop -> detected   the file's SourceFile row is written
    drop -> result     the processed image is in inbox/processed/

Modes: `beat` (beat's polls only, as before the watcher existed) and
`watcher` (`manage.py inbox_watch` beside beat, as `make run` runs it).
Everything is a real process, as `make run` starts it: the development
ComfyUI server, one `celery worker`, `celery beat` with the schedule the
migrations create, and the watcher. Same scratch database and Redis broker
as `make bench`.

BENCH_INBOX_DROPS (default 20) sets the drops per mode; BENCH_INBOX_MODES
(default "beat,watcher"; just "beat" where there is no watcher yet) the modes.
"""

import io
import os
import random
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.__main__ import REPO, Proc, _bench_database_url, _free_port, _percentile, print_rows

DROPS = int(os.environ.get("BENCH_INBOX_DROPS", 20))


def _png(seed: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (256, 256), (seed % 256, 90, 60)).save(out, format="PNG")
    return out.getvalue()


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    os.environ["DATABASE_URL"] = _bench_database_url()
    tmp = Path(tempfile.mkdtemp(prefix="creator-bench-inbox-"))
    inbox = tmp / "inbox"
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ["INBOX_DIR"] = str(inbox)
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ["COMFYUI_URL"] = ""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creator_site.settings")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from accounts.models import User
    from billing.models import Plan, Subscription, Tier
    from creator_site.celery import app as celery_app
    from drive import services
    from drive.models import SourceFile
    from generations.models import ComfyServer

    modes = os.environ.get("BENCH_INBOX_MODES", "beat,watcher").split(",")
    env = dict(os.environ)
    port = _free_port()
    procs = [
        Proc(
            [sys.executable, "-m", "tests.standins.comfyui", "--port", str(port),
             "--data-dir", str(tmp / "comfy")],
            env, tmp / "comfy.log",
        )
    ]  # fmt: skip
    _wait_port(port)
    ComfyServer.objects.create(url=f"http://127.0.0.1:{port}", max_concurrent_jobs=8)
    user = User.objects.create_user(email=f"inbox-bench-{uuid.uuid4().hex[:6]}@example.com")
    Subscription.objects.create(user=user, tier=Tier.STUDIO, status="active")
    Plan.objects.filter(tier=Tier.STUDIO).update(monthly_limit=10**9, jobs_per_hour=0)
    connection = services.inbox_connect(user=user, path=inbox)
    celery_app.control.purge()

    rows = [
        ("poll period / stable time (s)",
         f"{settings.INBOX_POLL_SECONDS:g} / {settings.INBOX_STABLE_SECONDS:g}", ""),
    ]  # fmt: skip
    try:
        procs.append(
            Proc(
                [sys.executable, "-m", "celery", "-A", "creator_site", "worker",
                 "--pool=prefork", "--concurrency=2", "--loglevel=INFO", "--without-gossip",
                 "--without-mingle", "--without-heartbeat",
                 "-n", f"inboxbench-{uuid.uuid4().hex[:4]}@127.0.0.1"],
                env, tmp / "worker.log", ready=b" ready.",
            )
        )  # fmt: skip
        procs.append(
            Proc(
                [sys.executable, "-m", "celery", "-A", "creator_site", "beat",
                 "--loglevel=INFO"],
                env, tmp / "beat.log", ready=b"Starting",
            )
        )  # fmt: skip
        n = 0
        for mode in modes:
            if mode == "watcher":
                procs.append(
                    Proc(
                        [sys.executable, "manage.py", "inbox_watch"],
                        env, tmp / "watcher.log", ready=b"Inbox watcher ready",
                    )
                )  # fmt: skip
            detected, result = [], []
            for _ in range(DROPS):
                n += 1
                name = f"drop-{n:03}.png"
                time.sleep(random.uniform(0, 3))  # noqa: S311  (anywhere between beat's ticks)
                dropped = time.time()
                (inbox / name).write_bytes(_png(n))
                deadline = time.monotonic() + 120
                while True:
                    row = SourceFile.objects.filter(connection=connection, name=name).first()
                    if row is not None and row.delivered_at is not None:
                        break
                    if row is not None and row.status in ("failed", "skipped"):
                        raise RuntimeError(f"{name}: {row.status}: {row.message}")
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{name} was never processed ({mode}); see {tmp}")
                    time.sleep(0.02)
                assert (inbox / "processed" / row.output_name).exists()
                detected.append(row.created_at.timestamp() - dropped)
                result.append(row.delivered_at.timestamp() - dropped)
            for label, values in (("detected", detected), ("result", result)):
                rows.append(
                    (
                        f"{mode}: drop -> {label} p50 / p95 (s)",
                        f"{_percentile(values, 50):.2f} / {_percentile(values, 95):.2f}",
                        "",
                    )
                )
    finally:
        for proc in reversed(procs):
            proc.stop()
    print(f"\nLocal inbox, {DROPS} drops per mode ({REPO.name})")
    print_rows(rows)


if __name__ == "__main__":
    main()
