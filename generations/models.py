import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


class ComfyServer(models.Model):
    """A ComfyUI server jobs can run on. Seeded from COMFYUI_URL; editable in the admin."""

    name = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=300, unique=True)
    enabled = models.BooleanField(default=True)
    weight = models.PositiveIntegerField(
        default=1, help_text="Relative capacity: a weight-2 server gets twice the jobs."
    )
    max_concurrent_jobs = models.PositiveIntegerField(default=2)
    is_healthy = models.BooleanField(default=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # The server's /object_info as of its last health check: the node types
    # and model files it has. Graph validation and routing read it from here,
    # so neither depends on a cache or on the server answering right now.
    object_info = models.JSONField(null=True, blank=True, editable=False)
    object_info_digest = models.CharField(max_length=64, blank=True, editable=False)
    object_info_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["url"]
        verbose_name = "ComfyUI server"

    def __str__(self) -> str:
        return self.name or self.url


class Generation(models.Model):
    """One job: an input image run through one workflow version."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Source(models.TextChoices):
        WEB = "web", "Web"
        API = "api", "API"
        DRIVE = "drive", "Google Drive"
        INBOX = "inbox", "Local inbox"
        CLI = "cli", "Command line"

    # The legal moves between statuses are in generations.states, which
    # every change of status goes through.
    FINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generations"
    )
    project = models.ForeignKey(
        "workflows.Project",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="generations",
    )
    workflow = models.ForeignKey(
        "workflows.Workflow", on_delete=models.SET_NULL, null=True, related_name="generations"
    )
    workflow_version = models.ForeignKey(
        "workflows.WorkflowVersion", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Kept even if the workflow is deleted, so any result can be reproduced.
    workflow_name = models.CharField(max_length=200, blank=True)
    input_parameters = models.JSONField(default=dict, blank=True)
    workflow_snapshot = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEB)
    source_ref = models.JSONField(default=dict, blank=True)  # e.g. Drive file id and link

    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    progress_message = models.CharField(max_length=200, blank=True)
    current_node = models.CharField(max_length=100, blank=True)

    comfy_prompt_id = models.UUIDField(null=True, blank=True, db_index=True)
    server = models.ForeignKey(
        ComfyServer, on_delete=models.SET_NULL, null=True, blank=True, related_name="generations"
    )
    worker_id = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    # Written while a worker follows the job; the reaper requeues jobs whose
    # heartbeat went quiet (worker killed) instead of leaving them processing.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)
    error_details = models.JSONField(default=dict, blank=True)

    class OutputFormat(models.TextChoices):
        PNG = "png", "PNG"
        JPEG = "jpeg", "JPEG"
        WEBP = "webp", "WebP"

    # Still images are converted to this in the worker; animations and
    # videos are kept as ComfyUI made them.
    output_format = models.CharField(
        max_length=4, choices=OutputFormat.choices, default=OutputFormat.PNG
    )
    output_quality = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )

    credits_used = models.PositiveIntegerField(default=0)
    # Set once, by the conditional update that emits the refund hook.
    refunded_at = models.DateTimeField(null=True, blank=True)

    webhook_url = models.URLField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    idempotency_fingerprint = models.CharField(max_length=64, blank=True)

    # Set by retention after 90 days: hidden from lists, still reachable.
    archived_at = models.DateTimeField(null=True, blank=True, db_index=True)

    is_favorite = models.BooleanField(default=False)
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    notes = models.TextField(blank=True, max_length=5000)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            models.Index(fields=["status", "heartbeat_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="generations_unique_idempotency_key",
            ),
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="generations_progress_max_100"
            ),
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="generations_rating_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_name or 'job'} {self.id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


class GenerationEvent(models.Model):
    """Append-only audit trail of a job: transitions and notable steps."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_status}→{self.to_status}".strip()


def asset_upload_to(instance: "Asset", filename: str) -> str:
    # Keys are chosen by generations.files (uploads/<user>/…, outputs/<user>/<job>/…).
    return filename


class Asset(models.Model):
    """A stored file: a job's input, an output, or its thumbnail."""

    class Kind(models.TextChoices):
        INPUT = "input", "Input"
        OUTPUT = "output", "Output"
        THUMBNAIL = "thumbnail", "Thumbnail"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    generation = models.ForeignKey(
        Generation, on_delete=models.CASCADE, null=True, blank=True, related_name="assets"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    file = models.FileField(max_length=500, upload_to=asset_upload_to)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64)
    comfy_node_id = models.CharField(max_length=50, blank=True)
    # For an input: the workflow input it fills ("image", "mask", …).
    input_name = models.CharField(max_length=64, blank=True)
    # For an output: one frame or several (animated WEBP/GIF, video).
    is_animated = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            # One stored output per ComfyUI output file: a redelivered job
            # cannot store its outputs twice.
            models.UniqueConstraint(
                fields=["generation", "kind", "file"], name="generations_asset_unique_file"
            ),
        ]

    def __str__(self) -> str:
        return self.file.name


class WebhookDelivery(models.Model):
    """One attempt to deliver a job's webhook event: the delivery log.

    The first attempt's row is created when the job finishes; each failed
    attempt creates the next one (due after the retry delay). A receiver
    sees every attempt of an event with the same `event_id`.
    """

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused"  # the URL is not allowed; never retried

    generation = models.ForeignKey(
        Generation, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    url = models.URLField(max_length=500)
    event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=40)
    attempt = models.PositiveSmallIntegerField(default=1)
    outcome = models.CharField(
        max_length=10, choices=Outcome.choices, default=Outcome.PENDING, db_index=True
    )
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)  # at most 1 KB of the answer
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    due_at = models.DateTimeField(default=timezone.now)
    attempted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["outcome", "due_at"])]
        constraints = [
            # One row per attempt of an event: notifying twice, or a retry
            # scheduled twice, cannot send the same attempt twice.
            models.UniqueConstraint(
                fields=["event_id", "attempt"], name="generations_webhook_unique_attempt"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} #{self.attempt} ({self.outcome})"
