"""Migration 0003 names the image inputs of workflows saved before inputs came
from the graph, so each runs as it did: node "1" with the INPUT_FILENAME
placeholder becomes the required input `image`."""

import copy
import importlib

import pytest
from django.apps import apps

from tests.workflows.factories import (
    PORTRAIT_IMAGE_INPUT,
    PORTRAIT_PARAMETERS,
    WorkflowFactory,
    preset_graph,
)
from workflows.models import Workflow, WorkflowVersion
from workflows.parameters import graph_compile, workflow_problems
from workflows.preset_sync import presets_read

migration = importlib.import_module("workflows.migrations.0003_image_inputs")

pytestmark = pytest.mark.django_db


def migrate():
    migration.name_image_inputs(apps, None)


def old_style(**fields):
    """A workflow as saved before: no image entry in its schema or its version's."""
    return WorkflowFactory(parameters=copy.deepcopy(PORTRAIT_PARAMETERS), **fields)


def test_the_placeholder_node_becomes_the_input_named_image(alice):
    workflow = old_style(owner=alice)
    assert workflow.workflow_json["1"]["inputs"]["image"] == "INPUT_FILENAME"

    migrate()

    workflow.refresh_from_db()
    version = workflow.versions.get()
    assert workflow.parameters == version.parameters == [*PORTRAIT_PARAMETERS, PORTRAIT_IMAGE_INPUT]
    assert workflow_problems(graph=workflow.workflow_json, parameters=workflow.parameters) == []
    compiled = graph_compile(
        graph=version.workflow_json,
        parameters=version.parameters,
        values={},
        inputs={"image": "creator/j/input.png"},
    )
    assert compiled["1"]["inputs"]["image"] == "creator/j/input.png"


def test_other_image_nodes_become_optional_inputs_keeping_their_file(alice):
    graph = preset_graph()
    graph["7"] = {
        "class_type": "LoadImage",
        "inputs": {"image": "watermark.png"},
        "_meta": {"title": "Watermark"},
    }
    graph["8"] = {
        "class_type": "LoadImageMask",
        "inputs": {"image": "vignette.png", "channel": "green"},
        "_meta": {"title": "Load Image (as Mask)"},
    }
    workflow = old_style(owner=alice, workflow_json=graph)

    migrate()

    workflow.refresh_from_db()
    assert workflow.parameters[len(PORTRAIT_PARAMETERS) :] == [
        PORTRAIT_IMAGE_INPUT,
        {
            "name": "watermark",
            "type": "image",
            "label": "Watermark",
            "required": False,
            "node_id": "7",
            "node_input": "image",
        },
        {
            "name": "image_8",
            "type": "image",
            "label": "Mask 8",
            "required": False,
            "node_id": "8",
            "node_input": "image",
            "channel": "green",
        },
    ]
    compiled = graph_compile(
        graph=graph, parameters=workflow.parameters, values={}, inputs={"image": "in.png"}
    )
    assert compiled["7"]["inputs"]["image"] == "watermark.png"
    assert compiled["8"]["inputs"]["channel"] == "green"


def test_an_image_parameter_that_got_the_upload_stays_the_input(alice):
    photo = {"name": "photo", "type": "image", "required": False}
    photo.update(node_id="1", node_input="image")
    workflow = old_style(owner=alice)
    Workflow.objects.filter(id=workflow.id).update(parameters=[photo])
    WorkflowVersion.objects.filter(workflow=workflow).update(parameters=[photo])

    migrate()

    # It received the one upload on every run, so it is required now.
    workflow.refresh_from_db()
    assert workflow.parameters == [{**photo, "required": True}]
    assert workflow.versions.get().parameters == [{**photo, "required": True}]


def test_running_it_again_changes_nothing(alice):
    workflow = old_style(owner=alice)
    migrate()
    workflow.refresh_from_db()
    first = workflow.parameters, workflow.updated_at

    migrate()

    workflow.refresh_from_db()
    assert (workflow.parameters, workflow.updated_at) == first


def test_the_presets_end_as_their_shipped_definitions_say():
    shipped = {p["slug"]: p["parameters"] for p in presets_read()}
    for preset in Workflow.objects.filter(owner__isnull=True, slug__in=shipped):
        old = [p for p in preset.parameters if p["type"] != "image"]
        Workflow.objects.filter(id=preset.id).update(parameters=old)

    migrate()

    for preset in Workflow.objects.filter(owner__isnull=True, slug__in=shipped):
        assert preset.parameters == shipped[preset.slug]
