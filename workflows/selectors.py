"""Reads of workflows and projects, always scoped to who is asking.

Another user's private workflow or project does not exist for the caller:
every selector raises NotFound for it, exactly as for an unknown id, so ids
cannot be probed. Unlisted workflows are reachable only by their public slug.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet

from creator_site.errors import NotFound
from workflows.graph import is_link, node_sort_key
from workflows.models import Project, Workflow, WorkflowVersion

LIST_TABS = ("mine", "templates", "public")


def _as_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def _visible_to(user, via: str = "") -> Q:
    """Own workflows, public ones and templates (presets are public templates).
    `via`: the path to the workflow from the queried model ("workflow__")."""
    shared = Q(**{f"{via}visibility": Workflow.Visibility.PUBLIC}) | Q(
        **{f"{via}is_template": True, f"{via}owner__isnull": True}
    )
    if user is not None and user.is_authenticated:
        return Q(**{f"{via}owner": user}) | shared
    return shared


def _mine_or_preset(user, via: str = "") -> Q:
    """Where a slug is looked up: the user's own workflows and the presets."""
    q = Q(**{f"{via}owner__isnull": True})
    if user is not None and user.is_authenticated:
        q |= Q(**{f"{via}owner": user})
    return q


# --- workflows ----------------------------------------------------------------


def workflow_get_for_user(*, user, id_or_slug: Any) -> Workflow:
    """A workflow the user may see and run: their own, a public one or a template.

    `id_or_slug` is a UUID, the slug of one of the user's workflows, or a
    preset slug (the user's own slug wins). Raises NotFound otherwise."""
    workflow_id = _as_uuid(id_or_slug)
    # No joins: creating a job (the hot path) needs none of the related rows.
    qs = Workflow.objects.all()
    if workflow_id is not None:
        workflow = qs.filter(_visible_to(user), id=workflow_id).first()
    else:
        # One query: the user's own workflow with this slug if any, else the preset.
        workflow = (
            qs.filter(_mine_or_preset(user), slug=str(id_or_slug))
            .order_by(F("owner_id").asc(nulls_last=True), "-created_at")
            .first()
        )
    if workflow is None:
        raise NotFound("No such workflow.")
    return workflow


def workflow_version_get_for_user(*, user, id_or_slug: Any) -> WorkflowVersion:
    """The latest version of the workflow `workflow_get_for_user` finds, with
    that workflow, in one query (job creation needs both). Raises NotFound."""
    workflow_id = _as_uuid(id_or_slug)
    qs = WorkflowVersion.objects.select_related("workflow")
    if workflow_id is not None:
        qs = qs.filter(_visible_to(user, "workflow__"), workflow_id=workflow_id)
        ordering = ["-number"]
    else:
        # The user's own workflow with this slug first, else the preset;
        # within it the newest version.
        qs = qs.filter(_mine_or_preset(user, "workflow__"), workflow__slug=str(id_or_slug))
        ordering = [
            F("workflow__owner_id").asc(nulls_last=True),
            "-workflow__created_at",
            "workflow_id",
            "-number",
        ]
    version = qs.order_by(*ordering).first()
    if version is None:
        raise NotFound("No such workflow.")
    return version


def workflow_get_owned(*, user, workflow_id: Any) -> Workflow:
    """One of the user's own workflows (for editing). Raises NotFound otherwise."""
    workflow_id = _as_uuid(workflow_id)
    workflow = (
        Workflow.objects.select_related("project").filter(owner=user, id=workflow_id).first()
        if workflow_id is not None and user.is_authenticated
        else None
    )
    if workflow is None:
        raise NotFound("No such workflow.")
    return workflow


def workflow_get_by_public_slug(*, public_slug: str) -> Workflow:
    """An unlisted (or public) workflow reached through its share link."""
    workflow = (
        Workflow.objects.select_related("owner")
        .filter(
            public_slug=str(public_slug)[:32],
            visibility__in=[Workflow.Visibility.UNLISTED, Workflow.Visibility.PUBLIC],
        )
        .first()
    )
    if workflow is None:
        raise NotFound("No such workflow.")
    return workflow


def preset_get(*, slug: str) -> Workflow:
    """A system preset by slug (e.g. a user's `default_preset`). Raises NotFound."""
    workflow = Workflow.objects.filter(owner__isnull=True, slug=slug).first()
    if workflow is None:
        raise NotFound("No such preset.")
    return workflow


def preset_list() -> QuerySet[Workflow]:
    return Workflow.objects.filter(owner__isnull=True).order_by("name")


def workflow_list(
    *,
    user,
    tab: str = "mine",
    category: str | None = None,
    search: str | None = None,
    project: Project | None = None,
) -> QuerySet[Workflow]:
    """Workflows for the library tabs: the user's own, templates, or public ones."""
    qs = Workflow.objects.select_related("owner", "project")
    if tab == "templates":
        qs = qs.filter(is_template=True).filter(
            Q(owner__isnull=True) | Q(visibility=Workflow.Visibility.PUBLIC) | Q(owner=user)
        )
        qs = qs.order_by("-use_count", "name")
    elif tab == "public":
        qs = qs.filter(visibility=Workflow.Visibility.PUBLIC).order_by("-use_count", "-created_at")
    else:
        qs = qs.filter(owner=user).order_by("-updated_at")
    if category:
        qs = qs.filter(category=category)
    if project is not None:
        qs = qs.filter(project=project)
    if search:
        search = search.strip()[:100]
        qs = qs.filter(Q(name__icontains=search) | Q(description__icontains=search))
    return qs


