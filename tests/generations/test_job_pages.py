"""Job pages: only the owner reaches a job; uploads are checked; links expire."""

import pytest
from django.urls import reverse

from creator_site.celery import app as celery_app
from generations.files import asset_url
from generations.models import Asset, Generation
from generations.services import generation_create
from tests.generations.conftest import png_bytes
from tests.generations.test_image_checks import png_header_only

pytestmark = pytest.mark.django_db


@pytest.fixture
def preset(db):
    from workflows.models import Workflow
    from workflows.preset_sync import presets_sync

    presets_sync()
    return Workflow.objects.get(owner__isnull=True, slug="portrait_pro")


@pytest.fixture
def alice_job(alice, preset, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # no broker message needed
        return generation_create(user=alice, workflow=preset, image=png_bytes((64, 64)))


def upload(name, data, content_type="image/png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def test_the_owner_sees_the_job_page(client, alice, alice_job):
    client.force_login(alice)
    response = client.get(reverse("generations:detail", args=[alice_job.id]))
    assert response.status_code == 200
    assert b"portrait" in response.content.lower()


@pytest.mark.parametrize("name", ["detail", "progress"])
def test_charlie_cannot_see_alices_job(client, charlie, alice_job, name):
    client.force_login(charlie)
    assert client.get(reverse(f"generations:{name}", args=[alice_job.id])).status_code == 404


@pytest.mark.parametrize("name", ["cancel", "retry", "annotate"])
def test_charlie_cannot_act_on_alices_job(client, charlie, alice_job, name):
    client.force_login(charlie)
    response = client.post(reverse(f"generations:{name}", args=[alice_job.id]), {"rating": "5"})
    assert response.status_code == 404
    alice_job.refresh_from_db()
    assert alice_job.status == Generation.Status.QUEUED
    assert alice_job.rating is None


def test_the_gallery_lists_only_my_jobs(client, charlie, alice_job):
    client.force_login(charlie)
    response = client.get(reverse("generations:list"))
    assert response.status_code == 200
    assert str(alice_job.id) not in response.content.decode()


def queued_messages() -> int:
    """Messages waiting in this test session's queue on the real broker."""
    with celery_app.connection_for_read() as connection:
        queue = celery_app.conf.task_default_queue
        return connection.default_channel.queue_declare(queue=queue).message_count


def test_the_run_form_queues_a_job(client, alice, preset, django_capture_on_commit_callbacks):
    client.force_login(alice)
    celery_app.control.purge()  # this session's queue, emptied
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("generations:create"),
            {"workflow": str(preset.id), "input_image": upload("me.png", png_bytes((80, 60)))},
        )
    job = Generation.objects.get(user=alice)
    assert response.status_code == 302
    assert response["Location"] == reverse("generations:detail", args=[job.id])
    assert job.status == Generation.Status.QUEUED
    assert queued_messages() == 0  # nothing is sent before the row is committed
    for callback in callbacks:
        callback()
    assert queued_messages() == 1
    preset.refresh_from_db()
    assert preset.use_count == 1


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("photo.jpg", b"this is text, not a photo", "not an image we can read"),
        ("empty.png", b"", "empty"),
        ("half.png", png_bytes((400, 300))[:300], "damaged or incomplete"),
        ("big.png", png_bytes((64, 64)) + b"\0" * (11 * 1024 * 1024), "larger than 10 MB"),
        ("bomb.png", png_header_only(20_000, 20_000), "megapixel"),
    ],
)
def test_the_run_form_refuses_bad_files_and_queues_nothing(
    client, alice, preset, name, data, message
):
    client.force_login(alice)
    response = client.post(
        reverse("generations:create"),
        {"workflow": str(preset.id), "input_image": upload(name, data)},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Generation.objects.exists()
    assert not Asset.objects.exists()


def test_the_run_form_refuses_out_of_range_parameters(client, alice, preset):
    client.force_login(alice)
    name = preset.parameters[0]["name"]
    response = client.post(
        reverse("generations:create"),
        {"workflow": str(preset.id), name: "1000000", "input_image": upload("a.png", png_bytes())},
    )
    assert response.status_code == 400
    assert not Generation.objects.exists()


def test_a_signed_link_serves_the_file_and_a_tampered_one_does_not(client, alice_job):
    asset = alice_job.assets.get(kind=Asset.Kind.INPUT)
    url = asset_url(asset)
    response = client.get(url)  # no login needed: the link is the credential
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(url[:-3] + "xyz/").status_code == 404


def test_a_signed_link_expires(client, alice_job, settings):
    url = asset_url(alice_job.assets.get(kind=Asset.Kind.INPUT))
    settings.SIGNED_URL_MAX_AGE = -1  # every link is now older than allowed
    assert client.get(url).status_code == 404


def test_annotations_are_validated(client, alice, alice_job):
    client.force_login(alice)
    client.post(reverse("generations:annotate", args=[alice_job.id]), {"rating": "9"})
    alice_job.refresh_from_db()
    assert alice_job.rating is None
    client.post(
        reverse("generations:annotate", args=[alice_job.id]), {"rating": "4", "notes": "<b>ok</b>"}
    )
    alice_job.refresh_from_db()
    assert (alice_job.rating, alice_job.notes) == (4, "<b>ok</b>")
    page = client.get(reverse("generations:detail", args=[alice_job.id])).content.decode()
    assert "&lt;b&gt;ok&lt;/b&gt;" in page
