"""Creating, reading, listing and cancelling jobs through the API."""

import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from generations.models import Asset, Generation
from generations.progress import progress_cache_key
from generations.states import generation_transition
from tests.api.conftest import assert_error, job_count, key_client
from tests.generations.conftest import png_bytes
from tests.workflows.factories import ProjectFactory

pytestmark = pytest.mark.django_db
Status = Generation.Status


def png_upload(name="me.png", size=(64, 64)):
    return SimpleUploadedFile(name, png_bytes(size), content_type="image/png")


def create_job(client, **fields):
    body = {"workflow": "portrait_pro", "image": png_upload(), **fields}
    return client.post("/api/v1/jobs", body, format="multipart")


def test_it_creates_a_job_from_an_uploaded_image(alice, alice_api, preset_workflows):
    response = create_job(alice_api, parameters='{"softening": 0.5}')

    assert response.status_code == 201, response.content
    job = response.json()
    assert response["Location"].endswith(f"/api/v1/jobs/{job['id']}")
    assert job["status"] == "queued"
    assert job["workflow"]["slug"] == "portrait_pro"
    assert job["parameters"]["softening"] == 0.5
    assert job["outputs"] == [] and job["error"] is None
    stored = Generation.objects.get(id=job["id"])
    assert stored.user == alice
    assert stored.source == Generation.Source.API
    assert stored.source_ref == {"api_key": str(alice_api.api_key.id)}
    assert stored.assets.get(kind=Asset.Kind.INPUT).original_name == "me.png"


def test_it_accepts_the_workflow_by_id_and_a_project(alice, alice_api, preset_workflows):
    project = ProjectFactory(owner=alice)
    workflow = preset_workflows["cinematic"]

    response = alice_api.post(
        "/api/v1/jobs",
        {"workflow": str(workflow.id), "project": str(project.id), "image": png_upload()},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    assert response.json()["project"] == str(project.id)


def test_someone_elses_project_is_refused(alice_api, bob, preset_workflows):
    project = ProjectFactory(owner=bob)

    error = assert_error(create_job(alice_api, project=str(project.id)), 400, "invalid_parameters")

    assert "project" in error["details"]
    assert job_count() == 0


def test_it_creates_a_job_from_an_earlier_upload(alice_api, preset_workflows):
    upload = alice_api.post("/api/v1/uploads", {"image": png_upload("in.png")}, format="multipart")
    assert upload.status_code == 201, upload.content
    asset_id = upload.json()["id"]

    first = alice_api.post(
        "/api/v1/jobs", {"workflow": "portrait_pro", "asset_id": asset_id}, format="json"
    )
    second = alice_api.post(
        "/api/v1/jobs", {"workflow": "cinematic", "asset_id": asset_id}, format="json"
    )

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    # The upload stays unattached and reusable; each job got its own input copy.
    assert Asset.objects.get(id=asset_id).generation is None


def test_bobs_upload_is_not_alices(alice_api, bob_api, preset_workflows):
    asset_id = bob_api.post("/api/v1/uploads", {"image": png_upload()}, format="multipart").json()[
        "id"
    ]

    response = alice_api.post(
        "/api/v1/jobs", {"workflow": "portrait_pro", "asset_id": asset_id}, format="json"
    )

    assert "asset_id" in assert_error(response, 400, "invalid_parameters")["details"]


def test_it_creates_a_job_from_an_image_url(alice_api, preset_workflows, image_server):
    response = alice_api.post(
        "/api/v1/jobs",
        {"workflow": "portrait_pro", "image_url": f"{image_server.url}/photo.png"},
        format="json",
    )

    assert response.status_code == 201, response.content
    job = Generation.objects.get(id=response.json()["id"])
    input_asset = job.assets.get(kind=Asset.Kind.INPUT)
    assert (input_asset.width, input_asset.height) == (64, 48)
    assert input_asset.original_name == "photo.png"
    assert image_server.requests == ["/photo.png"]


def test_it_gets_a_job_with_live_progress(alice, alice_api, preset_workflows):
    job_id = create_job(alice_api).json()["id"]
    job = Generation.objects.get(id=job_id)
    generation_transition(generation=job, to=Status.PROCESSING, started_at=timezone.now())
    # What the worker writes on every progress message.
    cache.set(
        progress_cache_key(job.id),
        {"status": "processing", "progress": 42, "message": "Running node 3"},
    )

    response = alice_api.get(f"/api/v1/jobs/{job_id}")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["progress"], body["progress_message"]) == (
        "processing",
        42,
        "Running node 3",
    )
    assert body["started_at"] is not None


