"""Editing a workflow makes a new version linked to its parent; old ones stay intact."""

import copy

import pytest
from django.core.exceptions import ValidationError

from creator_site.errors import NotFound
from tests.workflows.factories import WorkflowFactory
from workflows.graph import GraphValidationError
from workflows.models import WorkflowVersion
from workflows.parameters import graph_compile
from workflows.selectors import workflow_version_diff, workflow_version_get
from workflows.services import workflow_version_create


@pytest.mark.django_db
def test_editing_keeps_the_old_version_intact_and_linked(alice):
    workflow = WorkflowFactory(owner=alice)
    first = workflow.current_version
    graph = copy.deepcopy(workflow.workflow_json)
    graph["5"]["inputs"]["scale_by"] = 2.0
    parameters = [*workflow.parameters]
    parameters.append(
        {
            "name": "upscale",
            "type": "number",
            "min": 1,
            "max": 2,
            "node_id": "5",
            "node_input": "scale_by",
        }
    )

    second = workflow_version_create(
        workflow=workflow, user=alice, graph=graph, parameters=parameters, notes="Bigger output"
    )

    assert second.number == 2
    assert second.parent == first
    assert second.notes == "Bigger output"
    assert second.created_by == alice
    first.refresh_from_db()
    assert first.workflow_json["5"]["inputs"]["scale_by"] == 1.5
    assert [p["name"] for p in first.parameters] == ["softening", "sharpen", "image"]
    workflow.refresh_from_db()
    assert workflow.workflow_json["5"]["inputs"]["scale_by"] == 2.0
    assert workflow.current_version == second

    # The old version is still readable and runnable.
    old = workflow_version_get(workflow=workflow, number=1)
    compiled = graph_compile(
        graph=old.workflow_json, parameters=old.parameters, values={}, inputs={"image": "a.png"}
    )
    assert compiled["5"]["inputs"]["scale_by"] == 1.5

    diff = workflow_version_diff(older=first, newer=second)
    [change] = diff["inputs"]
    assert (change.node_id, change.input_name, change.before, change.after) == (
        "5",
        "scale_by",
        1.5,
        2.0,
    )
    assert diff["parameters"] == [("upscale", "added")]


@pytest.mark.django_db
def test_a_schema_only_edit_keeps_the_graph(alice):
    workflow = WorkflowFactory(owner=alice)
    version = workflow_version_create(
        workflow=workflow, user=alice, parameters=workflow.parameters[:1], notes="Fewer knobs"
    )
    assert version.workflow_json == workflow.workflow_json
    # The graph's image node stays an input even when the edit leaves it out.
    assert [p["name"] for p in version.parameters] == ["softening", "image"]


@pytest.mark.django_db
def test_an_edit_that_changes_nothing_makes_no_version(alice):
    workflow = WorkflowFactory(owner=alice)
    with pytest.raises(ValidationError):
        workflow_version_create(workflow=workflow, user=alice, parameters=workflow.parameters)
    assert workflow.versions.count() == 1


@pytest.mark.django_db
def test_an_invalid_edit_stores_nothing(alice):
    workflow = WorkflowFactory(owner=alice)
    bad = copy.deepcopy(workflow.parameters)
    bad[1].update(node_id="3", node_input="blend_factor")
    with pytest.raises(GraphValidationError):
        workflow_version_create(workflow=workflow, user=alice, parameters=bad)
    assert WorkflowVersion.objects.filter(workflow=workflow).count() == 1
    workflow.refresh_from_db()
    assert workflow.parameters[1]["node_id"] == "4"


@pytest.mark.django_db
def test_only_the_owner_can_make_versions(alice, bob):
    workflow = WorkflowFactory(owner=alice)
    with pytest.raises(NotFound):
        workflow_version_create(workflow=workflow, user=bob, parameters=[])
    assert workflow.versions.count() == 1
