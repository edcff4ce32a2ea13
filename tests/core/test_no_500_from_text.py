"""Text PostgreSQL cannot store (NUL, half a surrogate pair) and numbers JSON
cannot carry (NaN, Infinity) are refused where a request enters the site, with
a 400 that says what to fix, on every page and API call; nothing is stored.
Oversized API bodies answer in the API's error shape, not Django's HTML page."""

import copy
import io
import json
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from generations.models import Asset, Generation
from generations.services import generation_create
from tests.api.test_jobs import png_upload
from tests.factories import ApiKeyFactory
from tests.generations.conftest import png_bytes
from tests.workflows.factories import PORTRAIT_PARAMETERS, ProjectFactory, preset_graph
from workflows.models import Project, Workflow, WorkflowVersion

pytestmark = pytest.mark.django_db

NUL_SENTENCE = "NUL"


def nul_graph() -> dict:
    graph = copy.deepcopy(preset_graph())
    save = next(node for node in graph.values() if node["class_type"] == "SaveImage")
    save["inputs"]["filename_prefix"] = "portrait\u0000pro"
    return graph


def nul_key_graph() -> dict:
    graph = copy.deepcopy(preset_graph())
    graph["2"]["_meta"] = {"title": "Soft\u0000copy"}
    return graph


def nan_graph_text() -> str:
    return json.dumps(preset_graph()).replace('"blend_factor": 0.35', '"blend_factor": NaN')


@pytest.fixture
def web(alice) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    return client


@pytest.fixture
def anonymous() -> Client:
    return Client(raise_request_exception=False)


@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiKeyFactory(user=alice).full_key}")
    return client


@pytest.fixture
def alice_job(alice, django_capture_on_commit_callbacks):
    preset = Workflow.objects.get(owner__isnull=True, slug="portrait_pro")
    with django_capture_on_commit_callbacks(execute=False):  # no broker message needed
        job = generation_create(user=alice, workflow=preset, image=png_bytes((64, 64)))
    job.notes = "first thoughts"
    job.save(update_fields=["notes"])
    return job


@pytest.fixture
def alice_project(alice):
    return ProjectFactory(owner=alice, metadata={"client": "Acme"})


def stored() -> tuple:
    """Everything a refused request could have written."""
    return (
        Workflow.objects.count(),
        WorkflowVersion.objects.count(),
        Generation.objects.count(),
        Asset.objects.count(),
        Project.objects.count(),
        list(Generation.objects.values_list("notes", flat=True)),
        list(Project.objects.values_list("metadata", flat=True)),
    )


def assert_html_400(response, *words: str):
    assert response.status_code == 400, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    for word in words:
        assert word in page, page[:3000]


def assert_api_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]


def import_form(**overrides) -> dict:
    return {
        "name": "My portrait",
        "description": "",
        "category": "image-to-image",
        "visibility": "private",
        "graph_text": json.dumps(preset_graph()),
        "parameters_text": json.dumps(PORTRAIT_PARAMETERS),
        **overrides,
    }


def project_form(**overrides) -> dict:
    return {"name": "Launch", "description": "", "color": "#1E5A6E", "tags": "", **overrides}


# --- the web pages -----------------------------------------------------------

# (id, client fixture, method, path or path template, form data or a callable building it)
WEB_REQUESTS = [
    ("import-pasted-nul", "web", "post", "/workflows/new/",
     lambda: import_form(graph_text=json.dumps(nul_graph()))),
    ("import-pasted-nul-in-title", "web", "post", "/workflows/new/",
     lambda: import_form(graph_text=json.dumps(nul_key_graph()))),
    ("import-pasted-nul-in-node-id", "web", "post", "/workflows/new/",
     lambda: import_form(graph_text=json.dumps({**preset_graph(), "9\u0000": {}}))),
    ("import-uploaded-nul", "web", "post", "/workflows/new/",
     lambda: import_form(graph_text="", graph_file=SimpleUploadedFile(
         "graph.json", json.dumps(nul_graph()).encode(), "application/json"))),
    ("import-nan", "web", "post", "/workflows/new/",
     lambda: import_form(graph_text=nan_graph_text())),
    ("import-parameters-nul", "web", "post", "/workflows/new/",
     lambda: import_form(parameters_text=json.dumps(
         [{**PORTRAIT_PARAMETERS[0], "label": "Soft\u0000ening"}]))),
    ("import-name-nul", "web", "post", "/workflows/new/",
     lambda: import_form(name="My\x00portrait")),
    ("run-workflow-nul", "web", "post", "/jobs/new/",
     lambda: {"workflow": "portrait\x00pro", "image": png_upload()}),
    ("annotate-notes-nul", "web", "post", "/jobs/{job}/annotate/", lambda: {"notes": "a\x00b"}),
    ("search-nul", "web", "get", "/workflows/?q=%00", None),
    ("gallery-filter-nul", "web", "get", "/jobs/?workflow=a%00b", None),
    ("shared-workflow-nul", "web", "get", "/workflows/s/a%00b/", None),
    ("shared-workflow-nul-anonymous", "anonymous", "get", "/workflows/s/a%00b/", None),
    ("shared-project-nul", "web", "get", "/workflows/p/a%00b/", None),
    ("shared-project-nul-anonymous", "anonymous", "get", "/workflows/p/a%00b/", None),
    ("fork-nul", "web", "post", "/workflows/s/a%00b/fork/", lambda: {}),
    ("project-create-metadata-nul", "web", "post", "/workflows/projects/new/",
     lambda: project_form(metadata_text='{"a":"\\u0000"}')),
    ("project-create-metadata-nan", "web", "post", "/workflows/projects/new/",
     lambda: project_form(metadata_text='{"a": NaN}')),
    ("project-create-metadata-infinity", "web", "post", "/workflows/projects/new/",
     lambda: project_form(metadata_text='{"a": -Infinity}')),
    ("project-create-metadata-nul-key", "web", "post", "/workflows/projects/new/",
     lambda: project_form(metadata_text='{"a\\u0000": 1}')),
    ("project-create-name-nul", "web", "post", "/workflows/projects/new/",
     lambda: project_form(name="Lau\x00nch")),
    ("project-edit-metadata-nul", "web", "post", "/workflows/projects/{project}/edit/",
     lambda: project_form(metadata_text='{"a":"\\u0000"}')),
    ("project-edit-metadata-nan", "web", "post", "/workflows/projects/{project}/edit/",
     lambda: project_form(metadata_text='{"a": NaN}')),
]  # fmt: skip


