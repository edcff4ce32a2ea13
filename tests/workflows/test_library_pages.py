"""The workflow library, detail, parameter editing, fork and run pages."""

import json

import pytest
from django.urls import reverse

from tests.workflows.factories import WorkflowFactory
from workflows.models import Workflow
from workflows.selectors import preset_get


@pytest.mark.django_db
def test_tabs_filter_and_search(client, alice, bob):
    WorkflowFactory(owner=alice, name="Alice upscaler", category="upscaling")
    WorkflowFactory(owner=alice, name="Alice inpaint", category="inpainting")
    WorkflowFactory(owner=bob, name="Bob public", visibility="public")
    WorkflowFactory(owner=bob, name="Bob private")
    client.force_login(alice)
    url = reverse("workflows:list")

    mine = client.get(url).content.decode()
    assert "Alice upscaler" in mine and "Alice inpaint" in mine and "Bob" not in mine

    templates = client.get(url + "?tab=templates").content.decode()
    assert "Portrait Pro" in templates and "Cinematic" in templates

    public = client.get(url + "?tab=public").content.decode()
    assert "Bob public" in public and "Bob private" not in public

    filtered = client.get(url + "?tab=mine&category=upscaling").content.decode()
    assert "Alice upscaler" in filtered and "Alice inpaint" not in filtered

    searched = client.get(url + "?tab=mine&q=inpaint").content.decode()
    assert "Alice inpaint" in searched and "Alice upscaler" not in searched


@pytest.mark.django_db
def test_detail_shows_nodes_parameters_and_version_diffs(client, alice):
    workflow = WorkflowFactory(owner=alice)
    client.force_login(alice)
    params = workflow.parameters + [
        {
            "name": "upscale",
            "type": "number",
            "min": 1,
            "max": 2,
            "node_id": "5",
            "node_input": "scale_by",
        }
    ]
    response = client.post(
        reverse("workflows:parameters", kwargs={"workflow_id": workflow.id}),
        {"parameters_text": json.dumps(params), "notes": "Expose upscale"},
    )
    assert response.status_code == 302
    html = client.get(
        reverse("workflows:detail", kwargs={"workflow_id": workflow.id})
    ).content.decode()
    assert "ImageBlend" in html and "ImageScaleBy" in html
    assert "Version 2" in html and "Expose upscale" in html
    assert "Parameter <code>upscale</code> added" in html
    version1 = client.get(
        reverse("workflows:version", kwargs={"workflow_id": workflow.id, "number": 1})
    )
    assert version1.status_code == 200


@pytest.mark.django_db
def test_an_invalid_parameter_edit_lists_problems_and_stores_nothing(client, alice):
    workflow = WorkflowFactory(owner=alice)
    client.force_login(alice)
    bad = [
        {"name": "a", "type": "number", "node_id": "3", "node_input": "blend_factor"},
        {"name": "b", "type": "number", "node_id": "3", "node_input": "blend_factor"},
    ]
    response = client.post(
        reverse("workflows:parameters", kwargs={"workflow_id": workflow.id}),
        {"parameters_text": json.dumps(bad), "notes": ""},
    )
    assert response.status_code == 400
    assert "Node 3 (ImageBlend)" in response.content.decode()
    assert workflow.versions.count() == 1


@pytest.mark.django_db
def test_fork_button_copies_a_preset(client, alice):
    preset = preset_get(slug="product_glow")
    client.force_login(alice)
    response = client.post(reverse("workflows:fork", kwargs={"workflow_id": preset.id}))
    copy = Workflow.objects.get(owner=alice)
    assert response["Location"] == reverse("workflows:detail", kwargs={"workflow_id": copy.id})
    assert copy.forked_from == preset


@pytest.mark.django_db
def test_run_form_posts_to_the_engine(client, alice):
    preset = preset_get(slug="portrait_pro")
    client.force_login(alice)
    html = client.get(reverse("workflows:run", kwargs={"workflow_id": preset.id})).content.decode()
    assert 'name="softening"' in html and 'max="1"' in html
    assert 'type="file"' in html and 'name="input_image"' in html
    assert f'action="{reverse("generations:create")}"' in html
    assert f'name="workflow" value="{preset.id}"' in html


@pytest.mark.django_db
def test_a_new_user_lands_on_the_templates_they_can_run(client, charlie):
    client.force_login(charlie)
    page = client.get(reverse("workflows:list")).content.decode()
    assert "Portrait Pro" in page
