from django.contrib import admin, messages
from django.db.models import Count, Q

from generations.finishing import generation_cancel
from generations.models import Asset, ComfyServer, Generation, GenerationEvent, WebhookDelivery
from generations.services import generation_retry


class GenerationEventInline(admin.TabularInline):
    model = GenerationEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "from_status", "to_status", "message", "data"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False  # the audit trail is append-only, written by the engine


class AssetInline(admin.TabularInline):
    model = Asset
    extra = 0
    can_delete = False
    fields = ["kind", "file", "content_type", "size", "width", "height", "sha256"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "user",
        "workflow_name",
        "status",
        "progress",
        "attempts",
        "server",
        "source",
        "created_at",
        "duration_ms",
    ]
    list_filter = ["status", "source", "server", "created_at"]
    search_fields = ["id", "user__email", "workflow_name", "comfy_prompt_id", "error_message"]
    raw_id_fields = ["user", "project", "workflow", "workflow_version"]
    readonly_fields = [
        "status",
        "progress",
        "progress_message",
        "current_node",
        "comfy_prompt_id",
        "server",
        "worker_id",
        "attempts",
        "heartbeat_at",
        "created_at",
        "started_at",
        "completed_at",
        "duration_ms",
        "error_code",
        "error_message",
        "error_details",
        "refunded_at",
        "workflow_snapshot",
        "input_parameters",
    ]
    inlines = [AssetInline, GenerationEventInline]
    actions = ["retry_jobs", "cancel_jobs"]
    date_hierarchy = "created_at"

    @admin.action(description="Retry selected failed/cancelled jobs (as new jobs)")
    def retry_jobs(self, request, queryset):
        done, refused = 0, []
        for generation in queryset:
            try:
                generation_retry(generation=generation)
                done += 1
            except ValueError as exc:
                refused.append(f"{generation.id}: {exc}")
        self.message_user(request, f"{done} job(s) queued again.")
        for reason in refused[:10]:
            self.message_user(request, reason, level=messages.WARNING)

    @admin.action(description="Cancel selected jobs")
    def cancel_jobs(self, request, queryset):
        cancelled = sum(
            generation_cancel(generation=g, reason="Cancelled by staff.") for g in queryset
        )
        self.message_user(request, f"{cancelled} job(s) cancelled.")


@admin.register(GenerationEvent)
class GenerationEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "generation", "kind", "from_status", "to_status", "message"]
    list_filter = ["kind", "to_status"]
    search_fields = ["generation__id", "message"]
    raw_id_fields = ["generation"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(ComfyServer)
class ComfyServerAdmin(admin.ModelAdmin):
    list_display = [
        "url",
        "name",
        "enabled",
        "is_healthy",
        "weight",
        "max_concurrent_jobs",
        "running_jobs",
        "last_checked_at",
        "last_error",
    ]
    list_filter = ["enabled", "is_healthy"]
    list_editable = ["enabled", "weight", "max_concurrent_jobs"]
    readonly_fields = ["is_healthy", "last_checked_at", "last_error", "consecutive_failures"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                running=Count(
                    "generations", filter=Q(generations__status=Generation.Status.PROCESSING)
                )
            )
        )

    @admin.display(description="Running", ordering="running")
    def running_jobs(self, obj):
        return obj.running


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "generation",
        "event_type",
        "attempt",
        "outcome",
        "status_code",
        "duration_ms",
        "url",
    ]
    list_filter = ["outcome", "event_type", "created_at"]
    search_fields = ["generation__id", "event_id", "url", "error"]
    raw_id_fields = ["generation"]
    date_hierarchy = "created_at"

    # The log is written by the delivery task only.
    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
