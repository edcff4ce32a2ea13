"""allauth's pages render in our layout, with labelled Bootstrap form fields."""

import pytest

from tests.ui.conftest import control_ids, input_names, labelled_ids

GOOGLE_APP = {"APPS": [{"client_id": "test-client", "secret": "test-secret", "key": ""}]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/accounts/login/", {"login", "password", "remember"}),
        ("/accounts/signup/", {"email", "password1", "password2"}),
        ("/accounts/password/reset/", {"email"}),
    ],
)
def test_entrance_pages_show_their_form_in_the_site_layout(client, html, path, fields):
    _, page = html(client, path)

    assert input_names(page) == fields
    assert control_ids(page) <= labelled_ids(page), "every control needs a <label for>"
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'class="form-control' in page
    assert '<main id="main"' in page and 'aria-label="Main"' in page
    assert 'class="card border-0 shadow-sm"' in page


@pytest.mark.django_db
def test_the_login_page_links_to_password_reset(client, html):
    _, page = html(client, "/accounts/login/")

    assert 'href="/accounts/password/reset/">Forgot your password?</a>' in page
    assert 'aria-describedby="id_password_help"' in page


@pytest.mark.django_db
def test_field_errors_are_tied_to_their_field_and_passwords_are_not_echoed(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "new@example.com", "password1": "123", "password2": "123"},
    )
    page = response.content.decode()

    assert response.status_code == 200
    assert 'aria-invalid="true"' in page
    assert 'aria-describedby="id_password1_error' in page
    assert 'id="id_password1_error"' in page
    assert 'value="123"' not in page
    assert 'value="new@example.com"' in page


@pytest.mark.django_db
def test_a_failed_login_shows_one_clear_error(client):
    response = client.post(
        "/accounts/login/", {"login": "nobody@example.com", "password": "wrong-password"}
    )
    page = response.content.decode()

    assert response.status_code == 200
    assert 'class="alert alert-danger" role="alert"' in page
    assert "not correct" in page


@pytest.mark.django_db
def test_there_is_no_google_button_when_google_is_not_configured(client, settings, html):
    settings.GOOGLE_CLIENT_ID = ""

    _, page = html(client, "/accounts/login/")

    assert "Sign in with Google" not in page


@pytest.mark.django_db
def test_the_google_button_appears_when_google_is_configured(client, settings, html):
    settings.GOOGLE_CLIENT_ID = "test-client"
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "google": {**settings.SOCIALACCOUNT_PROVIDERS["google"], **GOOGLE_APP},
    }

    _, page = html(client, "/accounts/login/")

    assert "Sign in with Google" in page
    assert 'href="/accounts/google/login/' in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/accounts/password/reset/done/", 200),
        ("/accounts/confirm-email/", 200),
        ("/accounts/password/reset/key/1-bad-key/", 200),
        ("/accounts/inactive/", 200),
        ("/accounts/3rdparty/login/cancelled/", 200),
        ("/accounts/3rdparty/login/error/", 401),
    ],
)
def test_other_entrance_pages_render_in_a_card(client, html, path, status):
    _, page = html(client, path, status=status)

    assert '<main id="main"' in page
    assert 'class="card border-0 shadow-sm"' in page
    assert '<h1 class="h3 fw-bold mb-0">' in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/accounts/email/", "Email Addresses"),
        ("/accounts/password/change/", "Change Password"),
        ("/accounts/3rdparty/", "Account Connections"),
        ("/accounts/logout/", "Sign Out"),
    ],
)
def test_account_management_pages_sit_beside_the_account_menu(client, alice, html, path, heading):
    client.force_login(alice)

    _, page = html(client, path)

    assert '<nav aria-label="Account">' in page
    assert heading in page
    assert control_ids(page) <= labelled_ids(page)
    if path != "/accounts/logout/":
        assert f'href="{path}" aria-current="page"' in page
