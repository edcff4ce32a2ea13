"""A poll period of N s means N s: a connection polled at a beat tick is due
again at the tick N s later, not the one after it (which made 3 s into 6 s)."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from drive import services
from drive.models import SourceConnection
from tests.drive.conftest import connect_drive
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def tick_and_poll(connection: SourceConnection):
    """One beat tick that finds the connection due, then the poll it
    enqueued (run here). Returns the tick's time."""
    SourceConnection.objects.filter(id=connection.id).update(
        next_poll_at=timezone.now() - timedelta(seconds=1)
    )
    assert services.polls_enqueue_due() == 1
    claimed = SourceConnection.objects.get(id=connection.id)
    lease = timedelta(seconds=django_settings.DRIVE_POLL_LEASE_SECONDS)
    tick = claimed.poll_claimed_until - lease
    services.connections_poll(connection_ids=[connection.id], claim=claimed.poll_claim)
    connection.refresh_from_db()
    return tick


@pytest.mark.parametrize("period", [3, 6])
def test_an_inbox_polled_at_a_tick_is_due_at_the_tick_one_period_later(tmp_path, settings, period):
    settings.DRIVE_POLL_TICK_SECONDS = 3
    settings.INBOX_POLL_SECONDS = period
    connection = services.inbox_connect(user=UserFactory(), path=tmp_path / "inbox")

    tick = tick_and_poll(connection)

    # Due by the tick `period` s later, even if that tick runs a little
    # sooner after its schedule than this one did …
    assert connection.next_poll_at <= tick + timedelta(seconds=period - 1)
    # … and not by the tick before it.
    assert connection.next_poll_at > tick + timedelta(seconds=period - 3)
    assert connection.last_poll_at >= tick  # the poll itself took some time


def test_a_drive_folder_polled_at_a_tick_is_due_at_the_tick_one_period_later(
    drive_standin, settings
):
    settings.DRIVE_POLL_TICK_SECONDS = 3
    settings.DRIVE_POLL_SECONDS = 30
    connection, _ = connect_drive(UserFactory(), drive_standin)

    tick = tick_and_poll(connection)

    assert tick + timedelta(seconds=27) < connection.next_poll_at <= tick + timedelta(seconds=30)


def test_a_poll_the_watcher_asked_for_is_scheduled_from_its_claim(tmp_path, settings):
    settings.DRIVE_POLL_TICK_SECONDS = 3
    settings.INBOX_POLL_SECONDS = 3
    connection = services.inbox_connect(user=UserFactory(), path=tmp_path / "inbox")
    before = timezone.now()
    claim = services.connection_claim(connection_id=connection.id)

    services.connection_poll(connection_id=connection.id, claim=claim)

    connection.refresh_from_db()
    assert before + timedelta(seconds=1.5) <= connection.next_poll_at
    assert connection.next_poll_at <= connection.last_poll_at + timedelta(seconds=1.5)
