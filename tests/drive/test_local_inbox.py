"""The embedded default: images dropped in a local inbox folder come back
processed in inbox/processed, through the real pipeline."""

import os
import time

import pytest
from PIL import Image

from drive.models import PollRecord, SourceFile
from drive.services import inbox_connect
from drive.tasks import delivery_run
from generations.models import Generation
from tests.drive.conftest import deliver, poll
from tests.factories import UserFactory
from tests.generations.conftest import png_bytes, wait_for_status
from tests.generations.factories import ComfyServerFactory

pytestmark = pytest.mark.django_db(transaction=True)
FINAL = (Generation.Status.COMPLETED, Generation.Status.FAILED, Generation.Status.CANCELLED)


def poll_until_taken(connection, count=1, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        poll(connection)
        if SourceFile.objects.filter(connection=connection).count() >= count:
            return
        time.sleep(0.2)
    raise AssertionError("the inbox file was never taken")


def test_a_file_written_slowly_is_taken_once_complete_and_comes_back_processed(
    tmp_path, settings, presets, comfy_dev_server, start_worker
):
    settings.INBOX_STABLE_SECONDS = 0.6
    ComfyServerFactory(url=comfy_dev_server.url)
    start_worker()
    inbox = tmp_path / "inbox"
    connection = inbox_connect(user=UserFactory(), path=inbox)
    data = png_bytes((300, 200))

    with open(inbox / "holiday.png", "wb") as handle:
        step = len(data) // 5 + 1
        for start in range(0, len(data), step):
            handle.write(data[start : start + step])
            handle.flush()
            poll(connection)  # a poll in the middle of the copy takes nothing
            assert not SourceFile.objects.exists()
            time.sleep(0.25)

    poll_until_taken(connection)
    row = SourceFile.objects.get()
    assert row.size == len(data)
    assert row.status == SourceFile.Status.QUEUED
    job = wait_for_status(row.generation, FINAL)
    assert job.status == Generation.Status.COMPLETED, job.error_message
    assert job.source == "inbox"
    assert job.source_ref["name"] == "holiday.png"

    deliver(job)  # what the pipeline sends when the job is final

    result = inbox / "processed" / "holiday_portrait_pro.png"
    output = job.assets.get(kind="output")
    assert result.read_bytes() == output.file.read()
    with Image.open(result) as image:
        assert image.size == (output.width, output.height)
    assert (inbox / "holiday.png").read_bytes() == data  # the original stays
    row.refresh_from_db()
    assert row.status == SourceFile.Status.DELIVERED
    assert row.output_name == "holiday_portrait_pro.png"
    job.refresh_from_db()
    assert job.source_ref["output_name"] == "holiday_portrait_pro.png"

    # Later polls and a second delivery change nothing.
    for _ in range(3):
        poll(connection)
    delivery_run(str(job.id))
    assert SourceFile.objects.count() == 1
    assert Generation.objects.count() == 1
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == ["holiday_portrait_pro.png"]
    assert PollRecord.objects.filter(connection=connection).count() >= 8


def test_a_result_never_overwrites_a_file_with_the_same_name(
    tmp_path, settings, presets, comfy_dev_server, start_worker
):
    settings.INBOX_STABLE_SECONDS = 0
    ComfyServerFactory(url=comfy_dev_server.url)
    start_worker()
    inbox = tmp_path / "inbox"
    connection = inbox_connect(user=UserFactory(), path=inbox)
    (inbox / "processed" / "cat_portrait_pro.png").write_bytes(b"mine, keep it")
    (inbox / "cat.png").write_bytes(png_bytes((64, 64)))

    poll_until_taken(connection)
    job = wait_for_status(SourceFile.objects.get().generation, FINAL)
    deliver(job)

    assert (inbox / "processed" / "cat_portrait_pro.png").read_bytes() == b"mine, keep it"
    assert (inbox / "processed" / "cat_portrait_pro (2).png").stat().st_size > 0


def test_a_changed_file_is_processed_again_and_bad_files_are_skipped_visibly(
    tmp_path, settings, presets
):
    settings.INBOX_STABLE_SECONDS = 0
    connection = inbox_connect(user=UserFactory(), path=tmp_path / "inbox")
    inbox = tmp_path / "inbox"
    (inbox / "photo.png").write_bytes(png_bytes((64, 64)))
    (inbox / "notes.jpg").write_bytes(b"%PDF-1.7 this is a PDF named like a photo")
    (inbox / ".DS_Store").write_bytes(b"\0")
    poll_until_taken(connection, count=2)
    poll(connection)

    rows = {r.name: r for r in SourceFile.objects.all()}
    assert set(rows) == {"photo.png", "notes.jpg"}
    assert rows["photo.png"].status == SourceFile.Status.QUEUED
    assert rows["notes.jpg"].status == SourceFile.Status.SKIPPED
    assert rows["notes.jpg"].reason_code == "unsupported_type"
    assert "PDF" in rows["notes.jpg"].message

    (inbox / "photo.png").write_bytes(png_bytes((64, 64), color=(1, 2, 3)))
    os.utime(inbox / "photo.png", (time.time() - 5, time.time() - 5))
    poll_until_taken(connection, count=3)
    assert SourceFile.objects.filter(name="photo.png").count() == 2
    assert Generation.objects.count() == 2


def test_an_oversized_file_is_skipped_without_reading_it(tmp_path, settings, presets):
    settings.INBOX_STABLE_SECONDS = 0
    inbox = tmp_path / "inbox"
    connection = inbox_connect(user=UserFactory(), path=inbox)
    with open(inbox / "huge.png", "wb") as handle:  # sparse: 200 MB on paper, no disk used
        handle.truncate(200 * 1024 * 1024)
    poll_until_taken(connection)

    row = SourceFile.objects.get()
    assert row.status == SourceFile.Status.SKIPPED
    assert row.reason_code == "file_too_large"
    assert "200 MB" in row.message
    assert not Generation.objects.exists()
