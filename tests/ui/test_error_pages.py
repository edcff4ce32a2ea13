"""Error pages speak to the user, in the site layout where that is safe."""

import pytest
from django.template.loader import get_template
from django.test import Client


@pytest.mark.django_db
def test_an_unknown_url_shows_the_friendly_404_page(client, settings):
    settings.DEBUG = False

    response = client.get("/no-such-page/")
    page = response.content.decode()

    assert response.status_code == 404
    assert "We couldn't find that page" in page
    assert '<main id="main"' in page
    assert "Traceback" not in page and "URLconf" not in page


@pytest.mark.django_db
@pytest.mark.urls("tests.ui.urls")
def test_permission_denied_shows_the_403_page(client, settings):
    settings.DEBUG = False

    response = client.get("/forbidden/")

    assert response.status_code == 403
    assert "You don't have access to this page" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.urls("tests.ui.urls")
def test_a_server_error_shows_the_plain_500_page(settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)

    response = client.get("/boom/")
    page = response.content.decode()

    assert response.status_code == 500
    assert "Something went wrong on our side" in page
    assert "a bug the user must never see" not in page


def test_the_500_page_renders_without_a_request_or_context():
    page = get_template("500.html").render()

    assert "Something went wrong on our side" in page
    assert "{%" not in page
