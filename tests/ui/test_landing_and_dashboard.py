"""The landing page sells the product; the dashboard shell greets a member."""

import pytest
from django.template.loader import render_to_string


@pytest.mark.django_db
def test_the_landing_page_explains_the_product_to_visitors(client, html):
    _, page = html(client, "/")

    assert "Drop an image in a folder." in page
    assert 'id="how-it-works"' in page
    for preset in ["Portrait Pro", "Product Glow", "Cinematic"]:
        assert preset in page
    for price in ["$0", "$29", "$99"]:
        assert price in page
    assert "/api/v1/jobs" in page
    assert "Start free" in page


@pytest.mark.django_db
def test_members_are_sent_to_the_dashboard_instead_of_sign_up(client, alice, html):
    client.force_login(alice)

    _, page = html(client, "/")

    assert "Go to dashboard" in page
    assert 'href="/accounts/signup/"' not in page


@pytest.mark.django_db
def test_the_dashboard_greets_the_member_by_first_name(rf, alice):
    # The template on its own: the view's data (recent jobs, usage) is
    # specified with the view.
    request = rf.get("/dashboard/")
    request.user = alice

    page = render_to_string("dashboard.html", request=request)

    assert "Welcome back, Alice" in page
    assert 'id="usage-meter"' in page
    assert 'id="quick-upload"' in page
    assert "No jobs yet" in page
    assert 'href="/workflows/"' in page


@pytest.mark.django_db
def test_the_dashboard_lists_recent_jobs_instead_of_the_empty_state(client, alice, html):
    from generations.models import Generation

    Generation.objects.create(user=alice, workflow_name="Cinematic", status="completed")
    client.force_login(alice)

    _, page = html(client, "/dashboard/")

    assert 'id="recent-jobs"' in page
    assert "Cinematic" in page
    assert "No jobs yet" not in page
