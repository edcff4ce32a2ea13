"""One error shape for the whole API: {"error": {"code", "message", "details"}}.

Every error reaches a client through `exception_handler`: DRF's own
exceptions, Django's Http404/PermissionDenied, the domain errors of
`creator_site.errors`, and billing's refusals (QuotaExceeded is a 402,
RateLimited a 429 with Retry-After). Views raise; nothing else shapes errors.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from billing.services import QuotaExceeded, RateLimited
from creator_site import errors as domain_errors

# Stable codes a client can branch on, by DRF exception class.
_CODES: dict[type, str] = {
    exceptions.NotAuthenticated: "unauthenticated",
    exceptions.AuthenticationFailed: "unauthenticated",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.ValidationError: "invalid_parameters",
    exceptions.ParseError: "malformed_request",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.Throttled: "rate_limited",
}

_MESSAGES = {
    "invalid_parameters": "Some parameters are invalid; see details for each field.",
}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable; branch on this.")
    message = serializers.CharField(help_text="A sentence for people.")
    details = serializers.DictField(help_text="Per-field problems, or extra facts.")


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the whole API (for the OpenAPI document)."""

    error = ErrorDetailSerializer()


_DESCRIBED = {
    400: "Invalid input; `details` names each problem by field.",
    401: "Missing, malformed, revoked or expired API key.",
    402: "Quota exceeded (`quota_exceeded`).",
    403: "The API key lacks the scope this endpoint needs (`forbidden`).",
    404: "No such resource, or it belongs to someone else (`not_found`).",
    409: "Conflict (`conflict`).",
    415: "Unsupported Content-Type (`unsupported_media_type`).",
    429: "Rate limited (`rate_limited`); see `Retry-After`.",
}


def error_responses(*codes: int) -> dict:
    """`responses=` entries for extend_schema: the error shape per status."""
    return {code: OpenApiResponse(ErrorSerializer, description=_DESCRIBED[code]) for code in codes}


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _domain_response(exc: domain_errors.DomainError) -> Response:
    code, message = exc.code, exc.message
    if isinstance(exc, domain_errors.InvalidInput):
        # Shaped like DRF's field errors, so a client sees one kind of 400:
        # `invalid_parameters` unless the service named a sharper code, and
        # the sentences per field in `details`.
        if code == domain_errors.InvalidInput.code:
            code = "invalid_parameters"
        if exc.details:
            message = _MESSAGES["invalid_parameters"]
    response = Response(error_body(code, message, exc.details), status=exc.http_status)
    if exc.http_status == status.HTTP_404_NOT_FOUND:
        response.data["error"]["message"] = "Not found."
    return response


def exception_handler(exc, context):
    if isinstance(exc, QuotaExceeded):
        set_rollback()  # as DRF does for its own exceptions
        return Response(error_body(exc.code, exc.message), status=status.HTTP_402_PAYMENT_REQUIRED)
    if isinstance(exc, RateLimited):
        exc = exceptions.Throttled(wait=exc.retry_after, detail=exc.message)
    if isinstance(exc, domain_errors.DomainError):
        set_rollback()
        return _domain_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500

    code = getattr(exc, "error_code", None) or next(
        (c for cls, c in _CODES.items() if isinstance(exc, cls)), None
    )
    if code is None:
        code = exc.default_code if isinstance(exc, exceptions.APIException) else "error"
    details = {}
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        message = _MESSAGES["invalid_parameters"]
    else:
        detail = getattr(exc, "detail", "")
        message = str(detail) if not isinstance(detail, (dict, list)) else str(exc.default_detail)
        if isinstance(detail, dict):
            details = detail
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        details = {"retry_after": int(exc.wait + 0.999)}
    response.data = error_body(code, message, details)
    if response.status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