@pytest.mark.parametrize(
    ("client_name", "method", "path", "data"),
    [case[1:] for case in WEB_REQUESTS],
    ids=[case[0] for case in WEB_REQUESTS],
)
def test_web_pages_refuse_text_the_database_cannot_store(
    request, alice_job, alice_project, client_name, method, path, data
):
    client = request.getfixturevalue(client_name)
    path = path.format(job=alice_job.id, project=alice_project.id)
    before = stored()

    response = client.get(path) if method == "get" else client.post(path, data())

    assert_html_400(response)
    page = response.content.decode()
    assert "NUL" in page or "NaN" in page or "Infinity" in page, page[:3000]
    assert stored() == before


def test_a_url_encoded_form_is_checked_too(web, alice_job):
    before = stored()

    response = web.post(
        f"/jobs/{alice_job.id}/annotate/",
        "notes=a%00b",
        content_type="application/x-www-form-urlencoded",
    )

    assert_html_400(response, NUL_SENTENCE)
    assert stored() == before


def test_ordinary_text_still_passes(web, alice_job, alice_project):
    web.post(f"/jobs/{alice_job.id}/annotate/", {"notes": "NaN is not a number, \\u0000 is text"})
    alice_job.refresh_from_db()
    assert alice_job.notes == "NaN is not a number, \\u0000 is text"
    response = web.post(
        f"/workflows/projects/{alice_project.id}/edit/",
        project_form(metadata_text='{"note": "NaN \\\\u0000", "n": 1.5}'),
    )
    assert response.status_code == 302
    alice_project.refresh_from_db()
    assert alice_project.metadata == {"note": "NaN \\u0000", "n": 1.5}
    assert web.get("/workflows/?q=NaN").status_code == 200


# --- the import command --------------------------------------------------------


@pytest.mark.parametrize("text", [json.dumps(nul_graph()), json.dumps(nul_key_graph())])
def test_the_import_command_refuses_a_graph_with_nul_and_stores_nothing(
    alice, tmp_path, capsys, text
):
    path = tmp_path / "nul.json"
    path.write_text(text)
    before = stored()

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_workflow", str(path), "--owner", alice.email)

    assert NUL_SENTENCE in capsys.readouterr().err
    assert stored() == before


# --- the API -------------------------------------------------------------------


def big_png(max_bytes: int) -> bytes:
    """A real PNG of random pixels (incompressible) just under `max_bytes`."""
    side = int((max_bytes * 0.97 / 3) ** 0.5)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
        buffer, format="PNG", compress_level=0
    )
    data = buffer.getvalue()
    assert 0.9 * max_bytes < len(data) <= max_bytes
    return data


