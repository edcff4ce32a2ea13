"""Google sign-in on a server without Google credentials: its pages say so
with a 404 instead of failing with a 500 (issue #17, item 10)."""

import pytest

pytestmark = pytest.mark.django_db

GOOGLE_PATHS = [
    "/accounts/google/login/",
    "/accounts/google/login/callback/?code=abc&state=xyz",
    "/accounts/google/login/token/",
]


@pytest.fixture
def google_not_configured(settings):
    settings.GOOGLE_CLIENT_ID = ""
    settings.SOCIALACCOUNT_PROVIDERS = {"google": {"SCOPE": ["openid", "email"]}}


@pytest.fixture
def google_in_settings(settings):
    settings.GOOGLE_CLIENT_ID = "id.apps.googleusercontent.com"
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {
            "SCOPE": ["openid", "email"],
            "APPS": [{"client_id": "id.apps.googleusercontent.com", "secret": "s", "key": ""}],
        }
    }


@pytest.mark.parametrize("path", GOOGLE_PATHS)
def test_google_pages_answer_404_with_an_explanation_when_google_is_not_set_up(
    client, google_not_configured, path
):
    response = client.get(path)

    assert response.status_code == 404
    assert b"Google sign-in is not set up on this server" in response.content
    assert b"email address and password" in response.content


def test_the_login_page_offers_no_google_button_when_google_is_not_set_up(
    client, google_not_configured
):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert b"/accounts/google/login/" not in response.content


def test_google_login_still_starts_when_google_is_set_up_in_settings(client, google_in_settings):
    response = client.post("/accounts/google/login/")

    assert response.status_code == 302
    assert response["Location"].startswith("https://accounts.google.com/")


def test_google_login_still_starts_when_google_is_set_up_in_the_admin(
    client, google_not_configured
):
    from allauth.socialaccount.models import SocialApp
    from django.contrib.sites.models import Site

    app = SocialApp.objects.create(provider="google", name="Google", client_id="id", secret="s")
    app.sites.add(Site.objects.get_current())

    response = client.post("/accounts/google/login/")

    assert response.status_code == 302
    assert response["Location"].startswith("https://accounts.google.com/")