def workflow_versions(*, workflow: Workflow) -> QuerySet[WorkflowVersion]:
    return workflow.versions.select_related("created_by", "parent").order_by("-number")


def workflow_version_get(*, workflow: Workflow, number: int | None = None) -> WorkflowVersion:
    """A version of a workflow the caller already may see; the latest by default."""
    qs = workflow.versions.all()  # no joins: job creation needs the version's own columns
    version = qs.order_by("-number").first() if number is None else qs.filter(number=number).first()
    if version is None:
        raise NotFound("No such version.")
    return version


@dataclass(frozen=True)
class GraphNodeSummary:
    node_id: str
    class_type: str
    title: str
    values: dict[str, Any]
    links: dict[str, str]


def graph_summary(*, graph: dict) -> list[GraphNodeSummary]:
    """The nodes of a graph for display, in numeric id order."""

    nodes = []
    for node_id in sorted(graph, key=node_sort_key):
        node = graph[node_id] if isinstance(graph[node_id], dict) else {}
        inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
        meta = node.get("_meta") if isinstance(node.get("_meta"), dict) else {}
        nodes.append(
            GraphNodeSummary(
                node_id=node_id,
                class_type=str(node.get("class_type", "")),
                title=str(meta.get("title", "")),
                values={k: v for k, v in inputs.items() if not is_link(v)},
                links={
                    k: f"node {v[0]} output {v[1]}"
                    for k, v in inputs.items()
                    if is_link(v) and len(v) == 2
                },
            )
        )
    return nodes


@dataclass(frozen=True)
class InputChange:
    node_id: str
    class_type: str
    input_name: str
    before: Any
    after: Any
    change: str  # "changed", "added", "removed", "node added", "node removed"


def workflow_version_diff(
    *, older: WorkflowVersion | None, newer: WorkflowVersion
) -> dict[str, list]:
    """What changed between two versions: node inputs and exposed parameters."""
    before_graph = older.workflow_json if older else {}
    after_graph = newer.workflow_json
    changes: list[InputChange] = []
    for node_id in sorted(set(before_graph) | set(after_graph), key=str):
        old, new = before_graph.get(node_id), after_graph.get(node_id)
        if old is None:
            changes.append(
                InputChange(node_id, new.get("class_type", ""), "", None, None, "node added")
            )
            continue
        if new is None:
            changes.append(
                InputChange(node_id, old.get("class_type", ""), "", None, None, "node removed")
            )
            continue
        old_inputs, new_inputs = old.get("inputs", {}), new.get("inputs", {})
        class_type = new.get("class_type", "")
        if old.get("class_type") != class_type:
            changes.append(
                InputChange(
                    node_id, class_type, "class_type", old.get("class_type"), class_type, "changed"
                )
            )
        for name in sorted(set(old_inputs) | set(new_inputs)):
            if name not in old_inputs:
                changes.append(
                    InputChange(node_id, class_type, name, None, new_inputs[name], "added")
                )
            elif name not in new_inputs:
                changes.append(
                    InputChange(node_id, class_type, name, old_inputs[name], None, "removed")
                )
            elif old_inputs[name] != new_inputs[name]:
                changes.append(
                    InputChange(
                        node_id, class_type, name, old_inputs[name], new_inputs[name], "changed"
                    )
                )
    old_params = {p.get("name"): p for p in (older.parameters if older else [])}
    new_params = {p.get("name"): p for p in newer.parameters}
    param_changes = []
    for name in sorted(set(old_params) | set(new_params), key=str):
        if name not in old_params:
            param_changes.append((name, "added"))
        elif name not in new_params:
            param_changes.append((name, "removed"))
        elif old_params[name] != new_params[name]:
            param_changes.append((name, "changed"))
    return {"inputs": changes, "parameters": param_changes}


# --- projects -----------------------------------------------------------------


def project_list(*, user, archived: bool = False) -> QuerySet[Project]:
    """The user's projects; archived ones only when asked for."""
    return Project.objects.filter(owner=user, archived_at__isnull=not archived).order_by(
        "-created_at"
    )


def project_get_for_user(*, user, project_id: Any) -> Project:
    """One of the user's projects (archived included). Raises NotFound otherwise."""
    project_id = _as_uuid(project_id)
    project = (
        Project.objects.filter(owner=user, id=project_id).first()
        if project_id is not None and user.is_authenticated
        else None
    )
    if project is None:
        raise NotFound("No such project.")
    return project


def project_get_by_share_slug(*, share_slug: str) -> Project:
    """A shared, not archived project reached through its share link."""
    project = (
        Project.objects.filter(share_slug=str(share_slug)[:32], archived_at__isnull=True)
        .select_related("owner")
        .first()
        if share_slug
        else None
    )
    if project is None:
        raise NotFound("No such project.")
    return project


def project_shared_workflows(*, project: Project) -> QuerySet[Workflow]:
    """What a shared project page may show: its public and unlisted workflows."""
    return project.workflows.exclude(visibility=Workflow.Visibility.PRIVATE).order_by("name")
