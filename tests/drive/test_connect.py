"""Connecting Google Drive through allauth, and disconnecting."""

import pytest
from allauth.socialaccount.models import SocialAccount, SocialLogin, SocialToken
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from drive import services
from drive.models import SourceConnection
from drive.receivers import SESSION_FLAG
from tests.drive.conftest import connect_drive
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def google_app(drive_standin):
    from allauth.socialaccount.models import SocialApp
    from django.contrib.sites.models import Site

    app = SocialApp.objects.create(
        provider="google",
        name="Google",
        client_id=drive_standin.client_id,
        secret=drive_standin.client_secret,
    )
    app.sites.add(Site.objects.get_current())
    return app


def google_connect(user, grant, *, started_by_us=True):
    """What allauth does at the end of a Google "connect" flow."""
    request = RequestFactory().get("/accounts/google/login/callback/")
    request.user = user
    request.session = SessionStore()
    if started_by_us:
        request.session[SESSION_FLAG] = True
    request._messages = FallbackStorage(request)
    account = SocialAccount(provider="google", uid="1234", extra_data={"email": user.email})
    token = SocialToken(token=grant["access_token"], token_secret=grant["refresh_token"])
    login = SocialLogin(account=account, user=user)
    login.token = token  # as allauth's callback view sets it
    login.connect(request, user)
    return [str(m) for m in get_messages(request)]


def test_connecting_google_drive_stores_the_grant_encrypted(drive_standin):
    user = UserFactory()
    grant = drive_standin.grant()

    notes = google_connect(user, grant)

    connection = SourceConnection.objects.get(user=user, kind="drive")
    assert connection.state == "connected"
    assert connection.refresh_token == grant["refresh_token"]
    assert grant["refresh_token"] not in connection.refresh_token_encrypted
    assert any("choose the folder" in n for n in notes)


def test_signing_in_with_google_does_not_connect_drive(drive_standin):
    user = UserFactory()
    google_connect(user, drive_standin.grant(), started_by_us=False)
    assert not SourceConnection.objects.exists()


def test_unticking_the_drive_box_is_explained(drive_standin):
    user = UserFactory()

    notes = google_connect(user, drive_standin.grant(drive_scope=False))

    assert any("Google Drive access was not granted" in n for n in notes)
    connection = SourceConnection.objects.get(user=user)
    assert connection.state == "revoked"
    assert connection.refresh_token_encrypted == ""


def test_a_grant_without_a_refresh_token_is_refused(drive_standin):
    grant = drive_standin.grant()
    with pytest.raises(services.ConnectError, match="offline access"):
        services.drive_connect(
            user=UserFactory(),
            access_token=grant["access_token"],
            refresh_token="",
            expires_at=None,
        )


def test_disconnecting_revokes_the_grant_and_deletes_the_tokens(drive_standin):
    connection, _ = connect_drive(UserFactory(), drive_standin)

    services.connection_disconnect(connection=connection)

    assert drive_standin.revoked == ["alice@example.com"]
    assert drive_standin.refresh_tokens == {}
    connection.refresh_from_db()
    assert connection.state == "disconnected"
    assert connection.access_token_encrypted == "" and connection.refresh_token_encrypted == ""
