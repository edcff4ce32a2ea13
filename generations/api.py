"""The jobs API: create (async and sync), read, list, cancel; uploads.

Views parse input, call one generations service or selector, and render
with generations.serializers. Errors leave as exceptions (DRF's, or the
domain errors services raise) and are shaped by creator_site.api_errors
into {"error": {"code", "message", "details"}}.
"""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ApiKeyScopes
from accounts.throttles import (
    ApiRequestRateThrottle,
    JobCreateRateThrottle,
    RateLimitHeadersMixin,
)
from billing.services import subscription_loaded
from creator_site.api_errors import error_responses as _error_responses
from creator_site.errors import Conflict, InvalidInput
from generations import finishing, selectors, services
from generations.files import upload_create
from generations.images import InvalidImage
from generations.models import Generation
from generations.progress import progress_get_many, progress_wait_final
from generations.serializers import (
    JobCreateMultipartSerializer,
    JobCreateSerializer,
    JobListFilterSerializer,
    JobSerializer,
    UploadCreateSerializer,
    UploadSerializer,
)

Status = Generation.Status

IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII


def _invalid(field: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [message]})


class ApiJSONParser(JSONParser):
    """JSONParser that also turns absurdly deep nesting into a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("The JSON body is nested too deeply.") from exc


_RATE_HEADERS = [
    OpenApiParameter(
        "Idempotency-Key",
        str,
        OpenApiParameter.HEADER,
        required=False,
        description="Any unique string up to 255 visible ASCII characters. Repeating a "
        "request with the same key returns the same job instead of creating another; "
        "reusing a key with a different body is a 409.",
    ),
]


# --- creating a job -----------------------------------------------------------


def _parse_job_request(request) -> services.JobRequest:
    """The body and headers as a JobRequest; what needs the database (the
    workflow, the project, an upload) is checked by the service."""
    multipart = (request.content_type or "").startswith("multipart/")
    data = request.data
    if not multipart and not hasattr(data, "keys"):
        raise exceptions.ParseError("The body must be a JSON object.")
    if not multipart and "image" in data:
        raise _invalid(
            "image",
            "Upload image files with multipart/form-data; in JSON give `image_url` or the "
            "`asset_id` of an upload instead.",
        )
    serializer_class = JobCreateMultipartSerializer if multipart else JobCreateSerializer
    serializer = serializer_class(data=data, context={"multipart": multipart})
    serializer.is_valid(raise_exception=True)
    attrs = serializer.validated_data

    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY_PATTERN.match(key):
        raise _invalid(
            "Idempotency-Key", "Use 1 to 255 visible ASCII characters (a UUID works well)."
        )
    upload = attrs.get("image")
    return services.JobRequest(
        workflow=attrs["workflow"],
        parameters=attrs.get("parameters") or {},
        project_id=attrs.get("project") or None,
        webhook_url=attrs.get("webhook_url") or "",
        idempotency_key=key,
        image=upload,
        image_name=(upload.name or "") if upload is not None else "",
        asset_id=attrs.get("asset_id"),
        image_url=attrs.get("image_url"),
        api_key_id=str(request.auth.id) if _is_key(request) else None,
    )


def job_create_from_request(request) -> tuple[Generation, bool]:
    """Create the job a request describes, or find the one an identical
    earlier request (same Idempotency-Key) created. Returns (job, created)."""
    return services.generation_create_or_replay(
        user=request.user,
        request=_parse_job_request(request),
        subscription=subscription_loaded(request.user),
    )


def _is_key(request) -> bool:
    from accounts.models import ApiKey

    return isinstance(request.auth, ApiKey)


# --- reading jobs -------------------------------------------------------------


def _job_data(request, job: Generation, *, fresh: bool = False, current: bool = False) -> dict:
    """The job as the API shows it. `fresh`: the object was just created in
    this request (no outputs, nothing to re-read); `current`: it was just read
    with its workflow (only the outputs are missing); otherwise it is re-read."""
    if fresh:
        job.output_assets = []
    elif current:
        job.output_assets = selectors.generation_outputs(generation=job)
    else:
        job = selectors.generation_get_with_outputs(generation_id=job.id)
    context = {"request": request, "live": progress_get_many(generations=[job])}
    return JobSerializer(job, context=context).data


def _job_location(request, job: Generation) -> str:
    return request.build_absolute_uri(reverse("api-job-detail", args=[job.id]))


class JobCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


JOB_EXAMPLE = {
    "id": "6f1c2d9e-8a43-4d1b-9c51-2b7f4f3a9e10",
    "status": "completed",
    "progress": 100,
    "progress_message": "Done",
    "workflow": {
        "id": "0b5b7f62-3c1e-4c43-a3a4-1f0e3c9c2d11",
        "slug": "portrait_pro",
        "name": "Portrait Pro",
    },
    "project": None,
    "parameters": {"softening": 0.35, "seed": 1234},
    "source": "api",
    "webhook_url": "",
    "created_at": "2026-11-23T10:00:00Z",
    "started_at": "2026-11-23T10:00:01Z",
    "completed_at": "2026-11-23T10:00:09Z",
    "duration_ms": 8012,
    "error": None,
    "outputs": [
        {
            "id": "a2d0f0c4-1df2-4f0b-8a0e-6b3c8f2a1e77",
            "url": "https://creator.example/jobs/files/eyJ…/",
            "content_type": "image/png",
            "width": 1536,
            "height": 1536,
            "size": 2345678,
        }
    ],
}
CREATE_EXAMPLES = [
    OpenApiExample(
        "From an image URL",
        request_only=True,
        media_type="application/json",
        value={
            "workflow": "portrait_pro",
            "image_url": "https://images.example/me.jpg",
            "parameters": {"softening": 0.4},
        },
    ),
    OpenApiExample(
        "From an earlier upload",
        request_only=True,
        media_type="application/json",
        value={"workflow": "cinematic", "asset_id": "a2d0f0c4-1df2-4f0b-8a0e-6b3c8f2a1e77"},
    ),
    OpenApiExample("A job", response_only=True, value=JOB_EXAMPLE),
]
CREATE_REQUEST = {
    "application/json": JobCreateSerializer,
    "multipart/form-data": JobCreateMultipartSerializer,
}


class JobListCreateView(RateLimitHeadersMixin, GenericAPIView):
    permission_classes = [IsAuthenticated, ApiKeyScopes]
    required_scopes = {"GET": "jobs:read", "POST": "generate"}
    throttle_classes = [ApiRequestRateThrottle, JobCreateRateThrottle]
    parser_classes = [ApiJSONParser, MultiPartParser]
    pagination_class = JobCursorPagination
    serializer_class = JobSerializer

    @extend_schema(
        operation_id="jobs_list",
        summary="List your jobs",
        description="Newest first, cursor-paginated. Scope: `jobs:read`.",
        parameters=[JobListFilterSerializer],
        responses={200: JobSerializer(many=True), **_error_responses(400, 401, 403, 429)},
        tags=["Jobs"],
    )
    def get(self, request):
        filters = JobListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        jobs = selectors.generation_list(
            user=request.user,
            filters={
                "status": f.get("status"),
                "project": f.get("project"),
                "workflow_ref": f.get("workflow"),
                "created_after": f.get("created_after"),
                "created_before": f.get("created_before"),
            },
        ).prefetch_related(selectors.generation_outputs_prefetch())
        page = self.paginate_queryset(jobs)
        context = {"request": request, "live": progress_get_many(generations=page)}
        return self.get_paginated_response(JobSerializer(page, many=True, context=context).data)

    @extend_schema(
        operation_id="jobs_create",
        summary="Create a job",
        description=(
            "Queue an image through a workflow and return at once (201). Give the input "
            "image as a multipart `image` upload, an `image_url` Creator downloads "
            "(public addresses only), or the `asset_id` of an earlier upload. "
            "With an `Idempotency-Key` header a retried request returns the same job "
            "(200). Scope: `generate`."
        ),
        parameters=_RATE_HEADERS,
        request=CREATE_REQUEST,
        responses={
            201: JobSerializer,
            200: OpenApiResponse(JobSerializer, description="Replay of an Idempotency-Key."),
            **_error_responses(400, 401, 402, 403, 409, 415, 429),
        },
        examples=CREATE_EXAMPLES,
        tags=["Jobs"],
    )
    def post(self, request):
        job, created = job_create_from_request(request)
        return Response(
            _job_data(request, job, fresh=created),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            headers={"Location": _job_location(request, job)},
        )


class JobDetailView(RateLimitHeadersMixin, APIView):
    permission_classes = [IsAuthenticated, ApiKeyScopes]
    required_scopes = {"GET": "jobs:read"}

    @extend_schema(
        operation_id="jobs_retrieve",
        summary="Get a job",
        description="Status, live progress, timings, error and signed output links. "
        "Scope: `jobs:read`.",
        responses={200: JobSerializer, **_error_responses(401, 403, 404, 429)},
        examples=[OpenApiExample("A job", value=JOB_EXAMPLE)],
        tags=["Jobs"],
    )
    def get(self, request, job_id: uuid.UUID):
        job = selectors.generation_get(user=request.user, generation_id=job_id)
        return Response(_job_data(request, job, current=True))


class JobCancelView(RateLimitHeadersMixin, APIView):
    permission_classes = [IsAuthenticated, ApiKeyScopes]
    required_scopes = {"POST": "jobs:write"}

    @extend_schema(
        operation_id="jobs_cancel",
        summary="Cancel a job",
        description="Stops a queued or running job; a finished job is a 409. Scope: `jobs:write`.",
        request=None,
        responses={200: JobSerializer, **_error_responses(401, 403, 404, 409, 429)},
        tags=["Jobs"],
    )
    def post(self, request, job_id: uuid.UUID):
        job = selectors.generation_get(user=request.user, generation_id=job_id)
        if not finishing.generation_cancel(generation=job, reason="Cancelled through the API."):
            job.refresh_from_db(fields=["status"])
            raise Conflict(f"This job has already finished ({job.status}); it cannot be cancelled.")
        return Response(_job_data(request, job))


# --- synchronous generate -------------------------------------------------------


def _requested_wait(request) -> int:
    """Seconds to wait, from `Prefer: wait=N` (RFC 7240), bounded."""
    wait = int(settings.API_SYNC_WAIT_DEFAULT)
    for preference in re.split(r"[,;]", request.headers.get("Prefer", "")):
        name, _, value = preference.strip().partition("=")
        name = name.strip().lower()
        if name == "respond-async":
            wait = 0
        elif name == "wait":
            try:
                wait = int(value.strip().strip('"'))
            except ValueError:
                continue
    return max(0, min(wait, int(settings.API_SYNC_WAIT_MAX)))


class GenerateView(RateLimitHeadersMixin, APIView):
    permission_classes = [IsAuthenticated, ApiKeyScopes]
    required_scopes = {"POST": "generate"}
    throttle_classes = [ApiRequestRateThrottle, JobCreateRateThrottle]
    parser_classes = [ApiJSONParser, MultiPartParser]

    @extend_schema(
        operation_id="generate",
        summary="Create a job and wait for it",
        description=(
            "Same body as `POST /api/v1/jobs`. Waits up to `Prefer: wait=N` seconds "
            "(default 60, at most 120) and answers 200 with the finished job (outputs "
            "included), or 202 with the job still running; then poll its `Location`. "
            "Scope: `generate`."
        ),
        parameters=[
            *_RATE_HEADERS,
            OpenApiParameter(
                "Prefer",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="`wait=N`: seconds to wait for the result (0–120).",
            ),
        ],
        request=CREATE_REQUEST,
        responses={
            200: OpenApiResponse(JobSerializer, description="The job finished."),
            202: OpenApiResponse(JobSerializer, description="Still running; poll `Location`."),
            **_error_responses(400, 401, 402, 403, 409, 415, 429),
        },
        examples=CREATE_EXAMPLES,
        tags=["Jobs"],
    )
    def post(self, request):
        wait = _requested_wait(request)
        job, _created = job_create_from_request(request)
        if job.status not in Generation.FINAL and wait:
            progress_wait_final(generation_id=job.id, seconds=wait)
        job.refresh_from_db()
        finished = job.status in Generation.FINAL
        return Response(
            _job_data(request, job),
            status=status.HTTP_200_OK if finished else status.HTTP_202_ACCEPTED,
            headers={
                "Location": _job_location(request, job),
                "Preference-Applied": f"wait={wait}",
            },
        )


# --- uploads --------------------------------------------------------------------


class UploadCreateView(RateLimitHeadersMixin, APIView):
    permission_classes = [IsAuthenticated, ApiKeyScopes]
    required_scopes = {"POST": "generate"}
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="uploads_create",
        summary="Upload an input image",
        description="Stores an image (checked by content like every input) to use as "
        "`asset_id` in any number of jobs. Scope: `generate`.",
        request={"multipart/form-data": UploadCreateSerializer},
        responses={201: UploadSerializer, **_error_responses(400, 401, 403, 415, 429)},
        tags=["Uploads"],
    )
    def post(self, request):
        serializer = UploadCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["image"]
        try:
            asset = upload_create(user=request.user, upload=upload, name=upload.name or "")
        except InvalidImage as exc:
            message = exc.message
            raise InvalidInput(message, code=exc.code, details={"image": [message]}) from exc
        return Response(UploadSerializer(asset).data, status=status.HTTP_201_CREATED)
