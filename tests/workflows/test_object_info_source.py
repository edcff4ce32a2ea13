"""Saving a workflow checks its graph against the engine's node catalogue,
which the site names in settings.WORKFLOWS_OBJECT_INFO (workflows never
imports the engine)."""

import json

import pytest
from django.urls import reverse

from tests.generations.factories import ComfyServerFactory
from tests.workflows.factories import preset_graph
from workflows.models import Workflow


def import_graph_with_unknown_node(client):
    graph = preset_graph()
    graph["3"]["class_type"] = "NodeNoServerHas"
    return client.post(
        reverse("workflows:create"),
        {
            "name": "Odd",
            "category": "image-to-image",
            "visibility": "private",
            "graph_text": json.dumps(graph),
            "parameters_text": "[]",
        },
    )


@pytest.mark.django_db
def test_a_node_the_servers_lack_is_refused_on_import(client, alice, comfy_dev_server):
    ComfyServerFactory(url=comfy_dev_server.url)
    client.force_login(alice)

    response = import_graph_with_unknown_node(client)

    assert response.status_code == 400
    assert "not installed on the ComfyUI servers" in response.content.decode()
    assert not Workflow.objects.filter(owner=alice).exists()


@pytest.mark.django_db
def test_without_a_catalogue_source_graphs_are_checked_structurally_only(
    client, alice, comfy_dev_server, settings
):
    ComfyServerFactory(url=comfy_dev_server.url)
    settings.WORKFLOWS_OBJECT_INFO = ""
    client.force_login(alice)

    response = import_graph_with_unknown_node(client)

    assert response.status_code == 302
    assert Workflow.objects.filter(owner=alice).exists()
