"""Domain errors raised below a view are shown once, the same way everywhere."""

import pytest
from django.http import Http404
from django.test import RequestFactory

from creator_site import errors
from creator_site.api_errors import exception_handler
from creator_site.middleware import DomainErrorMiddleware


def _api(exc):
    return exception_handler(exc, {"request": None, "view": None})


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (errors.NotFound("No such job."), 404, "not_found"),
        (errors.PermissionDenied(), 403, "forbidden"),
        (errors.Conflict("The job has already finished."), 409, "conflict"),
        (errors.Conflict("Taken.", code="inbox_taken"), 409, "inbox_taken"),
    ],
)
def test_the_api_answers_each_domain_error_in_the_one_error_shape(exc, status, code, db):
    response = _api(exc)
    assert response.status_code == status
    assert response.data["error"]["code"] == code
    assert set(response.data["error"]) == {"code", "message", "details"}


def test_the_api_says_no_more_than_not_found_for_a_hidden_object(db):
    response = _api(errors.NotFound("Workflow 7 belongs to alice."))
    assert "alice" not in response.data["error"]["message"]


def test_invalid_input_lists_its_fields(db):
    response = _api(errors.InvalidInput(details={"mask": ["This file is not an image."]}))
    assert response.status_code == 400
    assert response.data["error"]["details"] == {"mask": ["This file is not an image."]}


def test_html_pages_turn_not_found_into_the_sites_404():
    middleware = DomainErrorMiddleware(lambda request: None)
    request = RequestFactory().get("/jobs/x/")
    with pytest.raises(Http404):
        middleware.process_exception(request, errors.NotFound())


def test_html_pages_answer_a_conflict_with_its_sentence():
    middleware = DomainErrorMiddleware(lambda request: None)
    response = middleware.process_exception(
        RequestFactory().post("/jobs/x/cancel/"), errors.Conflict("The job has already finished.")
    )
    assert response.status_code == 409
    assert b"already finished" in response.content


def test_other_exceptions_are_left_to_django():
    middleware = DomainErrorMiddleware(lambda request: None)
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("bug")) is None
