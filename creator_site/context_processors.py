from django.conf import settings


def site(request):
    return {
        "google_login_enabled": bool(settings.GOOGLE_CLIENT_ID),
        "site_url": settings.SITE_URL,
    }
