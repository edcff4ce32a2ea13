"""One guard where requests enter: input PostgreSQL could not store is a 400.

A NUL (or half a surrogate pair) in the URL path, the query string, a form
field, an uploaded file's name or a JSON body, and NaN/Infinity or absurd
nesting in a JSON body, would otherwise reach a query or an INSERT and fail
there as a 500, after views had started work. Checking once, before any view
runs, covers every page and endpoint, including ones written later.

Request bodies over Django's DATA_UPLOAD_* limits are answered here as well:
Django's own answer is an HTML 400 page, which API clients cannot read.

API paths get the API's error shape; pages get the plain 400 page with the
sentence. JSON typed into a form field (project metadata, a pasted graph) is
not visible here; the forms parse it with `textguard.json_loads_strict`.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.template import loader

from creator_site.api_errors import error_body
from creator_site.textguard import json_text_flaw, non_finite_sentence, shown, text_flaw

API_PREFIX = "/api/"
LIMIT_ERRORS = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


class Refusal(Exception):
    """Why a request is refused: an API error code, a message, per-field details."""

    def __init__(self, code: str, message: str, details: dict | None = None, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.details, self.status = code, message, details or {}, status


class _NonFinite(ValueError):
    pass


def _raise_non_finite(name: str):
    raise _NonFinite(name)


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        try:
            request_check(request)
        except Refusal as refusal:
            return refusal_response(request, refusal)
        except LIMIT_ERRORS as exc:
            return refusal_response(request, limit_refusal(exc))
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        # A view that reads the body in a way the check above did not (e.g. a
        # content type it skips) still hits the limits: same answer.
        if isinstance(exception, LIMIT_ERRORS):
            return refusal_response(request, limit_refusal(exception))
        return None


def request_check(request: HttpRequest) -> None:
    """Raise Refusal for input PostgreSQL could not store; may raise Django's
    RequestDataTooBig / TooManyFieldsSent / TooManyFilesSent while reading."""
    flaw = text_flaw(request.path_info)
    if flaw:
        raise Refusal(
            "invalid_parameters",
            "The address contains a NUL character (%00), which no Creator page or endpoint "
            "has. Check the link.",
            {"path": [f"Text cannot contain {flaw}."]},
        )
    _fields_check(request.GET, kind="query parameter")
    if request.method == "POST" and request.content_type in (
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    ):
        try:
            post = request.POST
        except MultiPartParserError as exc:
            raise Refusal(
                "malformed_request", f"The form data could not be read ({exc}). Send it again."
            ) from exc
        except UnreadablePostError:
            return  # the client went away; the view meets the same error
        # File names need no check: Django drops non-printable characters from them.
        _fields_check(post, kind="field")
    elif _is_json(request):
        _json_body_check(request)


def _text_refusal(subject: str, where: str, flaw: str) -> Refusal:
    return Refusal(
        "invalid_parameters",
        f"{subject} contains {flaw}, which Creator cannot store. Remove it and try again.",
        {where: [f"Text cannot contain {flaw}."]},
    )


def _fields_check(fields, *, kind: str) -> None:
    for name, values in fields.lists():
        for text in (name, *values):
            flaw = text_flaw(text)
            if flaw:
                raise _text_refusal(f"The {kind} “{shown(name)}”", shown(name), flaw)


def _is_json(request: HttpRequest) -> bool:
    content_type = request.content_type or ""
    return content_type == "application/json" or content_type.endswith("+json")


def _json_body_check(request: HttpRequest) -> None:
    body = request.body  # raises RequestDataTooBig over DATA_UPLOAD_MAX_MEMORY_SIZE
    if not body:
        return
    try:
        text = body.decode(request.encoding or "utf-8")
        value = json.loads(text, parse_constant=_raise_non_finite)
    except _NonFinite as exc:
        sentence = non_finite_sentence(exc.args[0])
        raise Refusal("malformed_request", f"JSON parse error - {sentence}") from None
    except RecursionError:
        raise Refusal("malformed_request", "The JSON body is nested too deeply.") from None
    except (ValueError, LookupError):
        return  # not JSON at all: the view's parser says what is wrong with it
    found = json_text_flaw(value, root="body")
    if found:
        where, flaw = found
        raise _text_refusal(f"The field “{where}”", where, flaw)


def limit_refusal(exc: Exception) -> Refusal:
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        return Refusal(
            "request_too_large",
            f"The request body is over {limit} MB, more than Creator accepts. Send images "
            "as multipart/form-data files (they do not count towards this limit) or by "
            "image_url.",
            {"max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
            status=413,
        )
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return Refusal(
            "too_many_files",
            f"The request has more than {limit:,} files; Creator accepts up to {limit:,} in "
            "one request. Send them in several requests.",
            {"max_files": limit},
        )
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    return Refusal(
        "too_many_fields",
        f"The request has more than {limit:,} fields; Creator accepts up to {limit:,}.",
        {"max_fields": limit},
    )


def refusal_response(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse(
            error_body(refusal.code, refusal.message, refusal.details), status=refusal.status
        )
    page = loader.render_to_string(
        "400.html", {"message": refusal.message, "status": refusal.status}
    )
    return HttpResponse(page, status=refusal.status)
