from django.contrib import admin

from drive.models import PollRecord, SourceConnection, SourceFile


@admin.register(SourceConnection)
class SourceConnectionAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "state", "folder_name", "last_poll_at", "next_poll_at"]
    list_filter = ["kind", "state"]
    search_fields = ["user__email", "account_email", "folder_name", "folder_id"]
    raw_id_fields = ["user"]
    # Tokens never appear in the admin, not even encrypted.
    exclude = ["access_token_encrypted", "refresh_token_encrypted", "cursor", "poll_claim"]
    readonly_fields = [
        "account_email",
        "token_expires_at",
        "scopes",
        "watch_started_at",
        "poll_claimed_until",
        "idle_polls",
        "consecutive_failures",
        "last_poll_at",
        "last_activity_at",
        "last_reconciled_at",
        "created_at",
        "updated_at",
    ]


@admin.register(SourceFile)
class SourceFileAdmin(admin.ModelAdmin):
    list_display = ["name", "connection", "status", "reason_code", "created_at", "delivered_at"]
    list_filter = ["status", "reason_code"]
    search_fields = ["name", "file_id", "connection__user__email"]
    raw_id_fields = ["connection", "generation"]


@admin.register(PollRecord)
class PollRecordAdmin(admin.ModelAdmin):
    list_display = ["connection", "started_at", "status", "files_found", "api_calls", "reconcile"]
    list_filter = ["status", "reconcile"]
    search_fields = ["connection__user__email"]
    raw_id_fields = ["connection"]
    date_hierarchy = "started_at"
