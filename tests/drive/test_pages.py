"""The Drive page, the folder browser and the onboarding wizard."""

from urllib.parse import parse_qs, urlparse

import pytest

from drive import services
from drive.models import PollRecord, SourceFile
from tests.drive.conftest import connect_drive, poll
from tests.factories import UserFactory
from tests.generations.conftest import png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_drive_page_shows_state_folders_polls_skips_and_jobs(
    client, alice, drive_standin, presets
):
    connection, folder_id = connect_drive(alice, drive_standin)
    drive_standin.add_file("scan.jpg", b"%PDF-1.4 nope", folder_id)
    drive_standin.add_file("selfie.png", png_bytes((16, 16)), folder_id)
    poll(connection)
    client.force_login(alice)

    page = client.get("/drive/").content.decode()

    assert "Connected" in page
    assert "Photos" in page and connection.folder_link in page
    assert "Processed" in page and connection.output_folder_link in page
    assert "scan.jpg" in page and "PDF" in page  # skipped, with the reason
    assert "selfie.png" in page  # became a job
    assert "Recent checks" in page and "OK" in page


def test_nobody_else_sees_a_connection(client, alice, charlie, drive_standin):
    connect_drive(alice, drive_standin)
    client.force_login(charlie)
    page = client.get("/drive/").content.decode()
    assert "Photos" not in page
    assert client.post("/drive/disconnect/", {"kind": "drive"}).status_code == 404
    assert client.get("/drive/folders/").status_code == 404


def test_the_pages_require_login(client):
    assert client.get("/drive/")["Location"].startswith("/accounts/login/")
    assert client.post("/drive/connect/")["Location"].startswith("/accounts/login/")


def test_connect_starts_googles_consent_with_drive_scope_and_offline_access(
    client, alice, settings
):
    settings.GOOGLE_CLIENT_ID = "id.apps.googleusercontent.com"
    client.force_login(alice)

    response = client.post("/drive/connect/")

    url = urlparse(response["Location"])
    assert url.path == "/accounts/google/login/"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["process"] == "connect"
    assert query["scope"] == "https://www.googleapis.com/auth/drive"
    assert "access_type=offline" in query["auth_params"]
    assert "prompt=consent" in query["auth_params"]
    assert client.session["drive_connect_pending"] is True


def test_connect_explains_when_google_is_not_set_up(client, alice, settings):
    settings.GOOGLE_CLIENT_ID = ""
    client.force_login(alice)
    response = client.post("/drive/connect/", follow=True)
    assert "Google sign-in is not set up" in response.content.decode()


def test_the_folder_browser_lists_my_folders_and_watches_one(client, alice, drive_standin):
    connection, _ = connect_drive(alice, drive_standin)
    drive_standin.add_folder("Holidays")
    drive_standin.add_folder("Secret", account="mallory@example.com")
    client.force_login(alice)

    page = client.get("/drive/folders/", HTTP_HX_REQUEST="true").content.decode()
    assert "Holidays" in page and "Photos" in page and "Secret" not in page
    assert "<html" not in page  # the htmx partial

    holidays = next(
        f for f in drive_standin.children(drive_standin.root_id()) if f["name"] == "Holidays"
    )
    client.post("/drive/folders/choose/", {"kind": "drive", "folder_id": holidays["id"]})
    connection.refresh_from_db()
    assert connection.folder_name == "Holidays"

    secret = drive_standin.add_folder("Other", account="mallory@example.com")
    response = client.post(
        "/drive/folders/choose/", {"kind": "drive", "folder_id": secret}, follow=True
    )
    assert "does not exist in your Google Drive" in response.content.decode()
    connection.refresh_from_db()
    assert connection.folder_name == "Holidays"


def test_the_onboarding_wizard_sets_up_the_local_inbox(client, settings, tmp_path, presets):
    settings.INBOX_ENABLED = True
    settings.INBOX_DIR = tmp_path / "inbox"
    user = UserFactory(onboarding_completed=False)
    client.force_login(user)

    page = client.get("/onboarding/").content.decode()
    assert "Connect a source" in page and "Use the local inbox" in page and "Finish setup" in page

    response = client.post("/drive/inbox/", {"next": "/onboarding/?step=folder"})
    assert response["Location"] == "/onboarding/?step=folder"
    page = client.get(response["Location"]).content.decode()
    assert str(tmp_path / "inbox") in page

    page = client.get("/onboarding/?step=preset").content.decode()
    assert "Cinematic" in page or "cinematic" in page
    response = client.post(
        "/drive/preset/", {"kind": "inbox", "preset": "cinematic", "next": "/onboarding/?step=done"}
    )
    page = client.get(response["Location"]).content.decode()
    assert "cinematic" in page and "Local inbox" in page

    assert client.post("/onboarding/")["Location"] == "/dashboard/"
    user.refresh_from_db()
    assert user.onboarding_completed
    assert services.inbox_connect(user=user).preset_slug == "cinematic"


def test_the_onboarding_wizard_browses_drive_folders(client, drive_standin, presets):
    user = UserFactory(onboarding_completed=False)
    grant = drive_standin.grant()
    services.drive_connect(
        user=user,
        access_token=grant["access_token"],
        refresh_token=grant["refresh_token"],
        expires_at=None,
    )
    drive_standin.add_folder("Client shoots")
    client.force_login(user)

    page = client.get("/onboarding/").content.decode()

    assert 'aria-current="step"' in page
    assert "Choose a folder" in page and "Client shoots" in page


def test_a_revoked_grant_shows_on_the_drive_page(client, alice, drive_standin):
    connection, _ = connect_drive(alice, drive_standin)
    drive_standin.revoke_grants()
    poll(connection)
    client.force_login(alice)

    page = client.get("/drive/").content.decode()
    assert "Reconnect Google Drive" in page
    assert "Disconnected" in page
    assert PollRecord.objects.get(status="revoked")
    assert not SourceFile.objects.exists()


def test_the_dashboard_asks_to_reconnect_a_revoked_grant_but_not_a_disconnected_source(
    client, alice, bob, drive_standin
):
    revoked, _ = connect_drive(alice, drive_standin)
    drive_standin.revoke_grants()
    poll(revoked)
    left, _ = connect_drive(bob, drive_standin, account="bob@example.com")
    services.connection_disconnect(connection=left)

    client.force_login(alice)
    alices = client.get("/dashboard/").content.decode()
    client.force_login(bob)
    bobs = client.get("/dashboard/").content.decode()

    assert "Google Drive is disconnected." in alices
    assert "Reconnect Google Drive to resume." in alices  # the reason, from the poll
    assert "Google Drive is disconnected." not in bobs
