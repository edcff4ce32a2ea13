"""What the jobs API accepts and answers. Parsing only: no job logic here."""

from __future__ import annotations

import json
from typing import Any

from django.core.validators import URLValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from generations.files import asset_url
from generations.models import Asset, Generation

MAX_PARAMETERS = 100
NUL = "\x00"


def _has_nul(value: Any) -> bool:
    # PostgreSQL cannot store U+0000 in text or jsonb: refuse it here as a
    # 400 instead of failing at INSERT time. A loop, not recursion, so deep
    # nesting cannot exhaust the stack.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": "Values for the workflow's parameters, by name (see the workflow's "
        "`parameters_schema`). In multipart requests, send this object as a JSON string.",
        "example": {"softening": 0.4, "seed": 1234},
    }
)
class ParametersField(serializers.Field):
    default_error_messages = {
        # Braces doubled: DRF formats these messages with str.format().
        "not_object": 'Send parameters as a JSON object of name: value, e.g. {{"steps": 20}}.',
        "not_json": "parameters is not valid JSON. Send a JSON object as text in this field.",
        "too_many": f"Send at most {MAX_PARAMETERS} parameters.",
        "nul": "Text must not contain NUL (\\u0000) characters.",
    }

    def to_internal_value(self, data):
        if isinstance(data, str) and self.context.get("multipart"):
            if not data.strip():
                return {}
            try:
                data = json.loads(data)
            except ValueError:
                self.fail("not_json")
        if not isinstance(data, dict):
            self.fail("not_object")
        if len(data) > MAX_PARAMETERS:
            self.fail("too_many")
        if _has_nul(data):
            self.fail("nul")
        return data

    def to_representation(self, value):
        return value


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo ("paramters") is an error
    instead of a silently ignored value."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(str(k)[:60] for k in data if k not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: ["Unknown field. Check the spelling against the docs."]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


# Creator fetches and calls only http(s) URLs (DRF's URLField also allows ftp).
_HTTP_URL = URLValidator(schemes=["http", "https"])


class JobCreateSerializer(StrictSerializer):
    """A new job from JSON: the input image is an `image_url` or an `asset_id`."""

    workflow = serializers.CharField(
        max_length=200, help_text="The workflow's slug (e.g. `portrait_pro`) or id."
    )
    parameters = ParametersField(required=False)
    image_url = serializers.URLField(
        required=False,
        max_length=2048,
        validators=[_HTTP_URL],
        help_text="A public http(s) URL of the input image; Creator downloads it.",
    )
    asset_id = serializers.UUIDField(
        required=False, help_text="The id of an image stored with `POST /api/v1/uploads`."
    )
    webhook_url = serializers.URLField(
        required=False,
        allow_blank=True,
        max_length=500,
        validators=[_HTTP_URL],
        help_text="Where to POST the signed job.completed / job.failed / job.cancelled "
        "event. Defaults to the webhook URL in your settings.",
    )
    project = serializers.UUIDField(
        required=False, allow_null=True, help_text="One of your projects to file the job under."
    )

    image_sources = ("image_url", "asset_id")

    def validate(self, attrs):
        given = [name for name in self.image_sources if attrs.get(name) not in (None, "")]
        if len(given) != 1:
            names = ", ".join(f"`{n}`" for n in self.image_sources)
            raise serializers.ValidationError(
                {"image": [f"Send exactly one input image: {names}."]}
            )
        return attrs


class JobCreateMultipartSerializer(JobCreateSerializer):
    """A new job from a multipart form: the image may be uploaded as `image`."""

    image = serializers.FileField(
        required=False, help_text="The input image (JPEG, PNG, WebP or GIF; 10 MB at most)."
    )
    image_sources = ("image", "image_url", "asset_id")


class WorkflowRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    name = serializers.CharField()


class OutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField(help_text="Signed link, valid for one hour. No auth needed.")
    content_type = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    size = serializers.IntegerField(help_text="Bytes.")


class JobErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class JobSerializer(serializers.Serializer):
    """A job as the API shows it. Needs `request` in the context (for
    absolute output URLs) and reads live progress from `live` when given."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Generation.Status.choices)
    progress = serializers.SerializerMethodField()
    progress_message = serializers.SerializerMethodField()
    workflow = serializers.SerializerMethodField()
    project = serializers.UUIDField(source="project_id", allow_null=True)
    parameters = serializers.JSONField(source="input_parameters")
    source = serializers.CharField()
    webhook_url = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    error = serializers.SerializerMethodField()
    outputs = serializers.SerializerMethodField()

    def _live(self, job: Generation) -> dict:
        return (self.context.get("live") or {}).get(str(job.id)) or {}

    @extend_schema_field(OpenApiTypes.INT)
    def get_progress(self, job: Generation) -> int:
        return int(self._live(job).get("progress", job.progress))

    @extend_schema_field(OpenApiTypes.STR)
    def get_progress_message(self, job: Generation) -> str:
        return str(self._live(job).get("message", job.progress_message))

    @extend_schema_field(WorkflowRefSerializer(allow_null=True))
    def get_workflow(self, job: Generation) -> dict | None:
        if job.workflow is None:
            return None
        return {"id": job.workflow.id, "slug": job.workflow.slug, "name": job.workflow_name}

    @extend_schema_field(JobErrorSerializer(allow_null=True))
    def get_error(self, job: Generation) -> dict | None:
        if job.status != Generation.Status.FAILED and not job.error_code:
            return None
        return {
            "code": job.error_code,
            "message": job.error_message,
            "details": job.error_details or {},
        }

    @extend_schema_field(OutputSerializer(many=True))
    def get_outputs(self, job: Generation) -> list[dict]:
        assets = getattr(job, "output_assets", None)
        if assets is None:
            assets = job.assets.filter(kind=Asset.Kind.OUTPUT).order_by("created_at")
        request = self.context["request"]
        return [
            {
                "id": asset.id,
                "url": request.build_absolute_uri(asset_url(asset)),
                "content_type": asset.content_type,
                "width": asset.width,
                "height": asset.height,
                "size": asset.size,
            }
            for asset in assets
        ]


class JobListFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Generation.Status.choices, required=False)
    workflow = serializers.CharField(required=False, max_length=200, help_text="Slug or id.")
    project = serializers.UUIDField(required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


class UploadCreateSerializer(StrictSerializer):
    image = serializers.FileField(help_text="JPEG, PNG, WebP or GIF; 10 MB at most.")


class UploadSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Pass it as `asset_id` when creating jobs.")
    content_type = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    created_at = serializers.DateTimeField()
