"""Workflows (with their parameter schema) and uploads through the API."""

import jsonschema
import pytest

from generations.models import Asset
from tests.api.conftest import assert_error
from tests.api.test_jobs import png_upload
from tests.workflows.factories import WorkflowFactory
from workflows.models import Workflow

pytestmark = pytest.mark.django_db


def slugs(response):
    assert response.status_code == 200, response.content
    return {w["slug"] for w in response.json()["results"]}


def test_it_lists_mine_public_and_templates_but_not_others_private(
    alice, bob, alice_api, preset_workflows
):
    mine = WorkflowFactory(owner=alice, slug="my-look")
    WorkflowFactory(owner=bob, slug="bobs-secret")
    WorkflowFactory(owner=bob, slug="bobs-shared", visibility=Workflow.Visibility.PUBLIC)

    listed = slugs(alice_api.get("/api/v1/workflows"))

    assert listed == {"my-look", "bobs-shared", "portrait_pro", "product_glow", "cinematic"}
    assert slugs(alice_api.get("/api/v1/workflows", {"tab": "mine"})) == {"my-look"}
    assert "portrait_pro" in slugs(alice_api.get("/api/v1/workflows", {"tab": "templates"}))
    [item] = [w for w in alice_api.get("/api/v1/workflows").json()["results"] if w["mine"]]
    assert item["id"] == str(mine.id)


def test_each_workflow_carries_a_valid_json_schema_of_its_parameters(alice_api, preset_workflows):
    body = alice_api.get("/api/v1/workflows/portrait_pro").json()

    schema = body["parameters_schema"]
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["softening"]["type"] == "number"
    jsonschema.validate({"softening": 0.5}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"softening": "ten"}, schema)


def test_a_workflow_is_found_by_id_or_slug(alice_api, preset_workflows):
    workflow = preset_workflows["cinematic"]

    by_id = alice_api.get(f"/api/v1/workflows/{workflow.id}")
    by_slug = alice_api.get("/api/v1/workflows/cinematic")

    assert by_id.json()["id"] == by_slug.json()["id"] == str(workflow.id)


def test_someone_elses_private_workflow_is_a_404(alice_api, bob):
    private = WorkflowFactory(owner=bob)

    assert_error(alice_api.get(f"/api/v1/workflows/{private.id}"), 404, "not_found")
    assert_error(alice_api.get("/api/v1/workflows/не-существует"), 404, "not_found")


def test_bad_workflow_filters_are_a_400(alice_api):
    assert_error(
        alice_api.get("/api/v1/workflows", {"tab": "everything"}), 400, "invalid_parameters"
    )


def test_an_upload_is_stored_unattached(alice, alice_api):
    response = alice_api.post(
        "/api/v1/uploads", {"image": png_upload("in.png", (40, 30))}, format="multipart"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["width"], body["height"], body["content_type"]) == (40, 30, "image/png")
    asset = Asset.objects.get(id=body["id"])
    assert (asset.user, asset.generation, asset.kind) == (alice, None, Asset.Kind.INPUT)
    assert asset.file.name.startswith(f"uploads/{alice.id}/")
    assert "url" not in body and "file" not in body


def test_an_upload_needs_an_image_and_nothing_else(alice_api):
    missing = alice_api.post("/api/v1/uploads", {}, format="multipart")
    extra = alice_api.post(
        "/api/v1/uploads", {"image": png_upload(), "name": "x"}, format="multipart"
    )

    assert "image" in assert_error(missing, 400, "invalid_parameters")["details"]
    assert "name" in assert_error(extra, 400, "invalid_parameters")["details"]
