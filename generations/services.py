"""Services that create jobs and change the user's marks on them.

How a job runs is `generations.pipeline`; how it ends (completed, failed,
cancelled, refunded) is `generations.finishing`; every status change goes
through `generations.states.generation_transition`.
"""

import hashlib
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from creator_site import netguard
from creator_site.errors import Conflict, InvalidInput, NotFound
from generations import selectors
from generations.files import comfy_input_name, input_store
from generations.images import ImageInfo, InvalidImage, image_check, image_fetch, image_read
from generations.models import Asset, Generation, GenerationEvent

logger = logging.getLogger(__name__)
Status = Generation.Status

IDEMPOTENCY_CONSTRAINT = "generations_unique_idempotency_key"


@dataclass(frozen=True)
class InputFile:
    """One image a caller brings for a named workflow input: its bytes (or
    an open file) and the name it had on the caller's side."""

    data: bytes | BinaryIO
    name: str = ""


@dataclass(frozen=True)
class _CheckedInput:
    input_name: str  # "" for the one file of a single-upload job
    data: bytes
    original_name: str
    info: ImageInfo


def _input_checked(*, input_name: str, source: "InputFile | Asset") -> _CheckedInput:
    """Read and check one input by its content (an upload reused by id is
    checked again: the rules may have changed since). Raises InvalidImage."""
    if isinstance(source, Asset):
        with source.file.open("rb") as handle:
            data, original = handle.read(), source.original_name
    else:
        data, original = source.data, source.name
        if not isinstance(data, bytes | bytearray):
            data.seek(0)
            data = data.read()
    info = image_check(
        data,
        max_bytes=settings.UPLOAD_MAX_BYTES,
        max_pixels=settings.UPLOAD_MAX_PIXELS,
        name=original,
    )
    return _CheckedInput(
        input_name=input_name, data=bytes(data), original_name=original or "", info=info
    )


