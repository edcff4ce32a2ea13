"""Bad requests get a 400 (or 415) in the one error shape, and nothing is
stored or queued. Never a 500."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from generations.models import Asset
from tests.api.conftest import assert_error, job_count
from tests.api.test_jobs import png_upload

pytestmark = pytest.mark.django_db


def post_json(client, body, path="/api/v1/jobs"):
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, raw, content_type="application/json")


def job_body(**overrides):
    return {"workflow": "portrait_pro", "asset_id": None, **overrides}


@pytest.fixture
def asset_id(alice_api):
    response = alice_api.post("/api/v1/uploads", {"image": png_upload()}, format="multipart")
    return response.json()["id"]


@pytest.mark.parametrize("path", ["/api/v1/jobs", "/api/v1/generate"])
@pytest.mark.parametrize(
    "raw", ['{"workflow": "portrait_pro",', "not json", "\xff\xfe", "[1, 2", '{"a": NaN}']
)
def test_malformed_json_is_a_400(alice_api, preset_workflows, path, raw):
    body = raw.encode("latin-1") if raw == "\xff\xfe" else raw

    assert_error(post_json(alice_api, body, path), 400, "malformed_request")
    assert job_count() == 0


def test_absurdly_nested_json_is_a_400(alice_api, preset_workflows):
    body = '{"parameters": ' + "[" * 100_000 + "]" * 100_000 + "}"

    assert_error(post_json(alice_api, body), 400, "malformed_request")


@pytest.mark.parametrize("body", ["[]", '"portrait_pro"', "42", "null"])
def test_a_body_that_is_not_an_object_is_a_400(alice_api, preset_workflows, body):
    response = post_json(alice_api, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("malformed_request", "invalid_parameters")
    assert job_count() == 0


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "application/xml"]
)
def test_other_content_types_are_a_415(alice_api, preset_workflows, content_type):
    response = alice_api.post("/api/v1/jobs", "workflow=portrait_pro", content_type=content_type)

    assert_error(response, 415, "unsupported_media_type")


def test_uploads_take_multipart_only(alice_api):
    response = post_json(alice_api, {"image": "aGVsbG8="}, path="/api/v1/uploads")

    assert_error(response, 415, "unsupported_media_type")


def test_unknown_fields_are_a_400(alice_api, preset_workflows, asset_id):
    response = post_json(
        alice_api, job_body(asset_id=asset_id, paramters={"softening": 1}, colour="red")
    )

    error = assert_error(response, 400, "invalid_parameters")
    assert set(error["details"]) == {"paramters", "colour"}
    assert job_count() == 0


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"softening": "ten"}, "softening"),
        ({"softening": [0.5]}, "softening"),
        ({"softening": {"value": 0.5}}, "softening"),
        ({"softening": True}, "softening"),
        ({"softening": 7}, "softening"),
        ({"softening_radius": 2.5}, "softening_radius"),
        ({"sharpen": None, "nonsense": 1}, "nonsense"),
    ],
)
def test_parameter_type_confusion_is_a_400_per_field(
    alice_api, preset_workflows, asset_id, parameters, field
):
    response = post_json(alice_api, job_body(asset_id=asset_id, parameters=parameters))

    error = assert_error(response, 400, "invalid_parameters")
    assert field in error["details"]["parameters"], error
    assert job_count() == 0


@pytest.mark.parametrize("parameters", [[], "softening=1", 3, [{"softening": 1}]])
def test_parameters_must_be_an_object(alice_api, preset_workflows, asset_id, parameters):
    response = post_json(alice_api, job_body(asset_id=asset_id, parameters=parameters))

    assert "parameters" in assert_error(response, 400, "invalid_parameters")["details"]


def test_multipart_parameters_must_be_a_json_object(alice_api, preset_workflows):
    for parameters in ("{softening: 1}", "[1]"):
        response = alice_api.post(
            "/api/v1/jobs",
            {"workflow": "portrait_pro", "image": png_upload(), "parameters": parameters},
            format="multipart",
        )
        assert "parameters" in assert_error(response, 400, "invalid_parameters")["details"]
    assert job_count() == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"workflow": ["portrait_pro"]},
        {"workflow": {"slug": "portrait_pro"}},
        {"workflow": None},
        {"image_url": ["http://example.com/a.png"]},
        {"image_url": "not a url"},
        {"asset_id": "not-a-uuid"},
        {"asset_id": 12},
        {"webhook_url": "ftp://example.com/hook"},
        {"project": "x"},
    ],
)
def test_wrongly_typed_fields_are_a_400(alice_api, preset_workflows, asset_id, fields):
    response = post_json(alice_api, {**job_body(asset_id=asset_id), **fields})

    error = assert_error(response, 400, "invalid_parameters")
    assert set(fields) & set(error["details"]), error
    assert job_count() == 0


def test_exactly_one_image_is_required(alice_api, preset_workflows, asset_id):
    none = post_json(alice_api, {"workflow": "portrait_pro"})
    two = post_json(
        alice_api,
        {"workflow": "portrait_pro", "asset_id": asset_id, "image_url": "https://a.example/x.png"},
    )

    assert "image" in assert_error(none, 400, "invalid_parameters")["details"]
    assert "image" in assert_error(two, 400, "invalid_parameters")["details"]
    assert job_count() == 0


def test_an_unknown_workflow_is_a_400_naming_the_field(alice_api, preset_workflows, asset_id):
    for workflow in ("no-such-workflow", "портрет✨", "00000000-0000-0000-0000-000000000000"):
        response = post_json(alice_api, job_body(asset_id=asset_id, workflow=workflow))
        assert "workflow" in assert_error(response, 400, "invalid_parameters")["details"]


def test_someone_elses_private_workflow_is_unknown(alice_api, bob, preset_workflows, asset_id):
    from tests.workflows.factories import WorkflowFactory

    private = WorkflowFactory(owner=bob)

    response = post_json(alice_api, job_body(asset_id=asset_id, workflow=str(private.id)))

    assert "workflow" in assert_error(response, 400, "invalid_parameters")["details"]


def test_unicode_is_fine_everywhere(alice, alice_api, preset_workflows):
    response = alice_api.post(
        "/api/v1/jobs",
        {
            "workflow": "portrait_pro",
            "image": SimpleUploadedFile("фото 📷.png", png_upload().read(), "image/png"),
            "parameters": json.dumps({"softening": 0.3}, ensure_ascii=False),
        },
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="ключ",  # not ASCII: refused, politely
    )
    assert "Idempotency-Key" in assert_error(response, 400, "invalid_parameters")["details"]

    response = alice_api.post(
        "/api/v1/jobs",
        {
            "workflow": "portrait_pro",
            "image": SimpleUploadedFile("фото 📷.png", png_upload().read()),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert Asset.objects.get(kind="input", generation__isnull=False).original_name == "фото 📷.png"


def test_nul_characters_are_a_400_not_a_database_error(alice_api, preset_workflows, asset_id):
    for body in (
        job_body(asset_id=asset_id, parameters={"softening": "0.3\u0000"}),
        job_body(asset_id=asset_id, parameters={"bad\u0000name": 1}),
        job_body(asset_id=asset_id, workflow="portrait\u0000pro"),
    ):
        response = post_json(alice_api, body)
        assert_error(response, 400, "invalid_parameters")
    assert job_count() == 0


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"%PDF-1.7 not an image", "unsupported_type"),
        (b"", "empty_file"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "unsupported_type"),
    ],
)
def test_files_that_are_not_images_are_refused_by_content(alice_api, preset_workflows, data, code):
    upload = SimpleUploadedFile("photo.png", data, content_type="image/png")

    job = alice_api.post(
        "/api/v1/jobs", {"workflow": "portrait_pro", "image": upload}, format="multipart"
    )
    upload.seek(0)
    stored = alice_api.post("/api/v1/uploads", {"image": upload}, format="multipart")

    for response in (job, stored):
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] in (code, "invalid_parameters")
    assert job_count() == 0
    assert Asset.objects.count() == 0


def test_a_too_large_upload_is_refused(alice_api, preset_workflows, settings):
    settings.UPLOAD_MAX_BYTES = 1000

    response = alice_api.post(
        "/api/v1/jobs",
        {"workflow": "portrait_pro", "image": png_upload(size=(512, 512))},
        format="multipart",
    )

    assert "image" in assert_error(response, 400, "file_too_large")["details"]
    assert job_count() == 0


def test_deeply_nested_parameters_are_a_400(alice_api, preset_workflows, asset_id):
    nested = "[" * 900 + "]" * 900
    body = json.dumps({"workflow": "portrait_pro", "asset_id": asset_id, "parameters": {"a": 0}})
    body = body.replace('{"a": 0}', '{"a": ' + nested + "}")

    response = post_json(alice_api, body)

    assert response.status_code == 400
    assert job_count() == 0


def test_a_broken_multipart_body_is_a_400(alice_api, preset_workflows):
    response = alice_api.generic(
        "POST",
        "/api/v1/jobs",
        b'--xyz\r\nContent-Disposition: form-data; name="workflow"\r\n\r\nportrait_pro',
        content_type="multipart/form-data; boundary=xyz",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("malformed_request", "invalid_parameters")
    assert job_count() == 0


def test_a_multipart_body_without_a_boundary_is_a_400(alice_api, preset_workflows):
    response = alice_api.generic(
        "POST", "/api/v1/jobs", b"workflow=portrait_pro", content_type="multipart/form-data"
    )

    assert_error(response, 400, "malformed_request")
