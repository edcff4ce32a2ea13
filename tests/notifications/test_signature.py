"""The signing scheme, checked against the Standard Webhooks spec computed
here independently, and webhook_verify refusing anything altered."""

import base64
import hashlib
import hmac
import secrets
import time

import pytest

from generations.webhooks import WebhookVerificationError, webhook_sign, webhook_verify

KEY = secrets.token_bytes(32)
SECRET = "whsec_" + base64.b64encode(KEY).decode()
BODY = b'{"type":"job.completed","timestamp":"2026-11-23T10:00:00Z","data":{"id":"x"}}'


def spec_signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    # Straight from the spec: v1,base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
    signed = f"{msg_id}.{timestamp}.{body.decode()}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(msg_id="msg_abc", timestamp=None, secret=SECRET, body=BODY) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_sign(
            secret=secret, msg_id=msg_id, timestamp=timestamp, body=body
        ),
    }


def test_it_signs_as_the_spec_says():
    assert webhook_sign(secret=SECRET, msg_id="msg_abc", timestamp=1674087231, body=BODY) == (
        spec_signature(KEY, "msg_abc", 1674087231, BODY)
    )


def test_it_reads_url_safe_unpadded_secrets_as_the_same_key_bytes():
    # Secrets made with secrets.token_urlsafe (accounts.models.new_webhook_secret).
    url_safe = "whsec_" + base64.urlsafe_b64encode(KEY).decode().rstrip("=")
    assert webhook_sign(secret=url_safe, msg_id="m", timestamp=1, body=BODY) == spec_signature(
        KEY, "m", 1, BODY
    )


def test_it_accepts_its_own_signature_and_returns_the_payload():
    assert webhook_verify(SECRET, headers(), BODY) == {
        "type": "job.completed",
        "timestamp": "2026-11-23T10:00:00Z",
        "data": {"id": "x"},
    }


def test_it_finds_the_matching_signature_among_several():
    sent = headers()
    sent["webhook-signature"] = "v1,bm90IGl0 v1a,c29tZXRoaW5n " + sent["webhook-signature"]
    assert webhook_verify(SECRET, sent, BODY)["data"] == {"id": "x"}


def test_it_ignores_header_case():
    sent = {k.title(): v for k, v in headers().items()}
    assert webhook_verify(SECRET, sent, BODY)


def test_it_rejects_a_tampered_body():
    with pytest.raises(WebhookVerificationError):
        webhook_verify(SECRET, headers(), BODY.replace(b'"x"', b'"y"'))


def test_it_rejects_a_tampered_timestamp():
    sent = headers()
    sent["webhook-timestamp"] = str(int(sent["webhook-timestamp"]) + 1)
    with pytest.raises(WebhookVerificationError, match="No webhook signature matches"):
        webhook_verify(SECRET, sent, BODY)


def test_it_rejects_a_tampered_id():
    sent = headers()
    sent["webhook-id"] = "msg_other"
    with pytest.raises(WebhookVerificationError):
        webhook_verify(SECRET, sent, BODY)


def test_it_rejects_an_old_timestamp_even_when_correctly_signed():
    old = int(time.time()) - 301
    with pytest.raises(WebhookVerificationError, match="too old"):
        webhook_verify(SECRET, headers(timestamp=old), BODY)


def test_it_rejects_a_timestamp_from_the_future():
    ahead = int(time.time()) + 301
    with pytest.raises(WebhookVerificationError, match="too far ahead"):
        webhook_verify(SECRET, headers(timestamp=ahead), BODY)


def test_it_rejects_another_secret():
    other = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    with pytest.raises(WebhookVerificationError):
        webhook_verify(other, headers(), BODY)


def test_it_rejects_missing_headers():
    sent = headers()
    del sent["webhook-signature"]
    with pytest.raises(WebhookVerificationError, match="missing"):
        webhook_verify(SECRET, sent, BODY)
