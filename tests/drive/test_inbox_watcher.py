"""The instant inbox: the watcher (`manage.py inbox_watch`) takes a file as
soon as it has stopped changing, without waiting for beat; a file still
being written waits; and beat polling beside it never takes a file twice."""

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Reservation
from drive import services
from drive.models import PollRecord, SourceConnection, SourceFile
from drive.watcher import InboxWatcher
from generations.models import Generation
from tests.factories import UserFactory
from tests.generations.conftest import png_bytes
from tests.generations.factories import ComfyServerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def start_watcher():
    """Run the watcher in a thread, as `inbox_watch` runs it, and stop it after."""
    running = []

    def start() -> InboxWatcher:
        watcher = InboxWatcher(refresh_seconds=0.2, retry_seconds=0.05)
        thread = threading.Thread(target=watcher.run, daemon=True)
        thread.start()
        running.append((watcher, thread))
        assert watcher.ready.wait(30), "the watcher did not start"
        return watcher

    yield start
    for watcher, thread in running:
        watcher.stop()
        thread.join(30)
        assert not thread.is_alive(), "the watcher did not stop"


def wait_until(condition, timeout: float = 30, what: str = "the file to be taken"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def never_due(connection: SourceConnection) -> None:
    """Beat would not poll this connection for a day (and no beat runs)."""
    SourceConnection.objects.filter(id=connection.id).update(
        next_poll_at=timezone.now() + timedelta(days=1)
    )


def test_a_dropped_file_is_taken_as_soon_as_it_is_complete_without_a_beat_poll(
    tmp_path, settings, presets, start_watcher
):
    settings.INBOX_STABLE_SECONDS = 0.3
    inbox = tmp_path / "inbox"
    connection = services.inbox_connect(user=UserFactory(), path=inbox)
    never_due(connection)
    start_watcher()
    data = png_bytes((80, 60))

    (inbox / "holiday.png").write_bytes(data)

    queued = SourceFile.objects.filter(connection=connection, status="queued")
    row = wait_until(queued.first)
    assert (row.name, row.size, row.status) == ("holiday.png", len(data), "queued")
    job = Generation.objects.get()
    assert job.source == "inbox" and job.source_ref["name"] == "holiday.png"
    # The watcher's poll is recorded like beat's, and lets go of its claim.
    wait_until(lambda: PollRecord.objects.filter(files_found=1).exists(), what="the record")
    wait_until(lambda: SourceConnection.objects.filter(poll_claim__isnull=True).exists())


def test_a_file_still_being_written_is_taken_only_once_it_stops_growing(
    tmp_path, settings, presets, start_watcher
):
    settings.INBOX_STABLE_SECONDS = 2
    inbox = tmp_path / "inbox"
    connection = services.inbox_connect(user=UserFactory(), path=inbox)
    never_due(connection)
    watcher = start_watcher()
    data = png_bytes((400, 300))
    step = len(data) // 10 + 1

    with open(inbox / "slow-copy.png", "wb") as handle:
        for start in range(0, len(data), step):
            handle.write(data[start : start + step])
            handle.flush()
            assert not SourceFile.objects.exists()  # a change less than 2 s ago
            time.sleep(0.1)

    row = wait_until(SourceFile.objects.filter(status="queued").first)
    assert row.size == len(data) and row.status == "queued"
    assert SourceFile.objects.count() == 1  # taken once, complete
    # It looked when the watch began, and after the copy.
    wait_until(lambda: watcher.polls >= 2, what="the watcher's second poll")


def test_beat_and_the_watcher_polling_together_never_take_a_file_twice(
    tmp_path, settings, presets, start_watcher, start_worker, comfy_dev_server
):
    fast = {"INBOX_STABLE_SECONDS": 0.2, "INBOX_POLL_SECONDS": 0.1, "DRIVE_POLL_TICK_SECONDS": 0.05}
    for name, value in fast.items():
        setattr(settings, name, value)
    ComfyServerFactory(url=comfy_dev_server.url)
    start_worker(**fast)  # runs beat's polls (and the jobs)
    inbox = tmp_path / "inbox"
    alice = UserFactory(email="alice@example.com")
    connection = services.inbox_connect(user=alice, path=inbox)
    watcher = start_watcher()
    stop_beat = threading.Event()

    def beat():
        while not stop_beat.is_set():
            services.polls_enqueue_due()
            time.sleep(0.05)

    beat_thread = threading.Thread(target=beat, daemon=True)
    beat_thread.start()
    try:
        names = [f"photo-{i:02}.png" for i in range(8)]  # within the free plan
        for i, name in enumerate(names):
            with open(inbox / name, "wb") as handle:
                data = png_bytes((64, 64), color=(i, 2 * i, 3 * i))
                handle.write(data[:100])
                handle.flush()
                time.sleep(0.02)
                handle.write(data[100:])
            time.sleep(0.03)
        jobs = SourceFile.objects.filter(generation__isnull=False)  # queued, then delivered
        wait_until(lambda: jobs.count() >= len(names), what="every file")
        # Beat keeps polling after that: no late second take.
        beat_polls = PollRecord.objects.count()
        wait_until(lambda: PollRecord.objects.count() >= beat_polls + 10, what="more polls")
    finally:
        stop_beat.set()
        beat_thread.join(10)

    assert 1 <= watcher.polls < PollRecord.objects.count()  # both polled
    rows = list(SourceFile.objects.filter(connection=connection))
    assert sorted(r.name for r in rows) == names
    assert Generation.objects.count() == len(names)
    assert Reservation.objects.filter(user=alice).count() == len(names)
