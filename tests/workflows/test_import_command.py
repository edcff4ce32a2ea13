"""`manage.py import_workflow` validates, prints problems per node and exits non-zero."""

import copy
import json

import pytest
from django.core.management import CommandError, call_command

from tests.workflows.factories import PORTRAIT_IMAGE_INPUT, PORTRAIT_PARAMETERS, preset_graph
from workflows.models import Workflow, WorkflowVersion


def write(tmp_path, value, name="graph.json"):
    path = tmp_path / name
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return path


@pytest.mark.django_db
def test_it_imports_a_graph_for_a_user(tmp_path, alice, capsys):
    path = write(tmp_path, {"workflow_json": preset_graph(), "parameters": PORTRAIT_PARAMETERS})
    call_command("import_workflow", str(path), "--owner", "ALICE@example.com", "--name", "Mine")
    workflow = Workflow.objects.get(owner=alice)
    assert workflow.name == "Mine"
    assert workflow.parameters == [*PORTRAIT_PARAMETERS, PORTRAIT_IMAGE_INPUT]
    assert workflow.versions.count() == 1
    assert "Imported" in capsys.readouterr().out


@pytest.mark.django_db
def test_it_imports_a_preset(tmp_path):
    path = write(tmp_path, preset_graph("cinematic"), "moody_film.json")
    call_command("import_workflow", str(path), "--preset", "--slug", "moody_film")
    preset = Workflow.objects.get(owner__isnull=True, slug="moody_film")
    assert preset.name == "Moody Film"
    assert preset.is_template and preset.visibility == "public"


def deep():
    value: list = []
    for _ in range(50):
        value = [value]
    return {"1": {"class_type": "SaveImage", "inputs": {"images": value}}}


def targeting_twice():
    parameters = copy.deepcopy(PORTRAIT_PARAMETERS)
    parameters[1].update(node_id="3", node_input="blend_factor")
    return {"workflow_json": preset_graph(), "parameters": parameters}


CASES = {
    "invalid JSON": ("{nope", "not valid JSON"),
    "5 MB": (
        json.dumps({"1": {"class_type": "X", "inputs": {"t": "a" * 5_000_000}}}),
        "The workflow is 4.8 MB; Creator accepts graphs up to 1 MB",
    ),
    "10,000 nodes": (
        {
            str(i): {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}}
            for i in range(1, 10_001)
        },
        "at most 500",
    ),
    "deep nesting": (deep(), "nested more than 20 levels"),
    "dangling link": (
        {**preset_graph(), "4": {"class_type": "ImageSharpen", "inputs": {"image": ["9", 0]}}},
        "Node 4 (ImageSharpen), input “image”: links to node 9",
    ),
    "schema targeting twice": (targeting_twice(), "Node 3 (ImageBlend), input “blend_factor”"),
    "script in the name": (None, "name: Use at most 120 characters"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_invalid_input_prints_problems_and_stores_nothing(tmp_path, alice, capsys, case):
    content, expected = CASES[case]
    path = write(tmp_path, preset_graph() if content is None else content)
    extra = ["--name", "<script>x</script>" * 20] if content is None else []
    before = (Workflow.objects.count(), WorkflowVersion.objects.count())
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_workflow", str(path), "--owner", alice.email, *extra)
    assert expected in capsys.readouterr().err
    assert (Workflow.objects.count(), WorkflowVersion.objects.count()) == before


@pytest.mark.django_db
def test_it_needs_an_owner_or_preset(tmp_path):
    path = write(tmp_path, preset_graph())
    with pytest.raises(CommandError, match="--owner EMAIL or --preset"):
        call_command("import_workflow", str(path))
    with pytest.raises(CommandError, match="No user"):
        call_command("import_workflow", str(path), "--owner", "nobody@example.com")
