"""allauth's Google sign-in pages, answering 404 with an explanation when
this server has no Google OAuth app (none in settings, none in the admin).

allauth's own views look the app up and raise SocialApp.DoesNotExist, a
500, on a server that never set Google up; a bookmarked or hand-typed link
deserves a sentence instead.
"""

import functools

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.google import views as google_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path


def google_login_configured(request: HttpRequest) -> bool:
    """True when an OAuth app for Google exists, in settings or in the database."""
    return bool(get_adapter(request).list_apps(request, provider="google"))


def _unless_unconfigured(view):
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not google_login_configured(request):
            return render(request, "socialaccount/google_not_configured.html", status=404)
        return view(request, *args, **kwargs)

    return guarded


# Mounted at accounts/google/ ahead of allauth's URLs, with allauth's names.
urlpatterns = [
    path("login/", _unless_unconfigured(google_views.oauth2_login), name="google_login"),
    path(
        "login/callback/",
        _unless_unconfigured(google_views.oauth2_callback),
        name="google_callback",
    ),
    path(
        "login/token/",
        _unless_unconfigured(google_views.login_by_token),
        name="google_login_by_token",
    ),
]
