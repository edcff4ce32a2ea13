"""Services that create jobs and change the user's marks on them.

How a job runs is `generations.pipeline`; how it ends (completed, failed,
cancelled, refunded) is `generations.finishing`; every status change goes
through `generations.states.generation_transition`.
"""

import logging
import uuid
from typing import BinaryIO

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from generations.files import comfy_input_name, input_store
from generations.images import image_check
from generations.models import Asset, Generation, GenerationEvent

logger = logging.getLogger(__name__)
Status = Generation.Status


# --- jobs ---------------------------------------------------------------------

UPLOAD_MAX_BYTES_DEFAULT = 10 * 1024 * 1024
UPLOAD_MAX_PIXELS_DEFAULT = 40_000_000


def generation_create(
    *,
    user,
    workflow,
    image: bytes | BinaryIO,
    image_name: str = "",
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
    """Validate everything, store the input, create the job queued, and
    enqueue it once the transaction commits.

    Raises InvalidImage, ParameterValuesError, or billing's QuotaExceeded /
    RateLimited before anything is stored or queued. The job's credits are
    reserved in the same transaction that creates it. The graph that will
    run (parameters and the input's name on the server written in) is
    snapshotted on the job, so the result can be
    reproduced even if the workflow changes later. `subscription`: the
    user's row as read earlier in this request, if it was (saves a read).
    """
    # Imported here: sibling apps, called through their modules.
    from billing.services import usage_reserve
    from workflows.parameters import graph_compile, parameters_resolve
    from workflows.selectors import workflow_version_get
    from workflows.services import project_record_generation, workflow_record_use

    info = image_check(
        image,
        max_bytes=getattr(settings, "UPLOAD_MAX_BYTES", UPLOAD_MAX_BYTES_DEFAULT),
        max_pixels=getattr(settings, "UPLOAD_MAX_PIXELS", UPLOAD_MAX_PIXELS_DEFAULT),
        name=image_name,
    )
    if not isinstance(image, bytes | bytearray):
        image.seek(0)
        image = image.read()
    version = version or workflow_version_get(workflow=workflow)
    generation_id = uuid.uuid4()
    subfolder, name = comfy_input_name(generation_id, info.extension)
    comfy_name = f"{subfolder}/{name}"
    # Resolve once (random seeds are fixed here), then compile with the
    # resolved values so the snapshot and input_parameters agree.
    resolved = parameters_resolve(
        parameters=version.parameters, values=values, image_name=comfy_name
    )
    snapshot = graph_compile(
        graph=version.workflow_json,
        parameters=version.parameters,
        values=resolved,
        image_name=comfy_name,
    )
    # The file before the rows, and outside the transaction: the reservation
    # below locks the user's balance row, and a slow write must not hold it.
    # A crash in between leaves an unreferenced upload (removed by
    # retention), never a job without its input.
    stored_key = input_store(
        user_id=user.id, generation_id=generation_id, extension=info.extension, data=image
    )
    try:
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
            Asset.objects.create(
                user=user,
                generation=generation,
                kind=Asset.Kind.INPUT,
                file=stored_key,
                original_name=(image_name or "")[:255],
                content_type=info.content_type,
                size=info.size,
                width=info.width,
                height=info.height,
                sha256=info.sha256,
            )
            GenerationEvent.objects.create(
                generation=generation,
                kind="created",
                to_status=Status.QUEUED,
                message=f"Queued from {generation.get_source_display()}.",
                data={"workflow_version": version.number, "input_sha256": info.sha256},
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
        default_storage.delete(stored_key)  # refused or failed: keep nothing
        raise
    return generation


def generation_enqueue(*, generation_id, countdown: float = 0) -> None:
    from generations.tasks import generation_run

    generation_run.apply_async(args=[str(generation_id)], countdown=countdown)


def generation_retry(*, generation: Generation) -> Generation:
    """Run a failed or cancelled job again as a new job: same workflow
    version, same parameters (seeds included), same input image."""
    if generation.status not in (Status.FAILED, Status.CANCELLED):
        raise ValueError("Only failed or cancelled jobs can be retried.")
    if generation.workflow is None:
        raise ValueError("The workflow of this job was deleted, so it cannot run again.")
    source_asset = generation.assets.filter(kind=Asset.Kind.INPUT).first()
    if source_asset is None:
        raise ValueError("The input image of this job is gone, so it cannot run again.")
    with source_asset.file.open("rb") as handle:
        data = handle.read()
    values = {
        k: v
        for k, v in generation.input_parameters.items()
        if not (isinstance(v, str) and v.startswith("creator/"))  # the old input's name
    }
    return generation_create(
        user=generation.user,
        workflow=generation.workflow,
        image=data,
        image_name=source_asset.original_name,
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
