"""Services that change workflows and projects (keyword-only, HackSoft style).

Validation failures raise `GraphValidationError` (graph or schema problems,
each naming its node) or Django's `ValidationError` (a dict of field errors
for names, descriptions, colours...). Nothing is written when either is
raised. Counters are changed with F expressions so concurrent requests
never lose an update.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.http import Http404
from django.utils import timezone
from django.utils.text import slugify

from workflows.graph import GraphValidationError, graph_validate, json_depth
from workflows.models import (
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    NOTES_MAX_LENGTH,
    Project,
    Workflow,
    WorkflowVersion,
    hex_colour_validator,
)

__all__ = [
    "GraphValidationError",
    "comfyui_object_info",
    "project_archive",
    "project_create",
    "project_record_generation",
    "project_restore",
    "project_share",
    "project_unshare",
    "project_update",
    "workflow_create",
    "workflow_delete",
    "workflow_fork",
    "workflow_record_use",
    "workflow_set_project",
    "workflow_update",
    "workflow_version_create",
]

MAX_TAGS = 20
TAG_MAX_LENGTH = 40
METADATA_MAX_BYTES = 10_000
METADATA_MAX_DEPTH = 5
MAX_CREDITS = 1000


def comfyui_object_info() -> dict | None:
    """The object_info to validate graphs against, when the engine offers one.

    The generations app owns the ComfyUI servers and their cached
    `/object_info`; it exposes `generations.servers.comfyui_object_info()`.
    Until it does (or when no server answered yet) graphs are checked
    structurally only, and the engine checks again before queueing."""
    try:
        from generations.servers import comfyui_object_info as engine_object_info
    except ImportError:
        return None
    return engine_object_info()


# --- field checks -------------------------------------------------------------


def _clean_text(errors: dict, field: str, value: Any, limit: int, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.setdefault(field, []).append("Enter text.")
        return ""
    value = value.strip()
    if required and not value:
        errors.setdefault(field, []).append("This field is required.")
    if len(value) > limit:
        errors.setdefault(field, []).append(
            f"Use at most {limit:,} characters (this has {len(value):,})."
        )
    if "\x00" in value:
        errors.setdefault(field, []).append("Remove the null characters.")
    return value


def _clean_choice(errors: dict, field: str, value: Any, choices) -> str:
    if value not in choices.values:
        errors.setdefault(field, []).append(
            f"Choose one of: {', '.join(str(c) for c in choices.values)}."
        )
    return value


def _clean_credits(errors: dict, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CREDITS:
        errors.setdefault("estimated_credits", []).append(
            f"A run costs a whole number of credits from 1 to {MAX_CREDITS}."
        )
        return 1
    return value


def _clean_json_object(errors: dict, field: str, value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.setdefault(field, []).append("Use a JSON object.")
        return {}
    if json_depth(value) > METADATA_MAX_DEPTH:
        errors.setdefault(field, []).append(f"Nest at most {METADATA_MAX_DEPTH} levels deep.")
    elif len(json.dumps(value)) > METADATA_MAX_BYTES:
        errors.setdefault(field, []).append(f"Keep it under {METADATA_MAX_BYTES:,} bytes.")
    return value


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def _unique_slug(*, owner, base: str) -> str:
    base = (slugify(base) or "workflow")[:90].strip("-") or "workflow"
    taken = set(
        Workflow.objects.filter(owner=owner, slug__startswith=base).values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _workflow_insert(*, owner, slug: str | None, slug_base: str, **fields) -> Workflow:
    """Insert a workflow; a derived slug is retried if a concurrent request took it."""
    for _attempt in range(3):
        try:
            # A savepoint, so a lost race does not break the caller's transaction.
            with transaction.atomic():
                return Workflow.objects.create(
                    owner=owner, slug=slug or _unique_slug(owner=owner, base=slug_base), **fields
                )
        except IntegrityError:
            if slug:
                raise ValidationError(
                    {"slug": ["You already have a workflow with this slug."]}
                ) from None
    raise ValidationError({"name": ["Could not pick a unique slug; please try again."]})


def _check_project(errors: dict, *, user, project: Project | None) -> None:
    if project is None:
        return
    if project.owner_id != getattr(user, "id", None):
        raise Http404("No such project.")
    if project.archived_at is not None:
        errors.setdefault("project", []).append(
            "This project is archived. Restore it before adding workflows."
        )


# --- workflows ----------------------------------------------------------------


def workflow_create(
    *,
    user,
    name: str,
    graph: Any,
    parameters: Any = None,
    description: str = "",
    category: str = Workflow.Category.IMAGE_TO_IMAGE,
    visibility: str = Workflow.Visibility.PRIVATE,
    project: Project | None = None,
    slug: str | None = None,
    estimated_credits: int = 1,
    features: dict | None = None,
    is_template: bool = False,
    notes: str = "First version.",
    object_info: dict | None = None,
) -> Workflow:
    """Create a workflow owned by `user` (or a system preset when user is None)
    with its first version.

    Validates the graph and schema (against `object_info` when given) and
    the text fields; raises GraphValidationError or ValidationError and
    writes nothing when invalid. Runs in a transaction; the project's
    workflow_count moves with it."""
    if parameters is None:
        parameters = []
    errors: dict[str, list[str]] = {}
    name = _clean_text(errors, "name", name, NAME_MAX_LENGTH, required=True)
    description = _clean_text(
        errors, "description", description, DESCRIPTION_MAX_LENGTH, required=False
    )
    notes = _clean_text(errors, "notes", notes, NOTES_MAX_LENGTH, required=False)
    _clean_choice(errors, "category", category, Workflow.Category)
    _clean_choice(errors, "visibility", visibility, Workflow.Visibility)
    estimated_credits = _clean_credits(errors, estimated_credits)
    features = _clean_json_object(errors, "features", features)
    if slug:
        if slugify(slug) != slug or len(slug) > 100:
            errors.setdefault("slug", []).append(
                "Use lowercase letters, digits, hyphens and underscores only."
            )
        elif Workflow.objects.filter(owner=user, slug=slug).exists():
            errors.setdefault("slug", []).append("You already have a workflow with this slug.")
    _check_project(errors, user=user, project=project)
    _raise(errors)
    graph_validate(graph, object_info=object_info, parameters=parameters)

    with transaction.atomic():
        workflow = _workflow_insert(
            owner=user,
            slug=slug,
            slug_base=name,
            project=project,
            name=name,
            description=description,
            category=category,
            visibility=visibility,
            is_template=is_template,
            workflow_json=graph,
            parameters=parameters,
            features=features,
            estimated_credits=estimated_credits,
        )
        WorkflowVersion.objects.create(
            workflow=workflow,
            number=1,
            workflow_json=graph,
            parameters=parameters,
            notes=notes,
            created_by=user,
        )
        if project is not None:
            Project.objects.filter(id=project.id).update(workflow_count=F("workflow_count") + 1)
    return workflow


def workflow_update(
    *,
    workflow: Workflow,
    user,
    name: str | None = None,
    description: str | None = None,
    category: str | None = None,
    visibility: str | None = None,
    estimated_credits: int | None = None,
) -> Workflow:
    """Change a workflow's descriptive fields (no new version: the graph is
    untouched). Only the owner may; others get Http404. Raises ValidationError."""
    if workflow.owner_id is None or workflow.owner_id != user.id:
        raise Http404("No such workflow.")
    errors: dict[str, list[str]] = {}
    if name is not None:
        workflow.name = _clean_text(errors, "name", name, NAME_MAX_LENGTH, required=True)
    if description is not None:
        workflow.description = _clean_text(
            errors, "description", description, DESCRIPTION_MAX_LENGTH, required=False
        )
    if category is not None:
        workflow.category = _clean_choice(errors, "category", category, Workflow.Category)
    if visibility is not None:
        workflow.visibility = _clean_choice(errors, "visibility", visibility, Workflow.Visibility)
    if estimated_credits is not None:
        workflow.estimated_credits = _clean_credits(errors, estimated_credits)
    if errors:
        workflow.refresh_from_db()
        raise ValidationError(errors)
    workflow.save()
    return workflow


def workflow_version_create(
    *,
    workflow: Workflow,
    user,
    graph: Any = None,
    parameters: Any = None,
    notes: str = "",
    object_info: dict | None = None,
) -> WorkflowVersion:
    """Record an edit as a new version linked to the current one.

    `graph`/`parameters` default to the current ones (so a schema-only edit
    passes just `parameters`). Earlier versions stay untouched and runnable.
    Raises GraphValidationError/ValidationError (nothing written), including
    when nothing changed. Locks the workflow row so two concurrent edits get
    consecutive numbers. `user` None is a staff or preset edit."""
    if user is not None and workflow.owner_id != user.id:
        raise Http404("No such workflow.")
    errors: dict[str, list[str]] = {}
    notes = _clean_text(errors, "notes", notes, NOTES_MAX_LENGTH, required=False)
    _raise(errors)
    with transaction.atomic():
        locked = Workflow.objects.select_for_update().get(id=workflow.id)
        graph = locked.workflow_json if graph is None else graph
        parameters = locked.parameters if parameters is None else parameters
        graph_validate(graph, object_info=object_info, parameters=parameters)
        latest = locked.versions.order_by("-number").first()
        if latest is not None and latest.workflow_json == graph and latest.parameters == parameters:
            raise ValidationError({"__all__": ["Nothing changed, so no new version was made."]})
        version = WorkflowVersion.objects.create(
            workflow=locked,
            number=(latest.number + 1) if latest else 1,
            workflow_json=graph,
            parameters=parameters,
            notes=notes,
            parent=latest,
            created_by=user,
        )
        locked.workflow_json = graph
        locked.parameters = parameters
        locked.save(update_fields=["workflow_json", "parameters", "updated_at"])
    workflow.workflow_json, workflow.parameters = graph, parameters
    return version


def workflow_set_project(*, workflow: Workflow, user, project: Project | None) -> Workflow:
    """Move one of the user's workflows into a project (or out of any).

    Both projects' workflow_count follow. Raises Http404 for someone else's
    workflow or project, ValidationError for an archived project."""
    if workflow.owner_id is None or workflow.owner_id != user.id:
        raise Http404("No such workflow.")
    errors: dict[str, list[str]] = {}
    _check_project(errors, user=user, project=project)
    _raise(errors)
    with transaction.atomic():
        locked = Workflow.objects.select_for_update().get(id=workflow.id)
        old_project_id = locked.project_id
        new_project_id = project.id if project else None
        if old_project_id == new_project_id:
            return locked
        locked.project_id = new_project_id
        locked.save(update_fields=["project", "updated_at"])
        if old_project_id is not None:
            Project.objects.filter(id=old_project_id, workflow_count__gt=0).update(
                workflow_count=F("workflow_count") - 1
            )
        if new_project_id is not None:
            Project.objects.filter(id=new_project_id).update(workflow_count=F("workflow_count") + 1)
    workflow.project = project
    return workflow


def workflow_delete(*, workflow: Workflow, user) -> None:
    """Delete one of the user's workflows and its versions; the project's
    count follows. Presets are deleted only by staff in the admin."""
    if workflow.owner_id is None or workflow.owner_id != user.id:
        raise Http404("No such workflow.")
    with transaction.atomic():
        project_id = workflow.project_id
        workflow.delete()
        if project_id is not None:
            Project.objects.filter(id=project_id, workflow_count__gt=0).update(
                workflow_count=F("workflow_count") - 1
            )


def _can_fork(*, user, workflow: Workflow) -> bool:
    # Unlisted workflows are reached only through their share link, so a
    # caller holding one was given the link and may copy it.
    return (
        workflow.owner_id == user.id
        or workflow.is_template
        or workflow.visibility in (Workflow.Visibility.PUBLIC, Workflow.Visibility.UNLISTED)
    )


def workflow_fork(*, user, workflow: Workflow, project: Project | None = None) -> Workflow:
    """Copy a public, unlisted or template workflow (or one's own) into the
    user's library as a private workflow with `forked_from` set.

    The original's copy_count goes up atomically. Another user's private
    workflow raises Http404. Runs in a transaction."""
    if not user.is_authenticated or not _can_fork(user=user, workflow=workflow):
        raise Http404("No such workflow.")
    errors: dict[str, list[str]] = {}
    _check_project(errors, user=user, project=project)
    _raise(errors)
    latest = workflow.versions.order_by("-number").first()
    with transaction.atomic():
        copy = _workflow_insert(
            owner=user,
            slug=None,
            slug_base=workflow.slug,
            project=project,
            name=workflow.name,
            description=workflow.description,
            category=workflow.category,
            visibility=Workflow.Visibility.PRIVATE,
            is_template=False,
            workflow_json=workflow.workflow_json,
            parameters=workflow.parameters,
            features=workflow.features,
            estimated_credits=workflow.estimated_credits,
            forked_from=workflow,
        )
        WorkflowVersion.objects.create(
            workflow=copy,
            number=1,
            workflow_json=workflow.workflow_json,
            parameters=workflow.parameters,
            notes=(
                f"Copied from “{workflow.name}”" + (f" version {latest.number}." if latest else ".")
            )[:NOTES_MAX_LENGTH],
            created_by=user,
        )
        Workflow.objects.filter(id=workflow.id).update(copy_count=F("copy_count") + 1)
        if project is not None:
            Project.objects.filter(id=project.id).update(workflow_count=F("workflow_count") + 1)
    return copy


def workflow_record_use(*, workflow: Workflow) -> None:
    """Count one run of the workflow (called by the engine when a job is created)."""
    Workflow.objects.filter(id=workflow.id).update(use_count=F("use_count") + 1)


# --- projects -----------------------------------------------------------------


def _clean_tags(errors: dict, tags: Any) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [t for t in tags.split(",")]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        errors.setdefault("tags", []).append("Tags must be a list of words.")
        return []
    cleaned: list[str] = []
    for tag in tags:
        tag = tag.strip()
        if not tag or tag in cleaned:
            continue
        if len(tag) > TAG_MAX_LENGTH:
            errors.setdefault("tags", []).append(
                f"Tags can be at most {TAG_MAX_LENGTH} characters."
            )
            break
        cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        errors.setdefault("tags", []).append(f"Use at most {MAX_TAGS} tags.")
    return cleaned


def _clean_colour(errors: dict, color: Any) -> str:
    try:
        hex_colour_validator(color if isinstance(color, str) else "")
    except ValidationError as exc:
        errors.setdefault("color", []).extend(exc.messages)
        return ""
    return color.upper()


def project_create(
    *,
    user,
    name: str,
    description: str = "",
    color: str = "#6C757D",
    tags: Any = None,
    metadata: Any = None,
) -> Project:
    """Create a project. Raises ValidationError with per-field messages."""
    errors: dict[str, list[str]] = {}
    name = _clean_text(errors, "name", name, NAME_MAX_LENGTH, required=True)
    description = _clean_text(
        errors, "description", description, DESCRIPTION_MAX_LENGTH, required=False
    )
    color = _clean_colour(errors, color)
    tags = _clean_tags(errors, tags)
    metadata = _clean_json_object(errors, "metadata", metadata)
    _raise(errors)
    return Project.objects.create(
        owner=user, name=name, description=description, color=color, tags=tags, metadata=metadata
    )


def project_update(
    *,
    project: Project,
    user,
    name: str | None = None,
    description: str | None = None,
    color: str | None = None,
    tags: Any = None,
    metadata: Any = None,
) -> Project:
    """Change a project's fields; counters are not touched. Raises ValidationError."""
    if project.owner_id != user.id:
        raise Http404("No such project.")
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _clean_text(errors, "name", name, NAME_MAX_LENGTH, required=True)
    if description is not None:
        changes["description"] = _clean_text(
            errors, "description", description, DESCRIPTION_MAX_LENGTH, required=False
        )
    if color is not None:
        changes["color"] = _clean_colour(errors, color)
    if tags is not None:
        changes["tags"] = _clean_tags(errors, tags)
    if metadata is not None:
        changes["metadata"] = _clean_json_object(errors, "metadata", metadata)
    _raise(errors)
    for key, value in changes.items():
        setattr(project, key, value)
    # Counters are written only with F expressions; never save stale ones here.
    project.save(update_fields=[*changes, "updated_at"])
    return project


def project_archive(*, project: Project, user) -> Project:
    """Hide a project (soft delete). Its workflows and counters stay. Idempotent."""
    if project.owner_id != user.id:
        raise Http404("No such project.")
    Project.objects.filter(id=project.id, archived_at__isnull=True).update(
        archived_at=timezone.now()
    )
    project.refresh_from_db()
    return project


def project_restore(*, project: Project, user) -> Project:
    """Bring an archived project back. Idempotent."""
    if project.owner_id != user.id:
        raise Http404("No such project.")
    Project.objects.filter(id=project.id).update(archived_at=None)
    project.refresh_from_db()
    return project


def project_share(*, project: Project, user) -> str:
    """Give the project an unguessable share slug (kept if it has one) and return it."""
    if project.owner_id != user.id:
        raise Http404("No such project.")
    if not project.share_slug:
        project.share_slug = secrets.token_urlsafe(16)
        project.save(update_fields=["share_slug", "updated_at"])
    return project.share_slug


def project_unshare(*, project: Project, user) -> None:
    """Revoke the share slug; the old link becomes a 404 for good."""
    if project.owner_id != user.id:
        raise Http404("No such project.")
    project.share_slug = None
    project.save(update_fields=["share_slug", "updated_at"])


def project_record_generation(*, project: Project, at: datetime | None = None) -> None:
    """Count one generation in the project (called by the engine when a job
    is created). Atomic; `last_generation_at` only moves forward."""
    at = at or timezone.now()
    Project.objects.filter(id=project.id).update(
        generation_count=F("generation_count") + 1,
        last_generation_at=Greatest(Coalesce(F("last_generation_at"), Value(at)), Value(at)),
    )
