"""Standard Webhooks signatures (https://www.standardwebhooks.com), standalone.

    webhook-signature = "v1," + base64(HMAC-SHA256(key, f"{webhook-id}.{webhook-timestamp}.{body}"))

where the key is the base64-decoded part of your `whsec_…` secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

SECRET_PREFIX = "whsec_"


class WebhookVerificationError(Exception):
    """The webhook is not authentic, or too old to accept."""


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX).strip()
    # Either base64 alphabet, padding optional: the key is the same bytes.
    encoded = encoded.replace("-", "+").replace("_", "/")
    encoded += "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("The webhook secret is not valid base64 after 'whsec_'.") from exc
    if not key:
        raise ValueError("The webhook secret is empty.")
    return key


def sign_webhook(*, secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The `webhook-signature` header value for one message (useful in tests)."""
    raw = body.encode() if isinstance(body, str) else body
    signed = f"{msg_id}.{timestamp}.".encode() + raw
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    tolerance: int = 300,
    *,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a received webhook and return its JSON payload.

    Pass the raw request body, byte for byte, and the request's headers.
    Raises WebhookVerificationError when a header is missing, the timestamp
    is more than `tolerance` seconds from now (replay protection), or no
    `v1` signature matches (compared in constant time).
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
    expected = sign_webhook(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
    matched = False
    for candidate in signatures.split():
        if candidate.startswith("v1,") and hmac.compare_digest(
            candidate.encode(), expected.encode()
        ):
            matched = True
    if not matched:
        raise WebhookVerificationError("No webhook signature matches.")
    return json.loads(body)
