import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from workflows import services
from workflows.graph import GraphValidationError
from workflows.models import Project, Workflow, WorkflowVersion
from workflows.parameters import image_inputs_complete, workflow_problems


class WorkflowVersionInline(admin.TabularInline):
    model = WorkflowVersion
    fk_name = "workflow"
    fields = ("number", "notes", "parent", "created_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-number",)
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class WorkflowAdminForm(forms.ModelForm):
    class Meta:
        model = Workflow
        fields = [
            "owner",
            "project",
            "name",
            "slug",
            "description",
            "category",
            "visibility",
            "is_template",
            "workflow_json",
            "parameters",
            "features",
            "estimated_credits",
            "thumbnail",
            "forked_from",
        ]

    def clean(self):
        cleaned = super().clean()
        graph, parameters = cleaned.get("workflow_json"), cleaned.get("parameters")
        if graph is not None and parameters is not None:
            parameters = cleaned["parameters"] = image_inputs_complete(
                graph=graph, parameters=parameters
            )
            problems = workflow_problems(
                graph=graph, parameters=parameters, object_info=services.comfyui_object_info()
            )
            if problems:
                raise ValidationError([str(p) for p in problems])
        return cleaned


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    """Staff edit presets here. A changed graph or schema is saved as a new
    version (through the same service the pages use), never in place."""

    form = WorkflowAdminForm
    list_display = (
        "name",
        "slug",
        "owner",
        "category",
        "visibility",
        "is_template",
        "estimated_credits",
        "use_count",
        "copy_count",
        "created_at",
    )
    list_filter = ("category", "visibility", "is_template", ("owner", admin.EmptyFieldListFilter))
    search_fields = ("name", "slug", "owner__email", "public_slug")
    raw_id_fields = ("owner", "project", "forked_from")
    readonly_fields = ("id", "use_count", "copy_count", "public_slug", "created_at", "updated_at")
    inlines = [WorkflowVersionInline]

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            WorkflowVersion.objects.create(
                workflow=obj,
                number=1,
                workflow_json=obj.workflow_json,
                parameters=obj.parameters,
                notes="Created in the admin.",
                created_by=request.user,
            )
            return
        graph_changed = {"workflow_json", "parameters"} & set(form.changed_data)
        new_graph, new_parameters = obj.workflow_json, obj.parameters
        if graph_changed:
            # Save the other fields with the stored graph, then let the
            # service record the edit as a version.
            stored = Workflow.objects.get(id=obj.id)
            obj.workflow_json, obj.parameters = stored.workflow_json, stored.parameters
        super().save_model(request, obj, form, change)
        if graph_changed:
            try:
                version = services.workflow_version_create(
                    workflow=obj,
                    user=None,
                    graph=new_graph,
                    parameters=new_parameters,
                    notes=f"Edited in the admin by {request.user.email}.",
                )
            except (GraphValidationError, ValidationError) as exc:
                messages.error(request, f"The graph was not changed: {exc}")
            else:
                messages.info(request, f"Saved as version {version.number}.")


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(admin.ModelAdmin):
    list_display = ("workflow", "number", "created_by", "created_at")
    search_fields = ("workflow__name", "workflow__slug")
    readonly_fields = (
        "id",
        "workflow",
        "number",
        "graph",
        "parameters_pretty",
        "notes",
        "parent",
        "created_by",
        "created_at",
    )
    exclude = ("workflow_json", "parameters")

    @admin.display(description="Graph")
    def graph(self, obj):
        return json.dumps(obj.workflow_json, indent=2)

    @admin.display(description="Parameters")
    def parameters_pretty(self, obj):
        return json.dumps(obj.parameters, indent=2)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "owner",
        "workflow_count",
        "generation_count",
        "last_generation_at",
        "archived_at",
        "created_at",
    )
    list_filter = (("archived_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "owner__email")
    raw_id_fields = ("owner",)
    readonly_fields = (
        "id",
        "workflow_count",
        "generation_count",
        "last_generation_at",
        "created_at",
        "updated_at",
    )
