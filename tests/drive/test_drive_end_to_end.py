"""Google Drive, end to end against the Drive stand-in: connect, choose a
folder, and a new image comes back processed in the output folder through
the real pipeline (worker, PostgreSQL, development ComfyUI server)."""

import pytest
from django.db import connection as db

from drive.models import SourceConnection, SourceFile
from drive.tasks import delivery_run
from generations.models import Generation
from tests.drive.conftest import connect_drive, deliver, poll, worker_settings
from tests.factories import UserFactory
from tests.generations.conftest import png_bytes, wait_for_status
from tests.generations.factories import ComfyServerFactory

pytestmark = pytest.mark.django_db(transaction=True)
FINAL = (Generation.Status.COMPLETED, Generation.Status.FAILED, Generation.Status.CANCELLED)


def test_tokens_are_stored_encrypted(drive_standin):
    user = UserFactory()
    connection, _ = connect_drive(user, drive_standin)
    refresh = next(iter(drive_standin.refresh_tokens))

    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token_encrypted, refresh_token_encrypted FROM drive_sourceconnection "
            "WHERE id = %s",
            [connection.id],
        )
        raw = " ".join(cursor.fetchone())
    assert refresh not in raw
    assert "ya29." not in raw and "1//" not in raw
    assert SourceConnection.objects.get().refresh_token == refresh


def test_choosing_a_folder_creates_the_output_folder_once(drive_standin):
    connection, folder_id = connect_drive(UserFactory(), drive_standin)

    outputs = drive_standin.children(folder_id)
    assert [f["name"] for f in outputs] == ["Processed"]
    assert connection.output_folder_id == outputs[0]["id"]
    assert connection.folder_name == "Photos"
    assert connection.folder_link.startswith("https://drive.google.com/")

    from drive.services import connection_choose_folder

    connection_choose_folder(connection=connection, folder_id=folder_id)
    assert len(drive_standin.children(folder_id)) == 1  # found, not created again


def test_a_new_image_comes_back_processed_once_and_a_new_version_again(
    drive_standin, presets, comfy_dev_server, start_worker
):
    ComfyServerFactory(url=comfy_dev_server.url)
    start_worker(**worker_settings(drive_standin))
    user = UserFactory()
    connection, folder_id = connect_drive(user, drive_standin)
    elsewhere = drive_standin.add_folder("Elsewhere")
    drive_standin.add_file("other.png", png_bytes((64, 64)), elsewhere)
    file_id = drive_standin.add_file("beach.png", png_bytes((320, 240)), folder_id)

    record = poll(connection)
    assert record.status == "ok" and record.files_found == 1
    row = SourceFile.objects.get()
    assert (row.file_id, row.name, row.status) == (file_id, "beach.png", "queued")
    job = wait_for_status(row.generation, FINAL)
    assert job.status == Generation.Status.COMPLETED, job.error_message
    assert job.source == "drive"
    assert job.source_ref["file_id"] == file_id

    deliver(job)
    delivery_run(str(job.id))  # delivered twice: still one file

    outputs = [f for f in drive_standin.children(connection.output_folder_id)]
    assert [f["name"] for f in outputs] == ["beach_portrait_pro.png"]
    output = job.assets.get(kind="output")
    assert drive_standin.content(outputs[0]["id"]) == output.file.read()
    assert outputs[0]["appProperties"]["creator"] == "output"
    row.refresh_from_db()
    assert row.status == "delivered"
    assert row.output_file_id == outputs[0]["id"]
    assert row.output_link == outputs[0]["webViewLink"]
    job.refresh_from_db()
    assert job.source_ref["output_file_id"] == outputs[0]["id"]
    assert job.source_ref["output_link"] == outputs[0]["webViewLink"]

    # The output (a change in the feed) and the unchanged original are not taken again.
    for _ in range(2):
        assert poll(connection).files_found == 0
    assert Generation.objects.count() == 1

    drive_standin.update_file(file_id, png_bytes((320, 240), color=(10, 200, 30)))
    assert poll(connection).files_found == 1
    assert SourceFile.objects.filter(file_id=file_id).count() == 2
    second = wait_for_status(SourceFile.objects.latest("id").generation, FINAL)
    deliver(second)
    names = sorted(f["name"] for f in drive_standin.children(connection.output_folder_id))
    assert names == ["beach_portrait_pro (2).png", "beach_portrait_pro.png"]
    assert not SourceFile.objects.filter(name="other.png").exists()


def test_a_deleted_output_folder_is_made_again_for_the_result(
    drive_standin, presets, comfy_dev_server, start_worker
):
    ComfyServerFactory(url=comfy_dev_server.url)
    start_worker(**worker_settings(drive_standin))
    connection, folder_id = connect_drive(UserFactory(), drive_standin)
    drive_standin.delete_file(connection.output_folder_id)
    drive_standin.add_file("dog.png", png_bytes((64, 64)), folder_id)

    poll(connection)
    job = wait_for_status(SourceFile.objects.get().generation, FINAL)
    row = deliver(job)

    connection.refresh_from_db()
    assert row.status == "delivered"
    folders = [f for f in drive_standin.children(folder_id) if f["name"] == "Processed"]
    assert [f["id"] for f in folders] == [connection.output_folder_id]
    names = [f["name"] for f in drive_standin.children(connection.output_folder_id)]
    assert names == ["dog_portrait_pro.png"]


def test_a_failed_job_is_shown_as_failed_and_nothing_is_uploaded(
    drive_standin, presets, comfy_dev_server, start_worker
):
    ComfyServerFactory(url=comfy_dev_server.url)
    comfy_dev_server.set_knobs(fail_node="ImageBlend", fail_message="blend exploded")
    start_worker(**worker_settings(drive_standin))
    connection, folder_id = connect_drive(UserFactory(), drive_standin)
    drive_standin.add_file("cat.png", png_bytes((64, 64)), folder_id)

    poll(connection)
    job = wait_for_status(SourceFile.objects.get().generation, FINAL)
    row = deliver(job)

    assert job.status == Generation.Status.FAILED
    assert row.status == "failed"
    assert "blend exploded" in row.message
    assert drive_standin.children(connection.output_folder_id) == []
