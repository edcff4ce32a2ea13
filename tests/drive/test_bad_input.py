"""Files and folders Creator must refuse or handle with care."""

import pytest

from billing.models import Plan
from billing.services import credits_grant, subscription_start_trial
from drive import services
from drive.models import SourceConnection, SourceFile
from generations.models import Generation
from tests.drive.conftest import connect_drive, poll
from tests.factories import UserFactory
from tests.generations.conftest import png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_folder_the_user_does_not_own_is_refused(drive_standin):
    connection, _ = connect_drive(UserFactory(), drive_standin)
    theirs = drive_standin.add_folder("Mallory's", account="mallory@example.com")

    with pytest.raises(services.ConnectError, match="does not exist in your Google Drive"):
        services.connection_choose_folder(connection=connection, folder_id=theirs)
    with pytest.raises(services.ConnectError):
        services.connection_choose_folder(connection=connection, folder_id="../../etc")
    assert drive_standin.children(theirs) == []  # no output folder made there


def test_a_file_that_is_not_a_folder_cannot_be_watched(drive_standin):
    connection, folder_id = connect_drive(UserFactory(), drive_standin)
    a_file = drive_standin.add_file("photo.png", png_bytes((8, 8)), folder_id)
    with pytest.raises(services.ConnectError):
        services.connection_choose_folder(connection=connection, folder_id=a_file)


def test_a_non_image_with_an_image_name_is_skipped_with_a_reason(drive_standin, presets):
    connection, folder_id = connect_drive(UserFactory(), drive_standin)
    drive_standin.add_file("invoice.jpg", b"%PDF-1.7 not a photo", folder_id)
    drive_standin.add_file("notes.txt", b"hello", folder_id)

    poll(connection)

    rows = {r.name: r for r in SourceFile.objects.all()}
    assert rows["invoice.jpg"].status == "skipped"
    assert rows["invoice.jpg"].reason_code == "unsupported_type"
    assert "PDF" in rows["invoice.jpg"].message
    assert rows["notes.txt"].status == "skipped"
    assert not Generation.objects.exists()


def test_a_200_mb_file_is_skipped_without_downloading_it(drive_standin, presets):
    connection, folder_id = connect_drive(UserFactory(), drive_standin)
    drive_standin.add_file("huge.png", parent=folder_id, declared_size=200 * 1024 * 1024)

    poll(connection)

    row = SourceFile.objects.get()
    assert row.status == "skipped"
    assert row.reason_code == "file_too_large"
    assert "200 MB" in row.message
    assert not [p for m, p in drive_standin.requests if m == "GET" and "alt=media" in p]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a/b\\c.png", "a_b_c_portrait_pro.png"),
        ("Ünïcødé 写真.png", "Ünïcødé 写真_portrait_pro.png"),
        ("bell\x07\x1b[31m.png", "bell__[31m_portrait_pro.png"),
        ("../../etc/passwd.png", "_.._etc_passwd_portrait_pro.png"),
    ],
)
def test_odd_names_become_safe_output_names(name, expected):
    assert services.output_name(original=name, preset="portrait_pro", extension="png") == expected


def test_odd_names_are_recorded_and_queued(drive_standin, presets):
    connection, folder_id = connect_drive(UserFactory(), drive_standin)
    for name in ["a/b.png", "写真 📷.png", "tab\there.png"]:
        drive_standin.add_file(name, png_bytes((16, 16)), folder_id)

    poll(connection)

    assert sorted(SourceFile.objects.values_list("name", "status")) == sorted(
        [("a/b.png", "queued"), ("写真 📷.png", "queued"), ("tab\there.png", "queued")]
    )


