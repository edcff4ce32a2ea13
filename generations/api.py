"""The jobs API: create (async and sync), read, list, cancel; uploads.

Views parse input, call the generations services and selectors, and render
with generations.serializers. Errors leave as DRF exceptions and are shaped
by creator_site.api_errors into {"error": {"code", "message", "details"}}.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import IntegrityError
from django.db.models import Prefetch
from django.http import Http404
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
from billing import services as billing_errors
from billing.services import subscription_loaded
from creator_site import netguard
from generations import finishing, selectors, services
from generations.files import upload_create
from generations.images import InvalidImage
from generations.models import Asset, Generation
from generations.progress import progress_get_many, progress_wait_final
from generations.serializers import (
    ErrorSerializer,
    JobCreateMultipartSerializer,
    JobCreateSerializer,
    JobListFilterSerializer,
    JobSerializer,
    UploadCreateSerializer,
    UploadSerializer,
)
from workflows.parameters import ParameterValuesError

Status = Generation.Status

IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII
IDEMPOTENCY_CONSTRAINT = "generations_unique_idempotency_key"
SYNC_WAIT_DEFAULT = 60
SYNC_WAIT_MAX = 120
IMAGE_URL_TIMEOUT_DEFAULT = 15.0


# --- errors -------------------------------------------------------------------


class QuotaExceeded(exceptions.APIException):
    """The account has no allowance, credits or overage left (billing raises it)."""

    status_code = status.HTTP_402_PAYMENT_REQUIRED
    default_detail = "You have used this month's images. Upgrade your plan or buy credits."
    default_code = "quota_exceeded"
    error_code = "quota_exceeded"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"
    error_code = "conflict"


class InputRejected(exceptions.ValidationError):
    """A 400 with a specific stable code (`unsafe_url`, `file_too_large`…)
    and the problem under the field it concerns."""

    def __init__(self, code: str, field: str, message: str):
        super().__init__({field: [message]})
        self.error_code = code


def _invalid(field: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [message]})


class ApiJSONParser(JSONParser):
    """JSONParser that also turns absurdly deep nesting into a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("The JSON body is nested too deeply.") from exc


def _error_responses(*codes: int) -> dict:
    described = {
        400: "Invalid input; `details` names each problem by field.",
        401: "Missing, malformed, revoked or expired API key.",
        402: "Quota exceeded (`quota_exceeded`).",
        403: "The API key lacks the scope this endpoint needs (`forbidden`).",
        404: "No such resource, or it belongs to someone else (`not_found`).",
        409: "Conflict (`conflict`).",
        415: "Unsupported Content-Type (`unsupported_media_type`).",
        429: "Rate limited (`rate_limited`); see `Retry-After`.",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=described[code]) for code in codes}


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


def _setting(name: str, default):
    return getattr(settings, name, default)


# --- creating a job -----------------------------------------------------------


@dataclass
class _JobRequest:
    workflow: object
    version: object  # the workflow's latest version, which the job runs
    project: object
    parameters: dict
    webhook_url: str
    idempotency_key: str | None
    fingerprint: str
    image_name: str
    image: bytes | None  # known up front for uploads and stored assets
    image_url: str | None


