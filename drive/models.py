"""Watched sources: a connection (Drive or the local inbox), the files seen
in it, and a record of every poll."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from drive.crypto import token_decrypt, token_encrypt


class SourceConnection(models.Model):
    """A user's watched source: which folder, where results go, which preset,
    and where the change feed stopped. Tokens are stored encrypted only."""

    class Kind(models.TextChoices):
        DRIVE = "drive", "Google Drive"
        INBOX = "inbox", "Local inbox"

    class State(models.TextChoices):
        CONNECTED = "connected", "Connected"
        DISCONNECTED = "disconnected", "Disconnected"  # by the user
        # Creator lost the access it needs (Google revoked the grant, or it
        # lacks the Drive scope): the user must connect again, and is told so.
        REVOKED = "revoked", "Access revoked"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="source_connections"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=15, choices=State.choices, default=State.CONNECTED)
    state_message = models.CharField(max_length=500, blank=True)

    account_email = models.EmailField(blank=True)  # the Google account, for display
    inbox_path = models.CharField(max_length=1000, blank=True)
    access_token_encrypted = models.TextField(blank=True)
    refresh_token_encrypted = models.TextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=1000, blank=True)

    folder_id = models.CharField(max_length=200, blank=True)
    folder_name = models.CharField(max_length=500, blank=True)
    folder_link = models.URLField(max_length=1000, blank=True)
    output_folder_id = models.CharField(max_length=200, blank=True)
    output_folder_name = models.CharField(max_length=200, default="Processed")
    output_folder_link = models.CharField(max_length=1000, blank=True)
    preset_slug = models.SlugField(max_length=100, blank=True)  # blank: the user's default

    # Drive's page token (or the inbox's last observations), advanced only
    # after the files it covers are recorded.
    cursor = models.TextField(blank=True)
    watch_started_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(default=timezone.now)
    # A poll holds the claim while it runs; the lease lets a dead worker's claim expire.
    poll_claim = models.UUIDField(null=True, blank=True)
    poll_claimed_until = models.DateTimeField(null=True, blank=True)
    idle_polls = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    has_pending = models.BooleanField(default=False)  # files recorded but not yet queued
    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    last_reconciled_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="drive_one_connection_per_kind"),
            # A local folder is one account's: two accounts watching it would
            # each make (and pay for) a job of every file dropped there.
            models.UniqueConstraint(
                fields=["inbox_path"],
                condition=models.Q(kind="inbox") & ~models.Q(inbox_path=""),
                name="drive_inbox_folder_one_account",
            ),
        ]
        indexes = [models.Index(fields=["state", "next_poll_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.user_id} ({self.state})"

    @property
    def access_token(self) -> str:
        return token_decrypt(self.access_token_encrypted)

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.access_token_encrypted = token_encrypt(value)

    @property
    def refresh_token(self) -> str:
        return token_decrypt(self.refresh_token_encrypted)

    @refresh_token.setter
    def refresh_token(self, value: str) -> None:
        self.refresh_token_encrypted = token_encrypt(value)

    @property
    def is_watching(self) -> bool:
        return self.state == self.State.CONNECTED and bool(self.folder_id)


class SourceFile(models.Model):
    """One version of one file seen in a watched folder: processed at most once."""

    class Status(models.TextChoices):
        DETECTED = "detected", "Detected"
        QUEUED = "queued", "Queued"
        SKIPPED = "skipped", "Skipped"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    # The only status changes there are; drive.services.source_file_mark
    # makes every one. A row starts DETECTED, or SKIPPED when what the source
    # says of it (type, size) already rules it out.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.DETECTED: frozenset({Status.QUEUED, Status.SKIPPED, Status.FAILED}),
        Status.QUEUED: frozenset({Status.DELIVERED, Status.FAILED}),
        # A failed delivery is tried again when delivery_run runs again (the
        # task's retry, or once the delivery lease is over): it may succeed
        # then, or fail for another reason.
        Status.FAILED: frozenset({Status.DELIVERED, Status.FAILED}),
        Status.SKIPPED: frozenset(),
        Status.DELIVERED: frozenset(),
    }

    connection = models.ForeignKey(SourceConnection, on_delete=models.CASCADE, related_name="files")
    file_id = models.CharField(max_length=1000)
    version_key = models.CharField(max_length=200)
    name = models.CharField(max_length=500)
    mime_type = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    link = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DETECTED)
    reason_code = models.CharField(max_length=50, blank=True)
    message = models.TextField(blank=True)  # why it was skipped or failed, for people
    generation = models.ForeignKey(
        "generations.Generation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    output_file_id = models.CharField(max_length=1000, blank=True)
    output_name = models.CharField(max_length=500, blank=True)
    output_link = models.CharField(max_length=1000, blank=True)
    delivery_started_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "file_id", "version_key"], name="drive_file_version_once"
            ),
        ]
        indexes = [models.Index(fields=["connection", "status"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class PollRecord(models.Model):
    """Every poll: when, how it ended, and how many files it found."""

    class Status(models.TextChoices):
        OK = "ok", "OK"
        RATE_LIMITED = "rate_limited", "Rate limited"
        ERROR = "error", "Error"
        REVOKED = "revoked", "Access revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connection = models.ForeignKey(SourceConnection, on_delete=models.CASCADE, related_name="polls")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    status = models.CharField(max_length=15, choices=Status.choices)
    reconcile = models.BooleanField(default=False)
    files_found = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["connection", "-started_at"])]

    def __str__(self) -> str:
        return f"poll {self.started_at:%Y-%m-%d %H:%M:%S} {self.status} ({self.files_found})"
