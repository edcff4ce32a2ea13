"""Exceptions raised by the client; each carries the API's stable error code."""

from __future__ import annotations

from typing import Any


class CreatorError(Exception):
    """The API answered with an error (or could not be reached: status 0)."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "error",
        details: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details or {}

    def __str__(self) -> str:
        extra = f" {self.details}" if self.details else ""
        return f"[{self.status} {self.code}] {self.message}{extra}"


class InvalidRequestError(CreatorError):
    """400: the request's content is wrong; `details` names each field."""


class AuthenticationError(CreatorError):
    """401: the key is missing, malformed, revoked or expired."""


class QuotaExceededError(CreatorError):
    """402: no allowance or credits left."""


class PermissionDeniedError(CreatorError):
    """403: the key lacks the scope this call needs."""


class NotFoundError(CreatorError):
    """404: no such job, workflow or upload (or it is someone else's)."""


class ConflictError(CreatorError):
    """409: e.g. an Idempotency-Key reused with another body, or cancelling a finished job."""


class RateLimitError(CreatorError):
    """429: slow down; `retry_after` says for how many seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class JobTimeout(CreatorError):
    """`wait()` gave up before the job finished; the job keeps running."""


BY_STATUS: dict[int, type[CreatorError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    402: QuotaExceededError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: InvalidRequestError,
    415: InvalidRequestError,
}
