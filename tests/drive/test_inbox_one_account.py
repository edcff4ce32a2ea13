"""The local inbox is one account's folder: other accounts that pick "Use
the local inbox" get a folder of their own, and no file, job or charge
crosses between them."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from billing.models import Reservation
from drive import services
from drive.models import SourceConnection, SourceFile
from generations.models import Generation
from tests.drive.conftest import poll
from tests.factories import UserFactory
from tests.generations.conftest import png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def inbox_dir(settings, tmp_path):
    settings.INBOX_ENABLED = True
    settings.INBOX_DIR = tmp_path / "inbox"
    settings.INBOX_STABLE_SECONDS = 0
    return (tmp_path / "inbox").resolve()


def pick_local_inbox(client, user) -> SourceConnection:
    """What a person does in onboarding: press "Use the local inbox"."""
    client.force_login(user)
    response = client.post(reverse("drive:inbox_connect"), {"next": reverse("dashboard")})
    assert response.status_code == 302
    return SourceConnection.objects.get(user=user, kind=SourceConnection.Kind.INBOX)


def poll_all_until(connections, done, attempts=50):
    for _ in range(attempts):
        for connection in connections:
            poll(connection)
        if done():
            return
    raise AssertionError("the dropped files were never taken")


def page(client, user, name: str) -> str:
    client.force_login(user)
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()


def test_a_drop_in_one_accounts_inbox_never_reaches_another_account(client, inbox_dir, presets):
    alice = UserFactory(email="alice@example.com")
    bob = UserFactory(email="bob@example.com")
    charlie = UserFactory(email="charlie@example.com")
    connections = {u.email: pick_local_inbox(client, u) for u in (alice, bob, charlie)}

    # Alice claimed the inbox first: it is hers.
    assert Path(connections["alice@example.com"].inbox_path) == inbox_dir

    (inbox_dir / "alices-holiday.png").write_bytes(png_bytes((64, 64)))
    bob_dir = Path(connections["bob@example.com"].inbox_path)
    (bob_dir / "bobs-cat.png").write_bytes(png_bytes((64, 64), color=(1, 2, 3)))
    poll_all_until(connections.values(), lambda: SourceFile.objects.count() >= 2)
    for _ in range(3):  # later polls change nothing
        for connection in connections.values():
            poll(connection)

    taken = {(f.connection.user.email, f.name) for f in SourceFile.objects.all()}
    assert taken == {
        ("alice@example.com", "alices-holiday.png"),
        ("bob@example.com", "bobs-cat.png"),
    }
    jobs = {(g.user.email, g.source_ref["name"]) for g in Generation.objects.all()}
    assert jobs == taken
    charged = sorted(Reservation.objects.values_list("user__email", flat=True))
    assert charged == ["alice@example.com", "bob@example.com"]

    # What each account sees: its own photo on the Drive page, its own job on
    # the dashboard, and nothing of the other's.
    job = {g.user_id: f'id="job-{g.id}"' for g in Generation.objects.all()}
    for user, other in [(alice, bob), (bob, alice), (charlie, None)]:
        drive_page, dashboard = page(client, user, "drive:home"), page(client, user, "dashboard")
        for photo, owner in [("alices-holiday.png", alice), ("bobs-cat.png", bob)]:
            assert (photo in drive_page) == (owner == user)
        assert (job.get(user.id, "no job") in dashboard) == (user != charlie)
        if other is not None:
            assert job[other.id] not in dashboard
    # Bob and Charlie each got a folder of their own inside the inbox.
    paths = {Path(c.inbox_path) for c in connections.values()}
    assert len(paths) == 3
    assert all(p.parent == inbox_dir for p in paths - {inbox_dir})
    assert all(p.is_dir() and (p / "processed").is_dir() for p in paths)


def test_the_demo_user_owns_the_inbox_and_newcomers_are_told_where_theirs_is(
    client, inbox_dir, settings
):
    settings.DEBUG = True  # the demo user exists only in development
    call_command("ensure_demo_user", stdout=open("/dev/null", "w"))  # noqa: SIM115
    demo = SourceConnection.objects.get(user__email="demo@creator.local")
    assert Path(demo.inbox_path) == inbox_dir

    alice = UserFactory(email="alice@example.com")
    client.force_login(alice)
    response = client.post(reverse("drive:inbox_connect"), follow=True)

    own = inbox_dir / "alice-example-com"
    assert Path(SourceConnection.objects.get(user=alice).inbox_path) == own
    text = response.content.decode()
    assert str(own) in text and "another account" in text
    # Connecting again, or running ensure_demo_user again, changes nothing.
    client.post(reverse("drive:inbox_connect"))
    call_command("ensure_demo_user", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert {Path(c.inbox_path) for c in SourceConnection.objects.all()} == {inbox_dir, own}


def test_a_folder_another_account_watches_cannot_be_taken_by_name(inbox_dir):
    alice, bob = UserFactory(), UserFactory()
    services.inbox_connect(user=alice, path=inbox_dir / "studio")

    with pytest.raises(services.ConnectError, match="another account"):
        services.inbox_connect(user=bob, path=inbox_dir / "studio")
    assert not SourceConnection.objects.filter(user=bob).exists()
