"""Workflows (ComfyUI graphs with an exposed-parameter schema), their versions,
and the projects that group workflows and generations.

Graphs are changed only through `workflows.parameters.graph_compile` (a copy,
per run) and `workflows.services` (a new version, per edit)."""

import secrets
import uuid

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

NAME_MAX_LENGTH = 120
DESCRIPTION_MAX_LENGTH = 2000
NOTES_MAX_LENGTH = 1000

hex_colour_validator = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", "Use a hex colour such as #1E5A6E (a # and six hex digits)."
)


def new_public_slug() -> str:
    # 16 random bytes: unguessable, so an unlisted workflow is reachable only
    # by someone who was given the link.
    return secrets.token_urlsafe(16)


class Project(models.Model):
    """A folder for workflows and generations. Archiving is a soft delete."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="projects"
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    description = models.TextField(max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    color = models.CharField(max_length=7, default="#6C757D", validators=[hex_colour_validator])
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    workflow_count = models.PositiveIntegerField(default=0)
    generation_count = models.PositiveIntegerField(default=0)
    last_generation_at = models.DateTimeField(null=True, blank=True)
    share_slug = models.CharField(max_length=32, unique=True, null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(color__regex=r"^#[0-9a-fA-F]{6}$"), name="workflows_project_color_hex"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class Workflow(models.Model):
    class Category(models.TextChoices):
        TEXT_TO_IMAGE = "text-to-image", "Text to image"
        IMAGE_TO_IMAGE = "image-to-image", "Image to image"
        INPAINTING = "inpainting", "Inpainting"
        UPSCALING = "upscaling", "Upscaling"
        CUSTOM = "custom", "Custom"

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private (only you)"
        PUBLIC = "public", "Public (listed)"
        UNLISTED = "unlisted", "Unlisted (anyone with the link)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Null owner: a system preset, shipped as data and edited by staff.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="workflows",
        null=True,
        blank=True,
    )
    project = models.ForeignKey(
        Project, on_delete=models.SET_NULL, related_name="workflows", null=True, blank=True
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    slug = models.SlugField(max_length=100)
    description = models.TextField(max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    category = models.CharField(
        max_length=20, choices=Category.choices, default=Category.IMAGE_TO_IMAGE
    )
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    is_template = models.BooleanField(default=False)
    # The current graph and schema; every change also writes a WorkflowVersion.
    workflow_json = models.JSONField()
    parameters = models.JSONField(default=list, blank=True)
    features = models.JSONField(default=dict, blank=True)
    estimated_credits = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    thumbnail = models.ImageField(upload_to="workflows/thumbnails/", blank=True)
    use_count = models.PositiveIntegerField(default=0)
    copy_count = models.PositiveIntegerField(default=0)
    public_slug = models.CharField(max_length=32, unique=True, default=new_public_slug)
    forked_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, related_name="forks", null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(estimated_credits__gte=1), name="workflows_workflow_credits_min_1"
            ),
            models.UniqueConstraint(
                fields=["owner", "slug"],
                condition=Q(owner__isnull=False),
                name="workflows_workflow_owner_slug_unique",
            ),
            # NULLs are distinct in a unique index, so presets need their own.
            models.UniqueConstraint(
                fields=["slug"],
                condition=Q(owner__isnull=True),
                name="workflows_workflow_preset_slug_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["visibility", "is_template"]),
            models.Index(fields=["category"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_preset(self) -> bool:
        return self.owner_id is None

    @property
    def current_version(self) -> "WorkflowVersion | None":
        return self.versions.order_by("-number").first()


class WorkflowVersion(models.Model):
    """An immutable snapshot of a workflow's graph and schema.

    Versions are never edited or deleted while their workflow exists, so a
    generation that references one can always be reproduced."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    workflow_json = models.JSONField()
    parameters = models.JSONField(default=list, blank=True)
    notes = models.TextField(max_length=NOTES_MAX_LENGTH, blank=True)
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, related_name="children", null=True, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["workflow", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "number"], name="workflows_version_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow.name} v{self.number}"
