"""Workflow library, workflow pages and project pages. Views parse input,
call one selector or service, and render."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from workflows import selectors, services
from workflows.forms import (
    ParametersEditForm,
    ProjectForm,
    WorkflowImportForm,
    WorkflowSettingsForm,
    bootstrap_widgets,
    parameters_form,
)
from workflows.graph import GraphValidationError
from workflows.models import Workflow
from workflows.parameters import parameter_choices, parameters_json_schema

PAGE_SIZE = 24


def _add_service_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


# --- workflows ----------------------------------------------------------------


@login_required
def workflow_list(request):
    tab = request.GET.get("tab")
    if tab not in selectors.LIST_TABS:
        # A new user has no workflows yet: open on the presets they can run.
        has_own = selectors.workflow_list(user=request.user, tab="mine").exists()
        tab = "mine" if has_own else "templates"
    category = request.GET.get("category") or None
    if category not in Workflow.Category.values:
        category = None
    search = request.GET.get("q", "").strip()[:100]
    workflows = selectors.workflow_list(
        user=request.user, tab=tab, category=category, search=search
    )
    page = Paginator(workflows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "workflows/list.html",
        {
            "tab": tab,
            "tabs": [("mine", "My workflows"), ("templates", "Templates"), ("public", "Public")],
            "category": category,
            "categories": Workflow.Category.choices,
            "search": search,
            "page": page,
        },
    )


@login_required
def workflow_create(request):
    form = WorkflowImportForm(request.POST or None, request.FILES or None, user=request.user)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            workflow = services.workflow_create(
                user=request.user,
                name=data["name"],
                description=data["description"],
                category=data["category"],
                visibility=data["visibility"],
                project=data["project"],
                graph=data["graph"],
                parameters=data["parameters_text"],
                notes="Imported.",
                object_info=services.comfyui_object_info(),
            )
        except GraphValidationError as exc:
            problems = exc.messages
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"“{workflow.name}” was imported.")
            return redirect("workflows:detail", workflow_id=workflow.id)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "workflows/create.html", {"form": form, "problems": problems}, status=status
    )


def _default_display(param: dict) -> str:
    default = param.get("default")
    if param.get("type") == "seed" and default in (None, ""):
        return "random"
    if default is None:
        return "—"
    for value, label in parameter_choices(param):
        if value == default:
            return label
    return str(default)


def _detail_context(request, workflow: Workflow, *, shared: bool = False) -> dict:
    versions = list(selectors.workflow_versions(workflow=workflow))
    history = []
    for version in versions:
        diff = selectors.workflow_version_diff(older=version.parent, newer=version)
        history.append({"version": version, "diff": diff})
    return {
        "workflow": workflow,
        "nodes": selectors.graph_summary(graph=workflow.workflow_json),
        "parameters": [
            {**param, "default_display": _default_display(param)} for param in workflow.parameters
        ],
        "history": history,
        "is_owner": request.user.is_authenticated and workflow.owner_id == request.user.id,
        "shared": shared,
        "share_url": request.build_absolute_uri(
            reverse("workflows:shared", kwargs={"public_slug": workflow.public_slug})
        )
        if workflow.visibility != Workflow.Visibility.PRIVATE
        else None,
        "api_schema": json.dumps(parameters_json_schema(workflow.parameters), indent=2),
    }


@login_required
def workflow_detail(request, workflow_id):
    workflow = selectors.workflow_get_for_user(user=request.user, id_or_slug=workflow_id)
    return render(request, "workflows/detail.html", _detail_context(request, workflow))


def workflow_shared(request, public_slug):
    workflow = selectors.workflow_get_by_public_slug(public_slug=public_slug)
    return render(request, "workflows/detail.html", _detail_context(request, workflow, shared=True))


@login_required
def workflow_version(request, workflow_id, number):
    workflow = selectors.workflow_get_for_user(user=request.user, id_or_slug=workflow_id)
    version = selectors.workflow_version_get(workflow=workflow, number=number)
    return render(
        request,
        "workflows/version.html",
        {
            "workflow": workflow,
            "version": version,
            "nodes": selectors.graph_summary(graph=version.workflow_json),
            "diff": selectors.workflow_version_diff(older=version.parent, newer=version),
            "graph_json": json.dumps(version.workflow_json, indent=2),
            "parameters_json": json.dumps(version.parameters, indent=2),
        },
    )


@login_required
def workflow_edit(request, workflow_id):
    workflow = selectors.workflow_get_owned(user=request.user, workflow_id=workflow_id)
    initial = {
        "name": workflow.name,
        "description": workflow.description,
        "category": workflow.category,
        "visibility": workflow.visibility,
        "project": workflow.project,
    }
    form = WorkflowSettingsForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.workflow_update(
                workflow=workflow,
                user=request.user,
                name=data["name"],
                description=data["description"],
                category=data["category"],
                visibility=data["visibility"],
            )
            services.workflow_set_project(
                workflow=workflow, user=request.user, project=data["project"]
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("workflows:detail", workflow_id=workflow.id)
    return render(request, "workflows/edit.html", {"workflow": workflow, "form": form})


@login_required
def workflow_parameters(request, workflow_id):
    workflow = selectors.workflow_get_owned(user=request.user, workflow_id=workflow_id)
    form = ParametersEditForm(
        request.POST or None,
        initial={"parameters_text": json.dumps(workflow.parameters, indent=2)},
    )
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            version = services.workflow_version_create(
                workflow=workflow,
                user=request.user,
                parameters=form.cleaned_data["parameters_text"],
                notes=form.cleaned_data["notes"],
                object_info=services.comfyui_object_info(),
            )
        except GraphValidationError as exc:
            problems = exc.messages
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved as version {version.number}.")
            return redirect("workflows:detail", workflow_id=workflow.id)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "workflows/parameters.html",
        {"workflow": workflow, "form": form, "problems": problems},
        status=status,
    )


@login_required
@require_POST
def workflow_fork(request, workflow_id):
    workflow = selectors.workflow_get_for_user(user=request.user, id_or_slug=workflow_id)
    copy = services.workflow_fork(user=request.user, workflow=workflow)
    messages.success(request, f"“{copy.name}” was copied into your library.")
    return redirect("workflows:detail", workflow_id=copy.id)


@login_required
@require_POST
def workflow_fork_shared(request, public_slug):
    workflow = selectors.workflow_get_by_public_slug(public_slug=public_slug)
    copy = services.workflow_fork(user=request.user, workflow=workflow)
    messages.success(request, f"“{copy.name}” was copied into your library.")
    return redirect("workflows:detail", workflow_id=copy.id)


@login_required
@require_POST
def workflow_delete(request, workflow_id):
    workflow = selectors.workflow_get_owned(user=request.user, workflow_id=workflow_id)
    name = workflow.name
    services.workflow_delete(workflow=workflow, user=request.user)
    messages.success(request, f"“{name}” was deleted.")
    return redirect("workflows:list")


@login_required
def workflow_run(request, workflow_id):
    workflow = selectors.workflow_get_for_user(user=request.user, id_or_slug=workflow_id)
    form = parameters_form(workflow)()
    bootstrap_widgets(form)
    return render(
        request,
        "workflows/run.html",
        {"workflow": workflow, "form": form, "run_url": reverse("generations:create")},
    )


# --- projects -----------------------------------------------------------------


@login_required
def project_list(request):
    archived = request.GET.get("archived") == "1"
    projects = selectors.project_list(user=request.user, archived=archived)
    return render(request, "projects/list.html", {"projects": projects, "archived": archived})


@login_required
def project_create(request):
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            project = services.project_create(
                user=request.user,
                name=data["name"],
                description=data["description"],
                color=data["color"],
                tags=data["tags"],
                metadata=data["metadata_text"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"Project “{project.name}” was created.")
            return redirect("workflows:project_detail", project_id=project.id)
    status = 400 if request.method == "POST" else 200  # a refused form, as on the import page
    return render(request, "projects/form.html", {"form": form, "project": None}, status=status)


@login_required
def project_detail(request, project_id):
    project = selectors.project_get_for_user(user=request.user, project_id=project_id)
    workflows = selectors.workflow_list(user=request.user, tab="mine", project=project)
    share_url = (
        request.build_absolute_uri(
            reverse("workflows:project_shared", kwargs={"share_slug": project.share_slug})
        )
        if project.share_slug
        else None
    )
    return render(
        request,
        "projects/detail.html",
        {"project": project, "workflows": workflows, "share_url": share_url},
    )


@login_required
def project_edit(request, project_id):
    project = selectors.project_get_for_user(user=request.user, project_id=project_id)
    initial = {
        "name": project.name,
        "description": project.description,
        "color": project.color,
        "tags": ", ".join(project.tags),
        "metadata_text": json.dumps(project.metadata, indent=2) if project.metadata else "",
    }
    form = ProjectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.project_update(
                project=project,
                user=request.user,
                name=data["name"],
                description=data["description"],
                color=data["color"],
                tags=data["tags"],
                metadata=data["metadata_text"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("workflows:project_detail", project_id=project.id)
    status = 400 if request.method == "POST" else 200  # a refused form, as on the import page
    return render(request, "projects/form.html", {"form": form, "project": project}, status=status)


@login_required
@require_POST
def project_archive(request, project_id):
    project = selectors.project_get_for_user(user=request.user, project_id=project_id)
    services.project_archive(project=project, user=request.user)
    messages.success(request, f"“{project.name}” was archived. You can restore it any time.")
    return redirect("workflows:project_list")


@login_required
@require_POST
def project_restore(request, project_id):
    project = selectors.project_get_for_user(user=request.user, project_id=project_id)
    services.project_restore(project=project, user=request.user)
    messages.success(request, f"“{project.name}” was restored.")
    return redirect("workflows:project_detail", project_id=project.id)


@login_required
@require_POST
def project_share(request, project_id):
    project = selectors.project_get_for_user(user=request.user, project_id=project_id)
    services.project_share(project=project, user=request.user)
    messages.success(request, "Anyone with the link can now see this project.")
    return redirect("workflows:project_detail", project_id=project.id)


@login_required
@require_POST
def project_unshare(request, project_id):
    project = selectors.project_get_for_user(user=request.user, project_id=project_id)
    services.project_unshare(project=project, user=request.user)
    messages.success(request, "The share link was revoked; it no longer works.")
    return redirect("workflows:project_detail", project_id=project.id)


def project_shared(request, share_slug):
    project = selectors.project_get_by_share_slug(share_slug=share_slug)
    return render(
        request,
        "projects/shared.html",
        {
            "project": project,
            "workflows": selectors.project_shared_workflows(project=project),
        },
    )
