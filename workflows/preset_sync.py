"""System presets shipped as data in `workflows/presets/`.

`presets.json` lists each preset's slug, name, description, category,
credits, feature flags, parameter schema and the file holding its API-format
graph. `presets_sync` loads them; the data migration and the `load_presets`
command both call it, so it only uses what a migration's historical models
offer (plain fields and querysets, no model methods).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.db import transaction

from workflows.parameters import workflow_problems

PRESETS_DIR = Path(__file__).resolve().parent / "presets"


def presets_read(directory: Path = PRESETS_DIR) -> list[dict[str, Any]]:
    """The preset definitions with their graphs, checked structurally.

    Raises ValueError naming the preset and its problems: a broken preset is
    a shipping bug and must stop the migration, not half-load."""
    definitions = json.loads((directory / "presets.json").read_text(encoding="utf-8"))
    presets = []
    for definition in definitions:
        graph = json.loads((directory / definition["graph"]).read_text(encoding="utf-8"))
        problems = workflow_problems(graph=graph, parameters=definition["parameters"])
        if problems:
            raise ValueError(
                f"Preset {definition['slug']} is invalid: " + "; ".join(map(str, problems))
            )
        presets.append({**definition, "workflow_json": graph})
    return presets


def presets_sync(*, apps=None, directory: Path = PRESETS_DIR) -> dict[str, str]:
    """Create or update every system preset. Idempotent.

    A preset whose graph or schema changed gets a new version linked to the
    previous one; unchanged presets get no new version. Returns
    {slug: "created" | "updated" | "unchanged"}. Runs in one transaction."""
    if apps is None:
        from workflows.models import Workflow, WorkflowVersion
    else:
        Workflow = apps.get_model("workflows", "Workflow")  # noqa: N806
        WorkflowVersion = apps.get_model("workflows", "WorkflowVersion")  # noqa: N806

    outcome: dict[str, str] = {}
    with transaction.atomic():
        for preset in presets_read(directory):
            fields = {
                "name": preset["name"],
                "description": preset.get("description", ""),
                "category": preset.get("category", "image-to-image"),
                "estimated_credits": preset.get("estimated_credits", 1),
                "features": preset.get("features", {}),
                "visibility": "public",
                "is_template": True,
            }
            workflow = (
                Workflow.objects.select_for_update()
                .filter(owner__isnull=True, slug=preset["slug"])
                .first()
            )
            if workflow is None:
                workflow = Workflow.objects.create(
                    owner=None,
                    slug=preset["slug"],
                    workflow_json=preset["workflow_json"],
                    parameters=preset["parameters"],
                    **fields,
                )
                WorkflowVersion.objects.create(
                    workflow=workflow,
                    number=1,
                    workflow_json=preset["workflow_json"],
                    parameters=preset["parameters"],
                    notes="Preset shipped with Creator.",
                )
                outcome[preset["slug"]] = "created"
                continue

            latest = WorkflowVersion.objects.filter(workflow=workflow).order_by("-number").first()
            graph_changed = latest is None or (
                latest.workflow_json != preset["workflow_json"]
                or latest.parameters != preset["parameters"]
            )
            meta_changed = any(getattr(workflow, k) != v for k, v in fields.items())
            if graph_changed:
                WorkflowVersion.objects.create(
                    workflow=workflow,
                    number=(latest.number + 1) if latest else 1,
                    workflow_json=preset["workflow_json"],
                    parameters=preset["parameters"],
                    parent=latest,
                    notes="Preset updated from the data shipped with Creator.",
                )
            if graph_changed or meta_changed:
                for key, value in fields.items():
                    setattr(workflow, key, value)
                workflow.workflow_json = preset["workflow_json"]
                workflow.parameters = preset["parameters"]
                workflow.save()
                outcome[preset["slug"]] = "updated"
            else:
                outcome[preset["slug"]] = "unchanged"
    return outcome
