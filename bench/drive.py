"""`python -m bench.drive`: what watching idle folders costs. Not a test: it prints.

(a) idle polls per second through one worker process (concurrency 1) for
    1,000 Drive connections against the Drive stand-in, enqueued by
    `polls_enqueue_due` exactly as beat does;
(b) database queries and Drive API calls per idle poll.

Targets: at least 200 idle polls/s; at most 3 queries and 1 API call per
idle poll. Same scratch database and Redis broker as `make bench`; the Drive
stand-in runs in this process, the worker as a real `celery worker`.
"""

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.__main__ import REPO, Proc, _bench_database_url

N = int(os.environ.get("BENCH_DRIVE_CONNECTIONS", 1000))
ROUNDS = int(os.environ.get("BENCH_DRIVE_ROUNDS", 3))
SAMPLE = 100
KEY = "bJ2r0x9Qm4Vt8Lk1Zp6Yc3Hn5Wd7Fs0Ga2Eu4Ri6To8="

SETTINGS = """
from creator_site.settings import *  # noqa: F403

DRIVE_API_ENDPOINT = "{url}/"
GOOGLE_TOKEN_URI = "{url}/token"
GOOGLE_REVOKE_URI = "{url}/revoke"
GOOGLE_CLIENT_ID = "{client_id}"
GOOGLE_CLIENT_SECRET = "{client_secret}"
TOKEN_ENCRYPTION_KEYS = "{key}"
"""


def main() -> None:
    from tests.standins.drive import DriveStandIn

    os.environ["DATABASE_URL"] = _bench_database_url()
    tmp = Path(tempfile.mkdtemp(prefix="creator-bench-drive-"))
    standin = DriveStandIn().start()
    # The worker reads the stand-in's address from settings, like production
    # reads Google's: a settings module that extends the real one.
    (tmp / "bench_drive_settings.py").write_text(
        SETTINGS.format(
            url=standin.url,
            client_id=standin.client_id,
            client_secret=standin.client_secret,
            key=KEY,
        )
    )
    sys.path.insert(0, str(tmp))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench_drive_settings"
    os.environ["PYTHONPATH"] = os.pathsep.join([str(tmp), str(REPO)])

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    call_command("migrate", verbosity=0)

    from accounts.models import User
    from creator_site.celery import app as celery_app
    from drive import services
    from drive.drive_client import DriveClient
    from drive.models import PollRecord, SourceConnection

    print(f"Setting up {N} Drive connections on the stand-in …", flush=True)
    far = timezone.now() + timezone.timedelta(days=1)
    users = User.objects.bulk_create(
        [User(email=f"drive-bench-{uuid.uuid4().hex[:10]}@example.com") for _ in range(N)]
    )
    rows = []
    for user in users:
        grant = standin.grant(user.email)
        folder = standin.add_folder("Photos", account=user.email)
        output = standin.add_folder("Processed", parent=folder, account=user.email)
        row = SourceConnection(
            user=user,
            kind="drive",
            folder_id=folder,
            folder_name="Photos",
            output_folder_id=output,
            next_poll_at=far,
            last_reconciled_at=far,  # measure change-feed polls, not hourly reconciliations
            watch_started_at=timezone.now(),
        )
        row.access_token = grant["access_token"]
        row.refresh_token = grant["refresh_token"]
        rows.append(row)
    client = DriveClient(
        access_token=rows[0].access_token,
        refresh_token="",
        expiry=None,
        client_id="",
        client_secret="",
        api_root=standin.url + "/",
    )
    cursor = client.start_page_token()  # after all setup changes: every poll is idle
    for row in rows:
        row.cursor = cursor
    SourceConnection.objects.bulk_create(rows, batch_size=500)
    ids = list(SourceConnection.objects.values_list("id", flat=True))

    # (b) queries and API calls per idle poll, measured in this process.
    queries, latencies = [], []
    profile = None
    if os.environ.get("BENCH_DRIVE_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    for connection_id in ids[:SAMPLE]:
        claim = services.connection_claim(connection_id=connection_id)
        with CaptureQueriesContext(db) as captured:
            started = time.perf_counter()
            services.connection_poll(connection_id=connection_id, claim=claim)
            latencies.append(time.perf_counter() - started)
        queries.append(len(captured))
    if profile is not None:
        import pstats

        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    # … and per idle poll when a worker polls a chunk, as beat enqueues them.
    chunk = ids[SAMPLE : SAMPLE + 20]
    claim = uuid.uuid4()
    SourceConnection.objects.filter(id__in=chunk).update(
        poll_claim=claim, poll_claimed_until=timezone.now() + timezone.timedelta(minutes=5)
    )
    with CaptureQueriesContext(db) as captured:
        services.connections_poll(connection_ids=chunk, claim=claim)
    chunk_queries = len(captured) / len(chunk)
    api_calls = [r.api_calls for r in PollRecord.objects.filter(connection_id__in=ids[:SAMPLE])]
    assert all(r.files_found == 0 for r in PollRecord.objects.all()), "a poll was not idle"

    # (a) idle polls/s through one worker process.
    celery_app.control.purge()
    worker = Proc(
        [sys.executable, "-m", "celery", "-A", "creator_site", "worker", "--pool=prefork",
         "--concurrency=1", "--loglevel=WARNING", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-n", f"drivebench-{uuid.uuid4().hex[:4]}@127.0.0.1"],
        dict(os.environ),
        tmp / "worker.log",
        ready=b"",
    )  # fmt: skip
    rates = []
    try:
        for round_number in range(ROUNDS + 1):  # round 0 warms the worker up
            before = PollRecord.objects.count()
            SourceConnection.objects.update(next_poll_at=timezone.now())
            started = time.perf_counter()
            enqueued = services.polls_enqueue_due(limit=N)
            deadline = time.monotonic() + 300
            while PollRecord.objects.count() < before + enqueued:
                if time.monotonic() > deadline:
                    raise RuntimeError("polls did not finish:\n" + worker.log.read_text()[-2000:])
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            if round_number:
                rates.append(enqueued / elapsed)
    finally:
        worker.stop()
        standin.stop()

    not_idle = (
        PollRecord.objects.exclude(status="ok").count()
        + PollRecord.objects.filter(files_found__gt=0).count()
    )
    print()
    print(f"Drive: {N} connections, {ROUNDS} rounds, one worker (concurrency 1)")
    print(
        f"  idle polls/s            median {statistics.median(rates):7.1f}   "
        f"min {min(rates):7.1f}   (target ≥ 200)"
    )
    print(
        f"  DB queries / idle poll  alone: mean {statistics.mean(queries):5.2f}"
        f"   max {max(queries)}   in a chunk of 20: {chunk_queries:4.2f}   (target ≤ 3)"
    )
    print(
        f"  API calls / idle poll   mean {statistics.mean(api_calls):5.2f}   max {max(api_calls)}"
        "   (target 1)"
    )
    print(
        f"  one idle poll alone, in this process: median "
        f"{statistics.median(latencies) * 1000:5.2f} ms"
    )
    print(f"  polls not idle or failed: {not_idle}")


if __name__ == "__main__":
    main()
