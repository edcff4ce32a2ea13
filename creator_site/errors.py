"""Domain errors: what services and selectors raise instead of HTTP types.

A service says *what* went wrong (this row is not yours, this state forbids
it, this value is bad); each edge decides how to show it. The API maps them
once in `creator_site.api_errors.exception_handler`; HTML views through
`creator_site.middleware.DomainErrorMiddleware`; commands and tasks catch
them by class. Each carries a stable `code` a client can branch on, a
sentence for people, and optional `details`.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of the four below; never raised itself."""

    code = "error"
    default_message = "The request could not be completed."
    http_status = 400

    def __init__(self, message: str | None = None, *, code: str | None = None, details=None):
        self.message = message or self.default_message
        if code:
            self.code = code
        self.details = details or {}
        super().__init__(self.message)


class NotFound(DomainError):
    """The object does not exist, or is not the caller's to see (the same answer)."""

    code = "not_found"
    default_message = "Not found."
    http_status = 404


class PermissionDenied(DomainError):
    """The caller may see the object but not do this to it."""

    code = "forbidden"
    default_message = "You do not have permission to do that."
    http_status = 403


class Conflict(DomainError):
    """The object's current state forbids the action (already cancelled, taken…)."""

    code = "conflict"
    default_message = "That cannot be done in the object's current state."
    http_status = 409


class InvalidInput(DomainError):
    """A value the caller sent is wrong; `details` says which, per field."""

    code = "invalid_input"
    default_message = "Some of the input is invalid."
    http_status = 400