# (id, method, path, body or None, content type, error code, a word of its sentences)
API_REQUESTS = [
    ("workflow-slug-nul", "get", "/api/v1/workflows/cine%00matic", None, None,
     "invalid_parameters", "NUL"),
    ("workflow-search-nul", "get", "/api/v1/workflows?search=%00", None, None,
     "invalid_parameters", "NUL"),
    ("job-multipart-workflow-nul", "post", "/api/v1/jobs",
     lambda: {"workflow": "portrait\x00pro", "image": png_upload()}, "multipart",
     "invalid_parameters", "NUL"),
    ("job-multipart-parameters-nul", "post", "/api/v1/jobs",
     lambda: {"workflow": "portrait_pro", "image": png_upload(),
              "parameters": '{"softening": "\\u0000"}'}, "multipart",
     "invalid_parameters", "NUL"),
    # JSON inside a multipart field is the serializer's to parse; it refuses NaN as no number.
    ("job-multipart-parameters-nan", "post", "/api/v1/jobs",
     lambda: {"workflow": "portrait_pro", "image": png_upload(),
              "parameters": '{"softening": NaN}'}, "multipart",
     "invalid_parameters", "number"),
    ("job-json-workflow-nul", "post", "/api/v1/jobs",
     lambda: '{"workflow": "portrait\\u0000pro", "asset_id": null}', "json",
     "invalid_parameters", "NUL"),
    ("job-json-workflow-lone-surrogate", "post", "/api/v1/jobs",
     lambda: '{"workflow": "portrait\\ud800pro", "asset_id": null}', "json",
     "invalid_parameters", "surrogate"),
    ("job-json-webhook-nul", "post", "/api/v1/jobs",
     lambda: '{"workflow": "portrait_pro", "image_url": "https://example.com/a.png",'
             ' "webhook_url": "https://example.com/\\u0000"}', "json",
     "invalid_parameters", "NUL"),
    ("job-json-parameters-infinity", "post", "/api/v1/jobs",
     lambda: '{"workflow": "portrait_pro", "parameters": {"softening": Infinity}}', "json",
     "malformed_request", "Infinity"),
    ("generate-json-parameters-nan", "post", "/api/v1/generate",
     lambda: '{"workflow": "portrait_pro", "parameters": {"softening": NaN}}', "json",
     "malformed_request", "NaN"),
]  # fmt: skip


def send(client, method, path, body, kind):
    if method == "get":
        return client.get(path)
    if kind == "multipart":
        return client.post(path, body(), format="multipart")
    return client.post(path, body(), content_type="application/json")


@pytest.mark.parametrize(
    ("method", "path", "body", "kind", "code", "word"),
    [case[1:] for case in API_REQUESTS],
    ids=[case[0] for case in API_REQUESTS],
)
def test_the_api_refuses_text_the_database_cannot_store(api, method, path, body, kind, code, word):
    before = stored()

    response = send(api, method, path, body, kind)

    error = assert_api_error(response, 400, code)
    assert word in json.dumps(error, ensure_ascii=False), error
    assert stored() == before


def test_the_api_names_the_field_holding_the_nul(api):
    response = api.post(
        "/api/v1/jobs",
        '{"workflow": "portrait_pro", "parameters": {"softening": "a\\u0000"}}',
        content_type="application/json",
    )

    error = assert_api_error(response, 400, "invalid_parameters")
    assert list(error["details"]) == ["parameters.softening"]


def test_a_nul_in_the_api_path_says_so(api):
    error = assert_api_error(api.get("/api/v1/workflows/cine%00matic"), 400, "invalid_parameters")

    assert list(error["details"]) == ["path"]


# --- oversized API bodies ----------------------------------------------------------


def test_a_13_mb_json_body_is_refused_in_the_error_shape(api, settings):
    body = json.dumps({"workflow": "portrait_pro", "notes": "a" * (13 * 1024 * 1024)})
    before = stored()

    response = api.post("/api/v1/jobs", body, content_type="application/json")

    error = assert_api_error(response, 413, "request_too_large")
    assert "12 MB" in error["message"]
    assert stored() == before


@pytest.mark.parametrize("kind", ["multipart", "urlencoded"])
def test_a_body_with_over_1000_fields_is_refused_in_the_error_shape(api, kind):
    fields = {f"field{n}": "x" for n in range(1001)}
    before = stored()

    if kind == "multipart":
        response = api.post("/api/v1/jobs", fields, format="multipart")
    else:
        response = api.post(
            "/api/v1/jobs",
            "&".join(f"{k}={v}" for k, v in fields.items()),
            content_type="application/x-www-form-urlencoded",
        )

    assert_api_error(response, 400, "too_many_fields")
    assert stored() == before


def test_a_body_with_200_files_is_refused_in_the_error_shape(api):
    files = {f"image{n}": png_upload(name=f"{n}.png", size=(8, 8)) for n in range(200)}
    before = stored()

    response = api.post("/api/v1/uploads", files, format="multipart")

    assert_api_error(response, 400, "too_many_files")
    assert stored() == before


def test_the_web_pages_answer_oversized_bodies_with_the_400_page(web):
    fields = {f"field{n}": "x" for n in range(1001)}

    response = web.post("/workflows/new/", fields)

    assert_html_400(response, "1,000")
    assert Workflow.objects.filter(owner__isnull=False).count() == 0


def test_a_10_mb_image_is_still_accepted_through_the_api(api, settings):
    data = big_png(settings.UPLOAD_MAX_BYTES)

    response = api.post(
        "/api/v1/uploads",
        {"image": SimpleUploadedFile("big.png", data, content_type="image/png")},
        format="multipart",
    )

    assert response.status_code == 201, response.content[:500]
    assert Asset.objects.get().size == len(data)
