"""One error shape for the whole API: {"error": {"code", "message", "details"}}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

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


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def exception_handler(exc, context):
    if isinstance(exc, domain_errors.DomainError):
        response = Response(error_body(exc.code, exc.message, exc.details), status=exc.http_status)
        if exc.http_status == status.HTTP_404_NOT_FOUND:
            response.data["error"]["message"] = "Not found."
        return response
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
