"""The site's URLs plus two views that fail on purpose, for the error pages."""

from django.core.exceptions import PermissionDenied
from django.urls import include, path


def boom(request):
    raise RuntimeError("a bug the user must never see")


def forbidden(request):
    raise PermissionDenied


urlpatterns = [
    path("boom/", boom),
    path("forbidden/", forbidden),
    path("", include("creator_site.urls")),
]
