"""Signed webhooks for finished jobs, in the Standard Webhooks format.

Signing (https://www.standardwebhooks.com):

    webhook-id         msg_<32 hex>, one per event, the same on every retry
    webhook-timestamp  unix seconds of this attempt
    webhook-signature  "v1," + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}"))

The key is the user's `whsec_…` secret with the prefix removed and the rest
base64-decoded (standard or URL-safe alphabet, padding optional).
`webhook_sign` and `webhook_verify` use only the standard library so the
Python SDK can carry the same code.

Delivery: one WebhookDelivery row per attempt. The first is created when the
job finishes (notifications.generation_notify_finished); a failed attempt
creates the next one, due after WEBHOOK_RETRY_DELAYS[attempt - 1] seconds,
until the delays run out. A 2xx answer delivers; redirects are not followed
(Standard Webhooks treats 3xx as a failure: the URL should be updated);
410 Gone stops the retries; a URL the outbound guard refuses is logged as
refused, never retried and never connected to.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import random
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from creator_site import netguard
from generations.files import asset_url
from generations.models import Asset, Generation, WebhookDelivery

logger = logging.getLogger(__name__)
Status = Generation.Status
Outcome = WebhookDelivery.Outcome

SECRET_PREFIX = "whsec_"
EVENT_TYPES = {
    Status.COMPLETED: "job.completed",
    Status.FAILED: "job.failed",
    Status.CANCELLED: "job.cancelled",
}
RESPONSE_EXCERPT_BYTES = 1024
# Where the event ids of this app live, so they are stable for a job and type.
_EVENT_NAMESPACE = uuid.UUID("3c5f0e7e-9a57-4d0e-9a0b-4c1d2b6f8e11")


# --- signing (standard library only: shared with the Python SDK) ----------------


class WebhookVerificationError(Exception):
    pass


def webhook_secret_key(secret: str) -> bytes:
    """The HMAC key bytes of a `whsec_…` secret."""
    encoded = secret.removeprefix(SECRET_PREFIX).strip()
    # Accept both alphabets and unpadded input: the key is the same bytes.
    encoded = encoded.replace("-", "+").replace("_", "/")
    encoded += "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("The webhook secret is not valid base64 after 'whsec_'.") from exc
    if not key:
        raise ValueError("The webhook secret is empty.")
    return key


def webhook_sign(*, secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The `webhook-signature` value for one message."""
    if isinstance(body, str):
        body = body.encode()
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(webhook_secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    tolerance: int = 300,
    *,
    now: float | None = None,
) -> dict:
    """Check a received webhook and return its parsed JSON payload.

    `body` must be the raw request body, byte for byte. Raises
    WebhookVerificationError when a header is missing, the timestamp is
    more than `tolerance` seconds away from now (replays), or no `v1`
    signature in the header matches (constant-time comparison).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    raw_timestamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not (msg_id and raw_timestamp and signatures):
        raise WebhookVerificationError("A webhook-id, -timestamp or -signature header is missing.")
    try:
        timestamp = int(raw_timestamp)
    except ValueError as exc:
        raise WebhookVerificationError("The webhook-timestamp header is not a number.") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError("The webhook timestamp is too old or too far ahead.")
    expected = webhook_sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
    for candidate in signatures.split():
        # Compare every candidate in full so timing tells nothing about which matched.
        if candidate.startswith("v1,") and hmac.compare_digest(
            candidate.encode(), expected.encode()
        ):
            return json.loads(body)
    raise WebhookVerificationError("No webhook signature matches.")


# --- events -------------------------------------------------------------------------


def webhook_event_id(*, generation: Generation, event_type: str) -> str:
    """Stable for a job and event type, so a receiver can dedupe on it."""
    return "msg_" + uuid.uuid5(_EVENT_NAMESPACE, f"{generation.id}:{event_type}").hex


def webhook_url_for(generation: Generation) -> str:
    """The job's own webhook URL (given through the API), else the user's."""
    return generation.webhook_url or generation.user.webhook_url or ""


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _absolute(url: str) -> str:
    if url.startswith(("http://", "https://")):
        return url
    return settings.SITE_URL.rstrip("/") + url


def webhook_payload(*, generation: Generation, event_type: str) -> dict:
    """The event body. Output links are signed now, so build it per attempt:
    a retry two hours later must not carry links that have expired."""
    outputs = [
        {
            "url": _absolute(asset_url(asset)),
            "width": asset.width,
            "height": asset.height,
            "content_type": asset.content_type,
        }
        for asset in generation.assets.filter(kind=Asset.Kind.OUTPUT).order_by("created_at")
    ]
    error = None
    if generation.status == Status.FAILED:
        error = {"code": generation.error_code, "message": generation.error_message}
    return {
        "type": event_type,
        "timestamp": _iso(generation.completed_at or timezone.now()),
        "data": {
            "id": str(generation.id),
            "status": generation.status,
            "workflow": generation.workflow_name,
            "error": error,
            "outputs": outputs,
            "created_at": _iso(generation.created_at),
            "completed_at": _iso(generation.completed_at),
        },
    }


# --- delivery ---------------------------------------------------------------------


def webhook_delivery_create(*, generation: Generation, url: str) -> WebhookDelivery | None:
    """Create the first attempt of the job's final event, once: returns None
    when it already exists. Call inside a transaction; enqueue on commit."""
    event_type = EVENT_TYPES[generation.status]
    event_id = webhook_event_id(generation=generation, event_type=event_type)
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives
            return WebhookDelivery.objects.create(
                generation=generation,
                url=url,
                event_id=event_id,
                event_type=event_type,
                attempt=1,
            )
    except IntegrityError:
        return None


def webhook_enqueue(*, delivery: WebhookDelivery, countdown: float = 0) -> None:
    """Queue the attempt once the current transaction commits."""
    from generations.tasks import webhook_deliver

    delivery_id = delivery.id
    transaction.on_commit(
        lambda: webhook_deliver.apply_async(args=[delivery_id], countdown=countdown)
    )


def webhook_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """Make one pending attempt and record how it went; schedule the next
    attempt if it failed and retries remain.

    Idempotent: the attempt is claimed with a conditional update, so a
    duplicate task (redelivered message, sweeper) finds it taken and does
    nothing. Returns the row, or None when there was nothing to do.
    """
    claimed = WebhookDelivery.objects.filter(id=delivery_id, outcome=Outcome.PENDING).update(
        outcome=Outcome.SENDING, attempted_at=timezone.now()
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("generation__user").get(id=delivery_id)
    generation = delivery.generation
    body = json.dumps(
        webhook_payload(generation=generation, event_type=delivery.event_type),
        separators=(",", ":"),
    ).encode()
    timestamp = int(time.time())
    started = time.monotonic()
    retry_after: float | None = None
    try:
        signature = webhook_sign(
            secret=generation.user.webhook_secret,
            msg_id=delivery.event_id,
            timestamp=timestamp,
            body=body,
        )
    except ValueError as exc:  # a secret that cannot be decoded cannot sign anything
        _record(delivery, started, outcome=Outcome.REFUSED, error=str(exc))
        return delivery
    try:
        response = netguard.safe_request(
            "POST",
            delivery.url,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Creator-Webhooks/1.0",
                "webhook-id": delivery.event_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signature,
            },
            timeout=settings.WEBHOOK_TIMEOUT,
            max_bytes=RESPONSE_EXCERPT_BYTES,
            truncate=True,
            allow_redirects=False,
        )
    except netguard.UnsafeURL as exc:
        _record(delivery, started, outcome=Outcome.REFUSED, error=str(exc))
        return delivery
    except netguard.OutboundError as exc:
        _record(delivery, started, outcome=Outcome.FAILED, error=str(exc))
    else:
        fields = {
            "status_code": response.status,
            "response_excerpt": _safe_text(response.text(RESPONSE_EXCERPT_BYTES)),
        }
        if 200 <= response.status < 300:
            _record(delivery, started, outcome=Outcome.DELIVERED, **fields)
            return delivery
        if response.status == 410:
            _record(
                delivery,
                started,
                outcome=Outcome.FAILED,
                error="The receiver answered 410 Gone, so no more attempts are made.",
                **fields,
            )
            return delivery
        error = f"The receiver answered HTTP {response.status}."
        if 300 <= response.status < 400:
            location = response.headers.get("location", "")
            error += f" Redirects are not followed; set the webhook URL to {location!r}."
        _record(delivery, started, outcome=Outcome.FAILED, error=error, **fields)
        retry_after = _retry_after(response.headers.get("retry-after"))
    _schedule_next(delivery, retry_after=retry_after)
    return delivery


def _safe_text(value: str) -> str:
    """A receiver's bytes as text PostgreSQL will store: PostgreSQL text
    cannot hold NUL, and lone surrogates (from undecodable bytes) cannot be
    encoded, so either would make saving the outcome raise."""
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def _record(delivery: WebhookDelivery, started: float, *, outcome: str, **fields) -> None:
    try:
        _record_outcome(delivery, started, outcome=outcome, **fields)
    except Exception as exc:
        # Whatever made the save fail, the row must not stay `sending` (the
        # sweeper would otherwise treat it as a dead worker's). Record the
        # bare outcome without the receiver's reply.
        logger.exception("webhook %s: recording the outcome failed", delivery.event_id)
        WebhookDelivery.objects.filter(id=delivery.id).update(
            outcome=outcome,
            status_code=fields.get("status_code"),
            response_excerpt="",
            delivered_at=timezone.now() if outcome == Outcome.DELIVERED else None,
            error=f"Recording the outcome failed: {type(exc).__name__}.",
        )


def _record_outcome(delivery: WebhookDelivery, started: float, *, outcome: str, **fields) -> None:
    delivery.outcome = outcome
    delivery.duration_ms = int((time.monotonic() - started) * 1000)
    if outcome == Outcome.DELIVERED:
        delivery.delivered_at = timezone.now()
    for name, value in fields.items():
        setattr(delivery, name, value)
    delivery.error = _safe_text(delivery.error[:2000])
    delivery.save(
        update_fields=[
            "outcome",
            "duration_ms",
            "delivered_at",
            "status_code",
            "response_excerpt",
            "error",
        ]
    )
    log = logger.info if outcome == Outcome.DELIVERED else logger.warning
    log(
        "webhook %s attempt %s to %s: %s %s",
        delivery.event_id,
        delivery.attempt,
        delivery.url,
        outcome,
        delivery.status_code or delivery.error,
    )


def _retry_after(value: str | None) -> float | None:
    # Only the seconds form; an HTTP date is rare from webhook receivers.
    if value and value.strip().isdigit():
        return min(float(value), 24 * 3600)
    return None


def _schedule_next(delivery: WebhookDelivery, *, retry_after: float | None) -> None:
    delays = list(settings.WEBHOOK_RETRY_DELAYS)
    if delivery.attempt > len(delays):
        return  # that was the last attempt
    delay = float(delays[delivery.attempt - 1])
    # Up to 10 % jitter so receivers that failed together are not retried together.
    delay += random.uniform(0, delay / 10)  # noqa: S311 - not a secret
    if retry_after is not None:
        delay = max(delay, retry_after)
    with transaction.atomic():
        try:
            with transaction.atomic():
                following = WebhookDelivery.objects.create(
                    generation_id=delivery.generation_id,
                    url=delivery.url,
                    event_id=delivery.event_id,
                    event_type=delivery.event_type,
                    attempt=delivery.attempt + 1,
                    due_at=timezone.now() + timedelta(seconds=delay),
                )
        except IntegrityError:
            return  # already scheduled by a duplicate of this attempt
        webhook_enqueue(delivery=following, countdown=delay)


def webhooks_send_due(*, grace: float = 60) -> int:
    """Safety net, run by beat: requeue attempts whose message was lost
    (broker restart) and attempts left `sending` by a worker that died.
    Duplicates are harmless: webhook_attempt claims each row once.

    An attempt still `sending` long after the timeout is failed, and the next
    attempt (if any remain) scheduled. Putting it back to `pending` instead
    re-sent the same attempt forever whenever its outcome could not be saved.
    """
    now = timezone.now()
    stuck_before = now - timedelta(seconds=settings.WEBHOOK_TIMEOUT + 300)
    stuck = WebhookDelivery.objects.filter(outcome=Outcome.SENDING, attempted_at__lt=stuck_before)
    for delivery in stuck:
        failed = WebhookDelivery.objects.filter(id=delivery.id, outcome=Outcome.SENDING).update(
            outcome=Outcome.FAILED,
            error="The attempt was still sending long after the timeout; counted as failed.",
        )
        if failed:  # claimed here, not by a concurrent sweeper
            _schedule_next(delivery, retry_after=None)
    due = WebhookDelivery.objects.filter(
        outcome=Outcome.PENDING, due_at__lt=now - timedelta(seconds=grace)
    )
    count = 0
    for delivery in due:
        webhook_enqueue(delivery=delivery)
        count += 1
    return count