def generation_create(
    *,
    user,
    workflow,
    image: bytes | BinaryIO | None = None,
    image_name: str = "",
    inputs: Mapping[str, "InputFile | Asset"] | None = None,
    values: dict | None = None,
    source: str = Generation.Source.WEB,
    project=None,
    webhook_url: str = "",
    idempotency_key: str | None = None,
    idempotency_fingerprint: str = "",
    source_ref: dict | None = None,
    version=None,
    subscription=None,
) -> Generation:
    """Validate everything, store the inputs, create the job queued, and
    enqueue it once the transaction commits.

    `inputs` maps the workflow's image input names to a file (`InputFile`)
    or an earlier upload (`Asset`); each is stored as its own input asset
    and goes to the server under its own name. `image` is the shorthand of
    a single-upload caller: one file for every required input. Neither, for
    a text-to-image workflow.

    Raises InvalidImage (keyed by input name in its message), ParameterValuesError
    (bad values, unknown input names, missing required inputs), or billing's
    QuotaExceeded / RateLimited before anything is stored or queued. The
    job's credits are reserved in the same transaction that creates it. The
    graph that will run (parameters and the inputs' names on the server
    written in) is snapshotted on the job, so the result can be reproduced
    even if the workflow changes later. `subscription`: the user's row as
    read earlier in this request, if it was (saves a read).
    """
    # Imported here: sibling apps, called through their modules.
    from billing.services import usage_reserve
    from workflows.parameters import graph_compile, image_inputs_for_upload, parameters_resolve
    from workflows.selectors import workflow_version_get
    from workflows.services import project_record_generation, workflow_record_use

    if image is not None and inputs:
        raise ValueError("Give either image= or inputs=, not both.")
    checked: list[_CheckedInput] = []
    if image is not None:
        checked.append(_input_checked(input_name="", source=InputFile(image, image_name)))
    for input_name, given in (inputs or {}).items():
        try:
            checked.append(_input_checked(input_name=input_name, source=given))
        except InvalidImage as exc:
            raise InvalidImage(exc.code, f"{input_name}: {exc.message}") from exc
    version = version or workflow_version_get(workflow=workflow)
    generation_id = uuid.uuid4()
    comfy_names = {}
    for item in checked:
        subfolder, name = comfy_input_name(generation_id, item.info.extension, item.input_name)
        comfy_names[item.input_name] = f"{subfolder}/{name}"
    if image is not None:
        graph_inputs = image_inputs_for_upload(
            parameters=version.parameters, filename=comfy_names[""]
        )
    else:
        graph_inputs = comfy_names
    # Resolve once (random seeds are fixed here), then compile with the
    # resolved values so the snapshot and input_parameters agree.
    resolved = parameters_resolve(parameters=version.parameters, values=values)
    snapshot = graph_compile(
        graph=version.workflow_json,
        parameters=version.parameters,
        values=resolved,
        inputs=graph_inputs,
    )
    # The files before the rows, and outside the transaction: the reservation
    # below locks the user's balance row, and a slow write must not hold it.
    # A crash in between leaves unreferenced uploads (removed by
    # retention), never a job without its input.
    stored_keys: list[str] = []
    try:
        for item in checked:
            stored_keys.append(
                input_store(
                    user_id=user.id,
                    generation_id=generation_id,
                    extension=item.info.extension,
                    data=item.data,
                    input_name=item.input_name,
                )
            )
        with transaction.atomic():
            generation = Generation.objects.create(
                id=generation_id,
                user=user,
                project=project,
                workflow=workflow,
                workflow_version=version,
                workflow_name=workflow.name,
                input_parameters=resolved,
                workflow_snapshot=snapshot,
                source=source,
                source_ref=source_ref or {},
                webhook_url=webhook_url,
                idempotency_key=idempotency_key,
                idempotency_fingerprint=idempotency_fingerprint,
                credits_used=workflow.estimated_credits,
            )
            for item, stored_key in zip(checked, stored_keys, strict=True):
                Asset.objects.create(
                    user=user,
                    generation=generation,
                    kind=Asset.Kind.INPUT,
                    file=stored_key,
                    original_name=item.original_name[:255],
                    input_name=item.input_name,
                    content_type=item.info.content_type,
                    size=item.info.size,
                    width=item.info.width,
                    height=item.info.height,
                    sha256=item.info.sha256,
                )
            event_data = {"workflow_version": version.number}
            if image is not None:
                event_data["input_sha256"] = checked[0].info.sha256
            else:
                event_data["inputs_sha256"] = {i.input_name: i.info.sha256 for i in checked}
            GenerationEvent.objects.create(
                generation=generation,
                kind="created",
                to_status=Status.QUEUED,
                message=f"Queued from {generation.get_source_display()}.",
                data=event_data,
            )
            # The money last: it locks the user's balance and usage rows
            # until commit, and concurrent jobs of one user queue on those
            # locks, so the rows above are written before it takes them. A
            # refusal (quota, hourly limit) rolls the rows above back.
            usage_reserve(
                user=user,
                credits=workflow.estimated_credits,
                generation_id=generation_id,
                new_job=True,
                subscription=subscription,
            )
            transaction.on_commit(lambda: generation_enqueue(generation_id=generation.id))
            # Counters after commit: every job of a preset updates the same
            # row, which must not be locked for the length of a job's creation.
            transaction.on_commit(lambda: workflow_record_use(workflow=workflow))
            if project is not None:
                transaction.on_commit(lambda: project_record_generation(project=project))
    except BaseException:
        for stored_key in stored_keys:
            default_storage.delete(stored_key)  # refused or failed: keep nothing
        raise
    return generation


def generation_enqueue(*, generation_id, countdown: float = 0) -> None:
    """Queue the job for a worker now (call it on commit)."""
    from generations.tasks import generation_run

    generation_run.apply_async(args=[str(generation_id)], countdown=countdown)


# --- creating a job from an API request --------------------------------------------


@dataclass(frozen=True)
class JobRequest:
    """A job as an API request describes it: parsed, not yet checked against
    the database. Exactly one of `image` (a multipart upload), `asset_id`
    (an earlier upload) and `image_url` is given."""

    workflow: str  # slug or id
    parameters: dict
    project_id: uuid.UUID | None = None
    webhook_url: str = ""
    idempotency_key: str | None = None
    image: BinaryIO | None = None
    image_name: str = ""
    asset_id: uuid.UUID | None = None
    image_url: str | None = None
    api_key_id: str | None = None


