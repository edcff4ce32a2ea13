"""The import page stores valid workflows and refuses bad input with clear
messages, storing nothing."""

import copy
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.workflows.factories import PORTRAIT_IMAGE_INPUT, PORTRAIT_PARAMETERS, preset_graph
from workflows.models import Workflow, WorkflowVersion


def post(client, **data):
    form = {
        "name": "My portrait",
        "description": "",
        "category": "image-to-image",
        "visibility": "private",
        "graph_text": json.dumps(preset_graph()),
        "parameters_text": json.dumps(PORTRAIT_PARAMETERS),
        **data,
    }
    return client.post(reverse("workflows:create"), form)


@pytest.fixture
def counts():
    def snapshot():
        return (Workflow.objects.count(), WorkflowVersion.objects.count())

    return snapshot


@pytest.mark.django_db
def test_a_valid_import_creates_the_workflow_and_its_first_version(client, alice):
    client.force_login(alice)
    response = post(client)
    workflow = Workflow.objects.get(owner=alice)
    assert response.status_code == 302
    assert response["Location"] == reverse("workflows:detail", kwargs={"workflow_id": workflow.id})
    assert workflow.slug == "my-portrait"
    assert workflow.parameters == [*PORTRAIT_PARAMETERS, PORTRAIT_IMAGE_INPUT]
    assert workflow.versions.get().number == 1


@pytest.mark.django_db
def test_a_json_file_upload_works(client, alice):
    client.force_login(alice)
    upload = SimpleUploadedFile(
        "graph.json", json.dumps(preset_graph()).encode(), "application/json"
    )
    response = post(client, graph_text="", graph_file=upload)
    assert response.status_code == 302
    assert Workflow.objects.filter(owner=alice).count() == 1


def big_graph(nodes):
    graph = {"1": {"class_type": "LoadImage", "inputs": {"image": "INPUT_FILENAME"}}}
    for i in range(2, nodes + 1):
        graph[str(i)] = {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}
    return graph


def deeply_nested():
    value: list = []
    for _ in range(200):
        value = [value]
    graph = preset_graph()
    graph["6"]["inputs"]["filename_prefix"] = value
    return graph


def schema_targeting_twice():
    parameters = copy.deepcopy(PORTRAIT_PARAMETERS)
    parameters[1].update(node_id="3", node_input="blend_factor")
    return parameters


BAD_INPUT = {
    "invalid JSON": ({"graph_text": '{"1": {"class_type": '}, "not valid JSON"),
    "a 5 MB graph": (
        {"graph_text": json.dumps({"1": {"class_type": "X", "inputs": {"t": "a" * 5_000_000}}})},
        "Creator accepts graphs up to 1 MB",
    ),
    "10,000 nodes": ({"graph_text": json.dumps(big_graph(10_000))}, "at most 500"),
    "deep nesting": ({"graph_text": json.dumps(deeply_nested())}, "nested more than 20 levels"),
    "a UI export": (
        {"graph_text": json.dumps({"nodes": [], "links": [], "version": 0.4})},
        "Export (API)",
    ),
    "a dangling link": (
        {
            "graph_text": json.dumps(
                {
                    **preset_graph(),
                    "4": {"class_type": "ImageSharpen", "inputs": {"image": ["9", 0]}},
                }
            )
        },
        "Node 4 (ImageSharpen), input “image”: links to node 9",
    ),
    "a schema targeting one input twice": (
        {"parameters_text": json.dumps(schema_targeting_twice())},
        "Node 3 (ImageBlend), input “blend_factor”: parameters “softening” and “sharpen”",
    ),
    "a schema that is not a list": ({"parameters_text": '{"a": 1}'}, "must be a JSON list"),
    "no graph at all": ({"graph_text": ""}, "Paste the workflow JSON or upload"),
    "an overlong name": ({"name": "x" * 500}, "at most 120 characters"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD_INPUT, ids=list(BAD_INPUT))
def test_bad_input_is_refused_and_nothing_is_stored(client, alice, counts, case):
    data, expected = BAD_INPUT[case]
    client.force_login(alice)
    before = counts()
    response = post(client, **data)
    assert response.status_code == 400
    html = response.content.decode()
    assert expected.replace("“", "&ldquo;") in html or expected in html, html[:3000]
    assert counts() == before


@pytest.mark.django_db
def test_a_5_mb_file_upload_is_refused(client, alice, counts):
    client.force_login(alice)
    before = counts()
    upload = SimpleUploadedFile("big.json", b'{"1": "' + b"a" * (5 * 1024 * 1024) + b'"}')
    response = post(client, graph_text="", graph_file=upload)
    assert response.status_code == 400
    assert b"The workflow is 5.0 MB; Creator accepts graphs up to 1 MB" in response.content
    assert counts() == before


@pytest.mark.django_db
def test_html_in_names_and_descriptions_is_escaped(client, alice):
    client.force_login(alice)
    evil = '<script>alert("x")</script>'
    post(client, name=f"Nice {evil}", description=f"<img src=x onerror=alert(1)> {evil}")
    workflow = Workflow.objects.get(owner=alice)
    assert workflow.name == f"Nice {evil}"

    for url in (
        reverse("workflows:detail", kwargs={"workflow_id": workflow.id}),
        reverse("workflows:list"),
        reverse("workflows:run", kwargs={"workflow_id": workflow.id}),
    ):
        html = client.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert "<img src=x" not in html, url
        assert "&lt;script&gt;alert" in html, url


@pytest.mark.django_db
def test_html_in_graph_titles_and_parameter_labels_is_escaped(client, alice):
    client.force_login(alice)
    graph = preset_graph()
    graph["2"]["_meta"]["title"] = "<b onmouseover=x>blur</b>"
    parameters = copy.deepcopy(PORTRAIT_PARAMETERS)
    parameters[0]["label"] = "<script>bad()</script>"
    parameters[0]["help"] = "<iframe src=//evil>"
    post(client, graph_text=json.dumps(graph), parameters_text=json.dumps(parameters))
    workflow = Workflow.objects.get(owner=alice)
    for page in ("detail", "run"):
        html = client.get(
            reverse(f"workflows:{page}", kwargs={"workflow_id": workflow.id})
        ).content.decode()
        assert "<script>bad()" not in html
        assert "<iframe src=//evil>" not in html
        assert "<b onmouseover" not in html