def test_a_failed_job_shows_its_error(alice_api, preset_workflows):
    job = Generation.objects.get(id=create_job(alice_api).json()["id"])
    generation_transition(
        generation=job,
        to=Status.FAILED,
        error_code="execution_error",
        error_message="Node 3 (ImageBlend) failed: boom",
        error_details={"node_id": "3"},
    )

    body = alice_api.get(f"/api/v1/jobs/{job.id}").json()

    assert body["status"] == "failed"
    assert body["error"] == {
        "code": "execution_error",
        "message": "Node 3 (ImageBlend) failed: boom",
        "details": {"node_id": "3"},
    }


def test_completed_outputs_are_absolute_signed_links(alice, alice_api, preset_workflows):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    job = Generation.objects.get(id=create_job(alice_api).json()["id"])
    name = default_storage.save(f"outputs/{alice.id}/{job.id}/out.png", ContentFile(png_bytes()))
    Asset.objects.create(
        user=alice, generation=job, kind=Asset.Kind.OUTPUT, file=name,
        content_type="image/png", size=123, width=1024, height=1024, sha256="0" * 64,
    )  # fmt: skip

    body = alice_api.get(f"/api/v1/jobs/{job.id}").json()

    [output] = body["outputs"]
    assert output["url"].startswith("http://testserver/jobs/files/")
    assert (output["width"], output["height"], output["content_type"]) == (1024, 1024, "image/png")
    download = alice_api.get(output["url"].removeprefix("http://testserver"))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == png_bytes()


def test_bobs_job_is_a_404_for_alices_key(alice_api, bob_api, preset_workflows):
    bobs_job = create_job(bob_api).json()["id"]

    assert_error(alice_api.get(f"/api/v1/jobs/{bobs_job}"), 404, "not_found")
    assert_error(alice_api.post(f"/api/v1/jobs/{bobs_job}/cancel"), 404, "not_found")
    assert_error(alice_api.get(f"/api/v1/jobs/{uuid.uuid4()}"), 404, "not_found")
    assert Generation.objects.get(id=bobs_job).status == Status.QUEUED


def test_it_lists_jobs_newest_first_with_a_cursor(alice_api, bob_api, preset_workflows):
    ids = [create_job(alice_api).json()["id"] for _ in range(5)]
    create_job(bob_api)

    first = alice_api.get("/api/v1/jobs", {"page_size": 2}).json()
    second = alice_api.get(first["next"]).json()
    third = alice_api.get(second["next"]).json()

    seen = [j["id"] for page in (first, second, third) for j in page["results"]]
    assert seen == list(reversed(ids))
    assert third["next"] is None


def test_it_filters_the_list(alice, alice_api, preset_workflows):
    project = ProjectFactory(owner=alice)
    portrait = create_job(alice_api, project=str(project.id)).json()["id"]
    cinematic = create_job(alice_api, workflow="cinematic").json()["id"]
    Generation.objects.filter(id=cinematic).update(created_at=timezone.now() - timedelta(days=3))
    generation_transition(generation=Generation.objects.get(id=cinematic), to=Status.CANCELLED)

    def listed(**params):
        response = alice_api.get("/api/v1/jobs", params)
        assert response.status_code == 200, response.content
        return [j["id"] for j in response.json()["results"]]

    assert listed(status="cancelled") == [cinematic]
    assert listed(status="queued") == [portrait]
    assert listed(workflow="cinematic") == [cinematic]
    assert listed(workflow=str(preset_workflows["portrait_pro"].id)) == [portrait]
    assert listed(project=str(project.id)) == [portrait]
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()
    assert listed(created_after=yesterday) == [portrait]
    assert listed(created_before=yesterday) == [cinematic]


def test_bad_list_filters_are_a_400(alice_api):
    error = assert_error(
        alice_api.get("/api/v1/jobs", {"status": "exploded", "created_after": "yesterday"}),
        400,
        "invalid_parameters",
    )
    assert set(error["details"]) == {"status", "created_after"}


def test_it_cancels_a_queued_job(alice_api, preset_workflows):
    job_id = create_job(alice_api).json()["id"]

    response = alice_api.post(f"/api/v1/jobs/{job_id}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = alice_api.post(f"/api/v1/jobs/{job_id}/cancel")
    error = assert_error(again, 409, "conflict")
    assert "cancelled" in error["message"]


def test_a_key_with_jobs_read_only_cannot_cancel(alice, preset_workflows):
    owner_key = key_client(alice)
    job_id = create_job(owner_key).json()["id"]
    reader = key_client(alice, scopes=["jobs:read"])

    assert reader.get(f"/api/v1/jobs/{job_id}").status_code == 200
    assert_error(reader.post(f"/api/v1/jobs/{job_id}/cancel"), 403, "forbidden")