def _field_error(field: str, message: str, code: str | None = None) -> InvalidInput:
    return InvalidInput(message, code=code, details={field: [message]})


def generation_create_or_replay(
    *, user, request: JobRequest, subscription=None
) -> tuple[Generation, bool]:
    """Create the job an API request describes, or find the one an identical
    earlier request (same Idempotency-Key, same body) created. Returns
    (job, created).

    Raises InvalidInput (per-field `details`; code `unsafe_url`,
    `unreachable_url`, `file_too_large`… when there is a specific one),
    Conflict (the key was used with another body), or billing's
    QuotaExceeded / RateLimited; creates and queues nothing when it raises.
    An image_url is fetched only when no earlier job answers the request.
    """
    from workflows.parameters import ParameterValuesError
    from workflows.selectors import project_get_for_user, workflow_version_get_for_user

    image_field = "image_url" if request.image_url else "image"
    try:
        # The workflow and its latest version (the one the job will run) together.
        version = workflow_version_get_for_user(user=user, id_or_slug=request.workflow)
    except NotFound:
        raise _field_error(
            "workflow",
            "No workflow with this slug or id is available to you. "
            "GET /api/v1/workflows lists the ones you can run.",
        ) from None
    workflow = version.workflow
    project = None
    if request.project_id:
        try:
            project = project_get_for_user(user=user, project_id=request.project_id)
        except NotFound:
            raise _field_error("project", "You have no project with this id.") from None
    if request.webhook_url:
        try:
            netguard.check_url(request.webhook_url)
        except netguard.UnsafeURL as exc:
            raise _field_error("webhook_url", str(exc), "unsafe_url") from exc
        except netguard.OutboundError as exc:
            raise _field_error("webhook_url", str(exc), "unreachable_url") from exc

    image, image_name, image_digest = None, "", None
    if request.image is not None:
        try:
            image = image_read(request.image, max_bytes=settings.UPLOAD_MAX_BYTES)
        except InvalidImage as exc:
            raise _field_error("image", exc.message, exc.code) from exc
        image_name = request.image_name
        image_digest = hashlib.sha256(image).hexdigest()
    elif request.asset_id is not None:
        asset = selectors.upload_get(user=user, asset_id=request.asset_id)
        if asset is None:
            raise _field_error("asset_id", "You have no uploaded image with this id.")
        image_name, image_digest = asset.original_name, asset.sha256
        with asset.file.open("rb") as handle:
            image = handle.read()
    if request.image_url:
        image_name = unquote(urlsplit(request.image_url).path.rsplit("/", 1)[-1])[:255]

    fingerprint = _fingerprint(
        workflow=workflow, project=project, request=request, image_digest=image_digest
    )
    existing = _existing_for_key(user=user, key=request.idempotency_key, fingerprint=fingerprint)
    if existing is not None:
        return existing, False
    try:
        if image is None:
            image = image_fetch(
                request.image_url,
                max_bytes=settings.UPLOAD_MAX_BYTES,
                timeout=settings.IMAGE_URL_TIMEOUT,
            )
        # generation_create checks every input, then creates the job, its
        # fingerprint and its credit reservation in one transaction (so a
        # concurrent request with the same key waits on the unique index
        # until it commits, then sees the fingerprint it must match).
        job = generation_create(
            user=user,
            workflow=workflow,
            version=version,
            image=image,
            image_name=image_name,
            values=request.parameters,
            source=Generation.Source.API,
            project=project,
            webhook_url=request.webhook_url,
            idempotency_key=request.idempotency_key,
            idempotency_fingerprint=fingerprint if request.idempotency_key is not None else "",
            source_ref={"api_key": request.api_key_id} if request.api_key_id else {},
            subscription=subscription,
        )
    except InvalidImage as exc:
        raise _field_error(image_field, exc.message, exc.code) from exc
    except ParameterValuesError as exc:
        raise InvalidInput(str(exc), details={"parameters": exc.errors}) from exc
    except IntegrityError as exc:
        if request.idempotency_key is None or IDEMPOTENCY_CONSTRAINT not in str(exc):
            raise
        # Lost the race to an identical request: answer with its job.
        existing = _existing_for_key(
            user=user, key=request.idempotency_key, fingerprint=fingerprint
        )
        if existing is None:
            raise
        return existing, False
    return job, True