def test_a_thousand_files_at_once_are_all_recorded_in_order_and_jobs_come_in_bounded_batches(
    drive_standin, presets, settings
):
    # Every tenth file is an image (a job); the rest are text files, recorded
    # as skipped without a download, so the test stays fast.
    settings.DRIVE_POLL_BATCH_SIZE = 20
    user = UserFactory()
    subscription_start_trial(user=user)  # CREATOR: 100 images, 100 jobs an hour
    connection, folder_id = connect_drive(user, drive_standin)
    image = png_bytes((8, 8))
    ids = [
        drive_standin.add_file(f"img{n:04d}.png", image, folder_id)
        if n % 10 == 0
        else drive_standin.add_file(f"note{n:04d}.txt", b"text", folder_id)
        for n in range(1000)
    ]

    polls, jobs = 0, 0
    while polls < 40:
        record = poll(connection)
        polls += 1
        now = Generation.objects.count()
        assert now - jobs <= 20  # never more jobs in one poll than the batch
        jobs = now
        if record.files_found == 0 and not connection.has_pending:
            break

    rows = list(SourceFile.objects.order_by("id").values_list("file_id", "status"))
    assert [file_id for file_id, _ in rows] == ids
    assert [status for _, status in rows].count("queued") == 100
    assert [status for _, status in rows].count("skipped") == 900
    job_files = list(
        Generation.objects.order_by("created_at").values_list("source_ref__file_id", flat=True)
    )
    assert job_files == ids[::10]
    assert polls <= 12


def test_files_beyond_the_quota_wait_in_order_and_none_are_lost(drive_standin, presets, settings):
    # A FREE account takes 10 images a month and 10 jobs an hour; 15 arrive.
    connection, folder_id = connect_drive(UserFactory(), drive_standin)
    image = png_bytes((8, 8))
    ids = [drive_standin.add_file(f"img{n:02d}.png", image, folder_id) for n in range(15)]
    for _ in range(3):
        poll(connection)

    rows = list(SourceFile.objects.order_by("id").values_list("file_id", "status", "reason_code"))
    assert [file_id for file_id, _, _ in rows] == ids
    assert [status for _, status, _ in rows] == ["queued"] * 10 + ["detected"] * 5
    assert rows[10][2] == "rate_limited"  # the reason is shown on the Drive page
    assert not SourceFile.objects.filter(status="failed").exists()

    # An hour later (here: the hourly limit lifted) the allowance is still used up.
    Plan.objects.filter(tier="free").update(jobs_per_hour=0)
    poll(connection)
    assert Generation.objects.count() == 10
    assert SourceFile.objects.get(file_id=ids[10]).reason_code == "quota_exceeded"

    # Credits bought: the waiting files go through, in their order.
    credits_grant(
        user=connection.user, amount=5, kind="bonus", idempotency_key="t", description="t"
    )
    poll(connection)
    queued = Generation.objects.order_by("created_at").values_list("source_ref__file_id", flat=True)
    assert list(queued) == ids


def test_the_drive_page_says_how_many_files_wait_for_the_quota(
    client, drive_standin, presets, settings
):
    connection, folder_id = connect_drive(UserFactory(), drive_standin)
    for n in range(12):
        drive_standin.add_file(f"img{n:02d}.png", png_bytes((8, 8)), folder_id)
    for _ in range(2):
        poll(connection)
    statuses = list(SourceFile.objects.order_by("id").values_list("status", "reason_code"))
    assert statuses == [("queued", "")] * 10 + [("detected", "rate_limited"), ("detected", "")]
    client.force_login(connection.user)
    page = client.get("/drive/").content.decode()
    assert "2 files waiting." in page
    assert "jobs an hour" in page  # the hourly-limit sentence from billing


def test_a_preset_that_does_not_exist_cannot_be_chosen(drive_standin, presets):
    connection, _ = connect_drive(UserFactory(), drive_standin)

    with pytest.raises(services.ConnectError, match="That preset does not exist"):
        services.connection_set_preset(connection=connection, preset_slug="no-such-preset")

    connection.refresh_from_db()
    assert connection.preset_slug == ""


def test_a_file_whose_preset_was_deleted_fails_with_a_reason_and_no_job(drive_standin, presets):
    connection, folder_id = connect_drive(UserFactory(), drive_standin)
    SourceConnection.objects.filter(id=connection.id).update(preset_slug="deleted-preset")
    drive_standin.add_file("photo.png", png_bytes((8, 8)), folder_id)

    record = poll(connection)

    row = SourceFile.objects.get()
    assert record.status == "ok"
    assert (row.status, row.reason_code) == ("failed", "no_preset")
    assert "“deleted-preset” no longer exists" in row.message
    assert not Generation.objects.exists()
