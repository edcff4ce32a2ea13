"""The site layout (base.html): landmarks, skip link, navigation, messages."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.template.loader import render_to_string


def render_base(rf, path, user, **context):
    request = rf.get(path)
    request.user = user
    return render_to_string("base.html", context, request=request)


@pytest.mark.django_db
def test_every_page_has_a_skip_link_and_landmarks(client, html):
    _, page = html(client, "/")

    assert '<a class="visually-hidden-focusable skip-link" href="#main">' in page
    assert '<main id="main"' in page
    assert '<nav class="navbar' in page and 'aria-label="Main"' in page
    assert "<footer" in page
    assert page.count("<h1") == 1


@pytest.mark.django_db
def test_visitors_see_pricing_log_in_and_sign_up(client, html):
    _, page = html(client, "/")

    assert 'href="/pricing/"' in page
    assert 'href="/accounts/login/"' in page
    assert 'href="/accounts/signup/"' in page
    assert 'href="/dashboard/"' not in page
    assert "Log out" not in page


@pytest.mark.django_db
def test_members_see_the_app_sections(client, alice, html):
    client.force_login(alice)

    _, page = html(client, "/")

    for href in ["/dashboard/", "/workflows/", "/jobs/", "/drive/", "/billing/", "/settings/"]:
        assert f'href="{href}"' in page
    assert 'href="/accounts/signup/"' not in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "section"),
    [
        ("/dashboard/", "Dashboard"),
        ("/workflows/portrait_pro/", "Workflows"),
        ("/jobs/", "Gallery"),
        ("/drive/", "Drive"),
        ("/billing/", "Billing"),
        ("/settings/", "Settings"),
    ],
)
def test_the_current_section_is_marked_for_assistive_technology(rf, alice, path, section):
    page = render_base(rf, path, alice)

    assert f'aria-current="page">{section}</a>' in page
    assert page.count('aria-current="page"') == 1


@pytest.mark.django_db
def test_log_out_is_a_post_form_with_a_csrf_token(client, alice, html):
    client.force_login(alice)

    _, page = html(client, "/")

    form = page[page.index('<form method="post" action="/accounts/logout/">') :]
    form = form[: form.index("</form>")]
    assert 'name="csrfmiddlewaretoken"' in form
    assert "Log out" in form


@pytest.mark.django_db
def test_only_staff_see_the_admin_link(client, alice, html):
    client.force_login(alice)
    _, page = html(client, "/")
    assert 'href="/admin/"' not in page

    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    _, page = html(client, "/")
    assert 'href="/admin/">Admin</a>' in page


@pytest.mark.django_db
def test_htmx_requests_carry_the_csrf_token(client, html):
    response, page = html(client, "/")

    token = response.context["csrf_token"]
    assert f"""hx-headers='{{"X-CSRFToken": "{token}"}}'""" in page


def test_messages_are_dismissible_alerts_and_errors_are_danger(rf):
    messages = [
        Message(constants.ERROR, "This file is a PDF."),
        Message(constants.SUCCESS, "Profile saved."),
    ]

    page = render_base(rf, "/", AnonymousUser(), messages=messages)

    assert 'class="alert alert-danger alert-dismissible fade show" role="alert"' in page
    assert 'class="alert alert-success alert-dismissible fade show" role="status"' in page
    assert "alert-error" not in page
    assert page.count('data-bs-dismiss="alert"') == 2
