"""Python client for the Creator API."""

from creator_sdk.client import CreatorClient, Job, JobError, Output
from creator_sdk.errors import (
    AuthenticationError,
    ConflictError,
    CreatorError,
    InvalidRequestError,
    JobTimeout,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
)
from creator_sdk.webhooks import WebhookVerificationError, sign_webhook, verify_webhook

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "CreatorClient",
    "CreatorError",
    "InvalidRequestError",
    "Job",
    "JobError",
    "JobTimeout",
    "NotFoundError",
    "Output",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "WebhookVerificationError",
    "sign_webhook",
    "verify_webhook",
]
