"""How a Drive poll behaves when Google misbehaves: expired tokens, a
revoked grant, rate limits, 5xx answers, and files that vanish."""

import pytest
from django.core import mail
from django.utils import timezone

from drive import services
from drive.models import PollRecord, SourceConnection, SourceFile
from tests.drive.conftest import connect_drive, poll
from tests.factories import UserFactory
from tests.generations.conftest import png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_expired_access_token_is_refreshed_silently_and_stored_encrypted(drive_standin):
    connection, folder_id = connect_drive(UserFactory(), drive_standin)
    old_token = connection.access_token
    drive_standin.expire_access_tokens()  # Drive now answers 401 to the old token

    record = poll(connection)

    assert record.status == "ok"
    assert drive_standin.refreshes == 1
    assert connection.access_token != old_token
    assert connection.access_token in drive_standin.access_tokens
    assert connection.access_token not in connection.access_token_encrypted
    assert poll(connection).status == "ok"
    assert drive_standin.refreshes == 1  # the stored token is used from then on


def test_a_revoked_grant_is_marked_revoked_stops_polling_and_tells_the_user(drive_standin):
    user = UserFactory(email="dana@example.com")
    connection, _ = connect_drive(user, drive_standin)
    drive_standin.revoke_grants()

    record = poll(connection)

    assert record.status == "revoked"
    assert "Reconnect Google Drive" in record.error
    assert connection.state == SourceConnection.State.REVOKED
    assert connection.refresh_token_encrypted == "" and connection.access_token_encrypted == ""
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dana@example.com"]
    assert "Reconnect" in mail.outbox[0].subject
    SourceConnection.objects.update(next_poll_at=timezone.now())
    assert services.polls_enqueue_due() == 0
    assert services.connection_claim(connection_id=connection.id) is None


@pytest.mark.parametrize("status", [403, 429])
def test_rate_limits_back_off_exponentially_honouring_retry_after(drive_standin, status):
    connection, _ = connect_drive(UserFactory(), drive_standin)
    drive_standin.fail_next(1, status, retry_after=120)

    before = timezone.now()
    record = poll(connection)

    assert record.status == "rate_limited"
    assert connection.consecutive_failures == 1
    assert (connection.next_poll_at - before).total_seconds() >= 120

    delays = []
    for _ in range(4):
        drive_standin.fail_next(1, status)
        start = timezone.now()
        poll(connection)
        delays.append((connection.next_poll_at - start).total_seconds())
    assert connection.consecutive_failures == 5
    # Full jitter within [ceiling/2, ceiling], the ceiling doubling each time.
    for n, delay in zip(range(2, 6), delays, strict=True):
        assert 30 * 2**n / 2 - 1 <= delay <= 30 * 2**n + 1

    assert poll(connection).status == "ok"
    assert connection.consecutive_failures == 0


def test_a_5xx_answer_is_retried_and_a_persistent_one_backs_off(drive_standin):
    connection, _ = connect_drive(UserFactory(), drive_standin)
    drive_standin.fail_next(2, 500)
    assert poll(connection).status == "ok"  # retried within the poll

    drive_standin.fail_next(10, 500)
    record = poll(connection)
    assert record.status == "error"
    assert "500" in record.error
    assert connection.consecutive_failures == 1
    assert connection.next_poll_at > timezone.now()


def test_a_file_deleted_before_download_is_recorded_failed_without_a_job(
    drive_standin, presets, settings
):
    settings.DRIVE_POLL_BATCH_SIZE = 1
    connection, folder_id = connect_drive(UserFactory(), drive_standin)
    drive_standin.add_file("first.png", png_bytes((32, 32)), folder_id)
    second = drive_standin.add_file("second.png", png_bytes((32, 32)), folder_id)
    poll(connection)  # both recorded, one queued: the batch is one
    drive_standin.delete_file(second)

    poll(connection)

    row = SourceFile.objects.get(file_id=second)
    assert row.status == "failed"
    assert row.reason_code == "file_gone"
    assert "deleted or moved before Creator could download it" in row.message
    assert row.generation is None
    assert SourceFile.objects.get(name="first.png").generation is not None
    assert PollRecord.objects.filter(connection=connection).count() == 2


def test_an_expired_page_token_restarts_the_feed_and_reconciles_the_gap(drive_standin, presets):
    connection, folder_id = connect_drive(UserFactory(), drive_standin)
    drive_standin.add_file("while-away.png", png_bytes((16, 16)), folder_id)
    SourceConnection.objects.filter(id=connection.id).update(cursor="999999")
    connection.refresh_from_db()

    assert poll(connection).status == "ok"
    assert connection.last_reconciled_at is None
    record = poll(connection)  # the reconciliation pass lists the folder

    assert record.reconcile
    assert list(SourceFile.objects.values_list("name", flat=True)) == ["while-away.png"]
