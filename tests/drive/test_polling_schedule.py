"""Beat enqueues due polls; one poll per connection at a time; idle
connections are polled less often and cost one read, one insert and one
call."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from drive import services
from drive.models import PollRecord, SourceConnection
from tests.drive.conftest import connect_drive, poll
from tests.factories import UserFactory
from tests.generations.conftest import png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def test_due_connections_are_claimed_once(drive_standin, inbox_user_connection):
    drive, _ = connect_drive(UserFactory(), drive_standin)
    SourceConnection.objects.update(next_poll_at=timezone.now() - timedelta(seconds=1))

    assert services.polls_enqueue_due() == 2
    assert services.polls_enqueue_due() == 0  # claimed: not enqueued again
    assert services.connection_claim(connection_id=drive.id) is None


def test_a_poll_without_the_claim_does_nothing(drive_standin):
    connection, _ = connect_drive(UserFactory(), drive_standin)
    claim = services.connection_claim(connection_id=connection.id)

    assert services.connection_poll(connection_id=connection.id, claim="0" * 32) is None
    assert services.connection_poll(connection_id=connection.id, claim=claim) is not None
    assert services.connection_poll(connection_id=connection.id, claim=claim) is None  # released
    assert PollRecord.objects.count() == 1


def test_a_dead_workers_claim_expires(drive_standin):
    connection, _ = connect_drive(UserFactory(), drive_standin)
    services.connection_claim(connection_id=connection.id)
    SourceConnection.objects.update(
        poll_claimed_until=timezone.now() - timedelta(seconds=1),
        next_poll_at=timezone.now() - timedelta(seconds=1),
    )
    assert services.polls_enqueue_due() == 1


def _statements(run) -> list[str]:
    with CaptureQueriesContext(db) as queries:
        result = run()
    return result, [q["sql"] for q in queries.captured_queries]


def _is(statement: str, verb: str, table: str) -> bool:
    return statement.startswith(verb) and f'"{table}"' in statement.split(" WHERE ")[0]


def test_an_idle_poll_reads_once_records_itself_then_releases_its_claim_with_one_api_call(
    drive_standin,
):
    connection, _ = connect_drive(UserFactory(), drive_standin)
    claim = services.connection_claim(connection_id=connection.id)
    calls = drive_standin.api_calls()

    record, statements = _statements(
        lambda: services.connection_poll(connection_id=connection.id, claim=claim)
    )

    assert record.files_found == 0 and record.api_calls == 1
    assert drive_standin.api_calls() - calls == 1
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len(reads) == 1 and _is(reads[0], "SELECT", "drive_sourceconnection"), statements
    inserts = [i for i, s in enumerate(statements) if _is(s, "INSERT", "drive_pollrecord")]
    updates = [i for i, s in enumerate(statements) if _is(s, "UPDATE", "drive_sourceconnection")]
    # The record is written before the claim is given up, by an update fenced by it.
    assert len(inserts) == 1 and len(updates) == 1 and inserts[0] < updates[0]
    assert '"poll_claim" = ' in statements[updates[0]].split(" WHERE ")[1]


def test_a_chunk_of_idle_polls_shares_one_read_and_one_insert(drive_standin):
    ids = [connect_drive(UserFactory(), drive_standin)[0].id for _ in range(20)]
    claim = uuid.uuid4()
    SourceConnection.objects.update(
        poll_claim=claim, poll_claimed_until=timezone.now() + timedelta(minutes=5)
    )

    records, statements = _statements(
        lambda: services.connections_poll(connection_ids=ids, claim=claim)
    )

    assert len(records) == 20 and {r.status for r in records} == {"ok"}
    assert not SourceConnection.objects.filter(poll_claim__isnull=False).exists()
    # No read per connection, and one INSERT for all twenty records, before
    # any claim is released.
    assert [s for s in statements if s.startswith("SELECT")] == statements[:1]
    inserts = [i for i, s in enumerate(statements) if _is(s, "INSERT", "drive_pollrecord")]
    updates = [i for i, s in enumerate(statements) if _is(s, "UPDATE", "drive_sourceconnection")]
    assert len(inserts) == 1 and updates and inserts[0] < min(updates)


def test_choosing_another_folder_fences_off_a_running_poll(drive_standin):
    connection, _ = connect_drive(UserFactory(), drive_standin)
    claim = services.connection_claim(connection_id=connection.id)
    other = drive_standin.add_folder("Other")
    connection = services.connection_choose_folder(connection=connection, folder_id=other)
    cursor = connection.cursor

    services.connection_poll(connection_id=connection.id, claim=claim)

    connection.refresh_from_db()
    assert connection.folder_name == "Other" and connection.cursor == cursor


def test_idle_connections_slow_down_and_activity_speeds_them_up(drive_standin, presets, settings):
    settings.DRIVE_POLL_SECONDS = 30
    settings.DRIVE_POLL_FAST_SECONDS = 5
    connection, folder_id = connect_drive(UserFactory(), drive_standin)

    def delay():
        return (connection.next_poll_at - connection.last_poll_at).total_seconds()

    poll(connection)
    # Counted from the claim, half a beat tick early (see test_poll_phase).
    assert 27 <= delay() <= 30
    for _ in range(40):
        poll(connection)
    assert delay() >= 100  # idle for a while: polled less often

    drive_standin.add_file("new.png", png_bytes((16, 16)), folder_id)
    poll(connection)
    assert delay() <= 6
    assert connection.idle_polls == 0


def test_every_poll_is_recorded(drive_standin):
    connection, _ = connect_drive(UserFactory(), drive_standin)
    for _ in range(3):
        poll(connection)
    drive_standin.fail_next(1, 429)
    poll(connection)
    statuses = list(PollRecord.objects.order_by("started_at").values_list("status", flat=True))
    assert statuses == ["ok", "ok", "ok", "rate_limited"]


@pytest.fixture
def inbox_user_connection(tmp_path):
    return services.inbox_connect(user=UserFactory(), path=tmp_path / "inbox")


def test_old_poll_records_are_pruned_hourly(inbox_user_connection, settings):
    settings.DRIVE_POLL_RECORD_DAYS = 14
    connection = inbox_user_connection
    old = timezone.now() - timedelta(days=15)
    PollRecord.objects.create(connection=connection, started_at=old, finished_at=old, status="ok")

    poll(connection)

    assert list(PollRecord.objects.values_list("started_at", flat=True)) != [old]
    assert PollRecord.objects.count() == 1
    assert connection.last_reconciled_at is not None
