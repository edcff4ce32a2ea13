"""HTML views: domain errors become the site's own error pages."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse

from creator_site import errors


class DomainErrorMiddleware:
    """Maps `creator_site.errors` raised below a view, once for every HTML page.

    NotFound and PermissionDenied re-raise as Django's own exceptions so the
    usual 404/403 templates render; Conflict and InvalidInput answer with their
    sentence (views that can show a form error catch them first).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, errors.NotFound):
            raise Http404(exception.message) from exception
        if isinstance(exception, errors.PermissionDenied):
            raise DjangoPermissionDenied(exception.message) from exception
        if isinstance(exception, errors.DomainError):
            return HttpResponse(
                exception.message,
                status=exception.http_status,
                content_type="text/plain; charset=utf-8",
            )
        return None
