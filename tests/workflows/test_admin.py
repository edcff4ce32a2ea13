"""Staff manage workflows (with read-only versions), versions and projects in the admin."""

import json

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.workflows.factories import ProjectFactory
from workflows.selectors import preset_get


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.mark.django_db
def test_admin_pages_open(client, staff, alice):
    client.force_login(staff)
    preset = preset_get(slug="portrait_pro")
    version = preset.current_version
    project = ProjectFactory(owner=alice)
    for url in (
        reverse("admin:workflows_workflow_changelist"),
        reverse("admin:workflows_workflow_change", args=[preset.id]),
        reverse("admin:workflows_workflowversion_change", args=[version.id]),
        reverse("admin:workflows_project_changelist"),
        reverse("admin:workflows_project_change", args=[project.id]),
    ):
        assert client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_editing_a_preset_graph_in_the_admin_makes_a_new_version(client, staff):
    client.force_login(staff)
    preset = preset_get(slug="portrait_pro")
    before = preset.current_version
    graph = preset.workflow_json
    graph["4"]["inputs"]["alpha"] = 1.1
    data = {
        "name": preset.name,
        "slug": preset.slug,
        "description": preset.description,
        "category": preset.category,
        "visibility": preset.visibility,
        "is_template": "on",
        "workflow_json": json.dumps(graph),
        "parameters": json.dumps(preset.parameters),
        "features": json.dumps(preset.features),
        "estimated_credits": 2,
        "versions-TOTAL_FORMS": 0,
        "versions-INITIAL_FORMS": 0,
        "versions-MIN_NUM_FORMS": 0,
        "versions-MAX_NUM_FORMS": 1000,
    }
    response = client.post(reverse("admin:workflows_workflow_change", args=[preset.id]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    preset.refresh_from_db()
    latest = preset.current_version
    assert latest.number == before.number + 1
    assert latest.parent == before
    assert latest.workflow_json["4"]["inputs"]["alpha"] == 1.1
    assert preset.estimated_credits == 2


@pytest.mark.django_db
def test_the_admin_refuses_an_invalid_graph(client, staff):
    client.force_login(staff)
    preset = preset_get(slug="cinematic")
    graph = preset.workflow_json
    graph["4"]["inputs"]["image1"] = ["42", 0]
    data = {
        "name": preset.name,
        "slug": preset.slug,
        "category": preset.category,
        "visibility": preset.visibility,
        "workflow_json": json.dumps(graph),
        "parameters": json.dumps(preset.parameters),
        "features": "{}",
        "estimated_credits": 1,
        "versions-TOTAL_FORMS": 0,
        "versions-INITIAL_FORMS": 0,
        "versions-MIN_NUM_FORMS": 0,
        "versions-MAX_NUM_FORMS": 1000,
    }
    response = client.post(reverse("admin:workflows_workflow_change", args=[preset.id]), data)
    assert response.status_code == 200
    assert "links to node 42" in response.content.decode()
    assert preset.versions.count() == 1


@pytest.mark.django_db
def test_a_new_image_node_added_in_the_admin_becomes_a_named_input(client, staff):
    client.force_login(staff)
    preset = preset_get(slug="portrait_pro")
    graph = preset.workflow_json
    graph["7"] = {
        "class_type": "LoadImage",
        "inputs": {"image": "x.png"},
        "_meta": {"title": "Logo"},
    }
    graph["3"]["inputs"]["image2"] = ["7", 0]
    data = {
        "name": preset.name,
        "slug": preset.slug,
        "category": preset.category,
        "visibility": preset.visibility,
        "is_template": "on",
        "workflow_json": json.dumps(graph),
        "parameters": json.dumps(preset.parameters),
        "features": json.dumps(preset.features),
        "estimated_credits": 1,
        "versions-TOTAL_FORMS": 0,
        "versions-INITIAL_FORMS": 0,
        "versions-MIN_NUM_FORMS": 0,
        "versions-MAX_NUM_FORMS": 1000,
    }

    response = client.post(reverse("admin:workflows_workflow_change", args=[preset.id]), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    preset.refresh_from_db()
    assert [(p["name"], p["node_id"]) for p in preset.parameters if p["type"] == "image"] == [
        ("image", "1"),
        ("logo", "7"),
    ]
