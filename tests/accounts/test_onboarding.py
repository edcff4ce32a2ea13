"""The onboarding shell (SPEC §3): steps, then "Finish setup" → dashboard."""

import pytest

from accounts.onboarding import ONBOARDING_STEPS
from tests.factories import UserFactory


@pytest.mark.django_db
def test_it_shows_the_steps_to_a_new_user(client):
    client.force_login(UserFactory(onboarding_completed=False))

    page = client.get("/onboarding/").content.decode()

    for step in ["Connect a source", "Choose a folder", "Choose a preset", "Done", "Finish setup"]:
        assert step in page


@pytest.mark.django_db
def test_finishing_setup_completes_onboarding_and_goes_to_the_dashboard(client):
    user = UserFactory(onboarding_completed=False)
    client.force_login(user)

    response = client.post("/onboarding/")

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    user.refresh_from_db()
    assert user.onboarding_completed is True


@pytest.mark.django_db
def test_it_sends_a_user_who_finished_onboarding_to_the_dashboard(client, alice):
    assert alice.onboarding_completed
    client.force_login(alice)

    response = client.get("/onboarding/")

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


@pytest.mark.django_db
def test_it_requires_login(client):
    assert client.get("/onboarding/")["Location"].startswith("/accounts/login/")
    assert client.post("/onboarding/")["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_each_step_page_is_headed_and_marked_as_its_step(client, settings, tmp_path):
    settings.INBOX_ENABLED = True
    settings.INBOX_DIR = tmp_path / "inbox"
    client.force_login(UserFactory(onboarding_completed=False))
    client.post("/drive/inbox/", {"next": "/onboarding/"})

    for step in ONBOARDING_STEPS:
        page = client.get(f"/onboarding/?step={step.key}").content.decode()

        assert f'<h2 id="step-title" class="h5">{step.heading}</h2>' in page
        current = page.split('aria-current="step"', 1)[1].split("</li>", 1)[0]
        assert f'<span class="fw-semibold">{step.title}</span>' in current
    assert "Four short steps" in page