def _parse_job_request(request) -> _JobRequest:
    """Validate everything that can be checked without the image's content."""
    from workflows.selectors import project_get_for_user, workflow_version_get_for_user

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
    try:
        # The workflow and its latest version (the one the job will run) together.
        version = workflow_version_get_for_user(user=request.user, id_or_slug=attrs["workflow"])
    except Http404:
        raise _invalid(
            "workflow",
            "No workflow with this slug or id is available to you. "
            "GET /api/v1/workflows lists the ones you can run.",
        ) from None
    workflow = version.workflow
    project = None
    if attrs.get("project"):
        try:
            project = project_get_for_user(user=request.user, project_id=attrs["project"])
        except Http404:
            raise _invalid("project", "You have no project with this id.") from None
    webhook_url = attrs.get("webhook_url") or ""
    if webhook_url:
        _check_outbound_url("webhook_url", webhook_url)

    image, image_name, image_digest = None, "", None
    if attrs.get("image") is not None:
        upload = attrs["image"]
        image = _read_upload(upload)
        image_name = upload.name or ""
        image_digest = hashlib.sha256(image).hexdigest()
    elif attrs.get("asset_id") is not None:
        asset = Asset.objects.filter(
            id=attrs["asset_id"], user=request.user, kind=Asset.Kind.INPUT
        ).first()
        if asset is None:
            raise _invalid("asset_id", "You have no uploaded image with this id.")
        image_name, image_digest = asset.original_name, asset.sha256
        with asset.file.open("rb") as handle:
            image = handle.read()
    image_url = attrs.get("image_url")
    if image_url:
        image_name = unquote(urlsplit(image_url).path.rsplit("/", 1)[-1])[:255]

    # The fingerprint covers the body as the server understood it plus the
    # image's digest, so "the same request" means the same job would result.
    # An image_url is fingerprinted by the URL: a replay must not fetch again.
    canonical = {
        "workflow": str(workflow.id),
        "parameters": attrs.get("parameters") or {},
        "project": str(project.id) if project else None,
        "webhook_url": webhook_url,
        "image_url": image_url,
        "asset_id": str(attrs["asset_id"]) if attrs.get("asset_id") else None,
        "image_sha256": image_digest,
    }
    fingerprint = hashlib.sha256(
        json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()
    return _JobRequest(
        workflow=workflow,
        version=version,
        project=project,
        parameters=attrs.get("parameters") or {},
        webhook_url=webhook_url,
        idempotency_key=key,
        fingerprint=fingerprint,
        image_name=image_name,
        image=image,
        image_url=image_url,
    )


def _read_upload(upload) -> bytes:
    max_bytes = _setting("UPLOAD_MAX_BYTES", services.UPLOAD_MAX_BYTES_DEFAULT)
    if upload.size is not None and upload.size > max_bytes:
        raise InputRejected(
            "file_too_large",
            "image",
            f"The image is larger than {max_bytes // (1024 * 1024)} MB. "
            "Resize or compress it and try again.",
        )
    upload.seek(0)
    return upload.read(max_bytes + 1)


def _check_outbound_url(field: str, url: str) -> None:
    try:
        netguard.check_url(url)
    except netguard.UnsafeURL as exc:
        raise InputRejected("unsafe_url", field, str(exc)) from exc
    except netguard.OutboundError as exc:
        raise InputRejected("unreachable_url", field, str(exc)) from exc


def _fetch_image(url: str) -> bytes:
    """Download an image through the outbound guard: public addresses only
    (every redirect hop re-checked), the upload size cap, a total timeout."""
    max_bytes = _setting("UPLOAD_MAX_BYTES", services.UPLOAD_MAX_BYTES_DEFAULT)
    try:
        response = netguard.safe_request(
            "GET",
            url,
            headers={"Accept": "image/*", "User-Agent": "Creator image fetcher"},
            timeout=_setting("IMAGE_URL_TIMEOUT", IMAGE_URL_TIMEOUT_DEFAULT),
            max_bytes=max_bytes,
            allow_redirects=True,
        )
    except netguard.UnsafeURL as exc:
        raise InputRejected("unsafe_url", "image_url", str(exc)) from exc
    except netguard.ResponseTooLarge as exc:
        raise InputRejected(
            "file_too_large",
            "image_url",
            f"The image is larger than {max_bytes // (1024 * 1024)} MB. "
            "Resize or compress it and try again.",
        ) from exc
    except netguard.OutboundError as exc:
        raise InputRejected("unreachable_url", "image_url", str(exc)) from exc
    if response.status != 200:
        raise InputRejected(
            "unreachable_url",
            "image_url",
            f"Downloading the image failed: the server answered HTTP {response.status}.",
        )
    return response.body


def _existing_for_key(*, user, job_request: _JobRequest) -> Generation | None:
    """The job an earlier request with this Idempotency-Key created, if any.
    Raises Conflict when that request had a different body."""
    if job_request.idempotency_key is None:
        return None
    existing = Generation.objects.filter(
        user=user, idempotency_key=job_request.idempotency_key
    ).first()
    if existing is not None and existing.idempotency_fingerprint != job_request.fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body. "
            "Use a new key for a new job."
        )
    return existing


