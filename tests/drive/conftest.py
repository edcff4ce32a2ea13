"""Fixtures for watched-folder tests: the Drive stand-in, the pipeline's
worker and presets, and helpers to poll a connection like beat would."""

import time

import pytest

from drive import services
from tests.generations.conftest import presets, start_worker, worker_env  # noqa: F401
from tests.standins.drive import DriveStandIn

TEST_KEY = "kT5Mf0r3Yc7s1N3m4G8hQ2pL6vX9zA0bC1dE2fG3hI4="


@pytest.fixture(autouse=True)
def _token_keys(settings):
    # Tests run with DEBUG off, where a key must be configured.
    settings.TOKEN_ENCRYPTION_KEYS = TEST_KEY


@pytest.fixture
def drive_standin(settings):
    """The Drive v3 stand-in on a free loopback port, wired into settings."""
    server = DriveStandIn().start()
    settings.DRIVE_API_ENDPOINT = server.url + "/"
    settings.GOOGLE_TOKEN_URI = server.url + "/token"
    settings.GOOGLE_REVOKE_URI = server.url + "/revoke"
    settings.GOOGLE_CLIENT_ID = server.client_id
    settings.GOOGLE_CLIENT_SECRET = server.client_secret
    settings.DRIVE_RETRY_DELAY_SECONDS = 0.01
    yield server
    server.stop()


def poll(connection):
    """Claim and run one poll now, as the beat-enqueued task would."""
    claim = services.connection_claim(connection_id=connection.id)
    assert claim is not None, "a poll of this connection is already running"
    record = services.connection_poll(connection_id=connection.id, claim=claim)
    connection.refresh_from_db()
    return record


def connect_drive(user, standin, *, account="alice@example.com", folder="Photos"):
    """A user who connected Drive and chose a (new) folder to watch.
    Returns (connection, watched folder id)."""
    grant = standin.grant(account)
    connection = services.drive_connect(
        user=user,
        access_token=grant["access_token"],
        refresh_token=grant["refresh_token"],
        expires_at=None,
        account_email=account,
    )
    folder_id = standin.add_folder(folder, account=account)
    connection = services.connection_choose_folder(connection=connection, folder_id=folder_id)
    return connection, folder_id


def deliver(job, timeout: float = 30):
    """Run the delivery task for a finished job until its result is in place.

    The task is idempotent; calling it again also covers the pipeline's own
    call racing this one (which then holds the delivery claim for a moment)."""
    from drive.models import SourceFile
    from drive.tasks import delivery_run

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery_run(str(job.id))
        row = SourceFile.objects.get(generation_id=job.id)
        if row.status in (SourceFile.Status.DELIVERED, SourceFile.Status.FAILED):
            return row
        time.sleep(0.2)
    raise AssertionError(f"the result of {job.id} was never delivered")


def worker_settings(standin) -> dict:
    """Environment for a worker that delivers to the stand-in (read by the
    DRIVE_* / GOOGLE_* settings once they are in settings.py)."""
    return {
        "DRIVE_API_ENDPOINT": standin.url + "/",
        "GOOGLE_TOKEN_URI": standin.url + "/token",
        "GOOGLE_REVOKE_URI": standin.url + "/revoke",
        "GOOGLE_CLIENT_ID": standin.client_id,
        "GOOGLE_CLIENT_SECRET": standin.client_secret,
        "TOKEN_ENCRYPTION_KEYS": TEST_KEY,
    }