def _fingerprint(*, workflow, project, request: JobRequest, image_digest: str | None) -> str:
    # The fingerprint covers the body as the server understood it plus the
    # image's digest, so "the same request" means the same job would result.
    # An image_url is fingerprinted by the URL: a replay must not fetch again.
    canonical = {
        "workflow": str(workflow.id),
        "parameters": request.parameters or {},
        "project": str(project.id) if project else None,
        "webhook_url": request.webhook_url,
        "image_url": request.image_url,
        "asset_id": str(request.asset_id) if request.asset_id else None,
        "image_sha256": image_digest,
    }
    return hashlib.sha256(
        json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def _existing_for_key(*, user, key: str | None, fingerprint: str) -> Generation | None:
    """The job an earlier request with this Idempotency-Key created, if any.
    Raises Conflict when that request had a different body."""
    if key is None:
        return None
    existing = selectors.generation_get_by_idempotency_key(user=user, key=key)
    if existing is not None and existing.idempotency_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body. "
            "Use a new key for a new job."
        )
    return existing


# --- after the fact ---------------------------------------------------------------------


def generation_retry(*, generation: Generation) -> Generation:
    """Run a failed or cancelled job again as a new job: same workflow
    version, same parameters (seeds included), same input image."""
    if generation.status not in (Status.FAILED, Status.CANCELLED):
        raise ValueError("Only failed or cancelled jobs can be retried.")
    if generation.workflow is None:
        raise ValueError("The workflow of this job was deleted, so it cannot run again.")
    input_assets = list(generation.assets.filter(kind=Asset.Kind.INPUT))
    expects_inputs = "input_sha256" in (
        generation.events.filter(kind="created").values_list("data", flat=True).first() or {}
    )
    if not input_assets and expects_inputs:
        raise ValueError("The input image of this job is gone, so it cannot run again.")
    # A single-upload job ("" input name) again as one; a job of named
    # inputs (or none: text-to-image) with the same inputs by name.
    single = next((a for a in input_assets if not a.input_name), None)
    if single is not None:
        with single.file.open("rb") as handle:
            image, image_name, inputs = handle.read(), single.original_name, None
    else:
        image, image_name = None, ""
        inputs = {a.input_name: a for a in input_assets}
    values = {
        k: v
        for k, v in generation.input_parameters.items()
        if not (isinstance(v, str) and v.startswith("creator/"))  # the old input's name
    }
    return generation_create(
        user=generation.user,
        workflow=generation.workflow,
        image=image,
        image_name=image_name,
        inputs=inputs,
        values=values,
        source=generation.source,
        project=generation.project,
        webhook_url=generation.webhook_url,
        source_ref={**generation.source_ref, "retry_of": str(generation.id)},
        version=generation.workflow_version,
    )


def generation_annotate(
    *,
    generation: Generation,
    is_favorite: bool | None = None,
    rating=None,
    notes: str | None = None,
) -> Generation:
    """Set the user's own marks on a job; None leaves a mark unchanged.
    A rating is 1–5, or "" to clear it. Raises ValueError with a sentence."""
    fields = []
    if is_favorite is not None:
        generation.is_favorite = is_favorite
        fields.append("is_favorite")
    if rating is not None:
        if rating in ("", "0"):
            generation.rating = None
        else:
            try:
                value = int(rating)
            except (TypeError, ValueError):
                value = 0
            if not 1 <= value <= 5:
                raise ValueError("A rating is a whole number of stars from 1 to 5.")
            generation.rating = value
        fields.append("rating")
    if notes is not None:
        if len(notes) > 5000:
            raise ValueError("Notes can be at most 5,000 characters.")
        generation.notes = notes
        fields.append("notes")
    if fields:
        generation.save(update_fields=fields)
    return generation