def job_create_from_request(request) -> tuple[Generation, bool]:
    """Create the job a request describes, or find the one an identical
    earlier request (same Idempotency-Key) created. Returns (job, created).

    Raises DRF exceptions (400 with per-field details, 409) and creates or
    queues nothing when it raises.
    """
    job_request = _parse_job_request(request)
    existing = _existing_for_key(user=request.user, job_request=job_request)
    if existing is not None:
        return existing, False
    image = job_request.image
    if image is None:
        image = _fetch_image(job_request.image_url)
    # generation_create checks every input, then creates the job, its
    # fingerprint and its credit reservation in one transaction (so a
    # concurrent request with the same key waits on the unique index until
    # it commits, then sees the fingerprint it must match).
    try:
        job = services.generation_create(
            user=request.user,
            workflow=job_request.workflow,
            version=job_request.version,
            image=image,
            image_name=job_request.image_name,
            values=job_request.parameters,
            source=Generation.Source.API,
            project=job_request.project,
            webhook_url=job_request.webhook_url,
            idempotency_key=job_request.idempotency_key,
            idempotency_fingerprint=job_request.fingerprint
            if job_request.idempotency_key is not None
            else "",
            source_ref={"api_key": str(request.auth.id)} if _is_key(request) else {},
            subscription=subscription_loaded(request.user),
        )
    except billing_errors.QuotaExceeded as exc:
        raise QuotaExceeded(exc.message) from exc
    except billing_errors.RateLimited as exc:
        raise exceptions.Throttled(
            wait=exc.retry_after, detail=getattr(exc, "message", None) or str(exc)
        ) from exc
    except InvalidImage as exc:
        field = "image_url" if job_request.image_url else "image"
        raise InputRejected(exc.code, field, exc.message) from exc
    except ParameterValuesError as exc:
        raise exceptions.ValidationError({"parameters": exc.errors}) from exc
    except IntegrityError as exc:
        if job_request.idempotency_key is None or IDEMPOTENCY_CONSTRAINT not in str(exc):
            raise
        # Lost the race to an identical request: answer with its job.
        existing = _existing_for_key(user=request.user, job_request=job_request)
        if existing is None:
            raise
        return existing, False
    return job, True


def _is_key(request) -> bool:
    from accounts.models import ApiKey

    return isinstance(request.auth, ApiKey)


# --- reading jobs -------------------------------------------------------------


def _outputs_prefetch() -> Prefetch:
    return Prefetch(
        "assets",
        queryset=Asset.objects.filter(kind=Asset.Kind.OUTPUT).order_by("created_at"),
        to_attr="output_assets",
    )


def _job_data(request, job: Generation, *, fresh: bool = False, current: bool = False) -> dict:
    """The job as the API shows it. `fresh`: the object was just created in
    this request (no outputs, nothing to re-read); `current`: it was just read
    with its workflow (only the outputs are missing); otherwise it is re-read."""
    if fresh:
        job.output_assets = []
    elif current:
        job.output_assets = list(
            Asset.objects.filter(generation=job, kind=Asset.Kind.OUTPUT).order_by("created_at")
        )
    else:
        job = (
            Generation.objects.select_related("workflow")
            .prefetch_related(_outputs_prefetch())
            .get(id=job.id)
        )
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
        selector_filters = {"status": f.get("status"), "project": f.get("project")}
        if f.get("workflow"):
            from workflows.selectors import workflow_get_for_user

            try:
                workflow = workflow_get_for_user(user=request.user, id_or_slug=f["workflow"])
            except Http404:
                raise _invalid("workflow", "No workflow with this slug or id.") from None
            selector_filters["workflow"] = workflow.id
        jobs = selectors.generation_list(user=request.user, filters=selector_filters)
        if f.get("created_after"):
            jobs = jobs.filter(created_at__gte=f["created_after"])
        if f.get("created_before"):
            jobs = jobs.filter(created_at__lt=f["created_before"])
        jobs = jobs.prefetch_related(_outputs_prefetch())
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
    default = int(_setting("API_SYNC_WAIT_DEFAULT", SYNC_WAIT_DEFAULT))
    ceiling = int(_setting("API_SYNC_WAIT_MAX", SYNC_WAIT_MAX))
    wait = default
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
    return max(0, min(wait, ceiling))


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
            raise InputRejected(exc.code, "image", exc.message) from exc
        return Response(UploadSerializer(asset).data, status=status.HTTP_201_CREATED)
