"""Factories for workflows and projects."""

import copy
import json
from pathlib import Path

import factory

from tests.factories import UserFactory
from workflows.models import Project, Workflow, WorkflowVersion

PRESETS = Path(__file__).resolve().parents[2] / "workflows" / "presets"


def preset_graph(slug: str = "portrait_pro") -> dict:
    return json.loads((PRESETS / f"{slug}.json").read_text())


PORTRAIT_PARAMETERS = [
    {
        "name": "softening",
        "type": "number",
        "label": "Skin softening",
        "default": 0.35,
        "min": 0,
        "max": 1,
        "node_id": "3",
        "node_input": "blend_factor",
    },
    {
        "name": "sharpen",
        "type": "number",
        "default": 0.8,
        "min": 0,
        "max": 2,
        "node_id": "4",
        "node_input": "alpha",
    },
]


# What saving a portrait graph adds to its schema: node "1" is its only image input.
PORTRAIT_IMAGE_INPUT = {
    "name": "image",
    "type": "image",
    "label": "Input image",
    "required": True,
    "node_id": "1",
    "node_input": "image",
}


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    color = "#1E5A6E"


class WorkflowFactory(factory.django.DjangoModelFactory):
    """A valid portrait workflow with its first version."""

    class Meta:
        model = Workflow
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Workflow {n}")
    slug = factory.Sequence(lambda n: f"workflow-{n}")
    workflow_json = factory.LazyFunction(preset_graph)
    parameters = factory.LazyFunction(
        lambda: copy.deepcopy([*PORTRAIT_PARAMETERS, PORTRAIT_IMAGE_INPUT])
    )

    @factory.post_generation
    def first_version(self, create, extracted, **kwargs):
        if create:
            WorkflowVersion.objects.create(
                workflow=self,
                number=1,
                workflow_json=self.workflow_json,
                parameters=self.parameters,
                created_by=self.owner,
            )
