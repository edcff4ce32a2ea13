"""Deleting an account removes every row and file the user owns (SPEC §3, GDPR)."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from accounts import services
from accounts.models import ApiKey, User
from billing.models import Subscription
from billing.services import subscription_start_trial
from tests.factories import ApiKeyFactory

DELETE = "/settings/danger/delete/"


def store(name: str, content: bytes = b"image bytes") -> str:
    return default_storage.save(name, ContentFile(content))


@pytest.fixture
def alices_things(alice):
    subscription_start_trial(user=alice)
    ApiKeyFactory(user=alice)
    ApiKeyFactory(user=alice)
    EmailAddress.objects.create(user=alice, email="alice.alt@example.com", verified=False)
    return [
        store(f"uploads/{alice.id}/photo.png"),
        store(f"uploads/{alice.id}/2026/11/holiday.jpg"),
        store(f"outputs/{alice.id}/job-1/result.png"),
    ]


@pytest.fixture
def bobs_things(bob):
    subscription_start_trial(user=bob)
    ApiKeyFactory(user=bob)
    return [store(f"uploads/{bob.id}/mine.png"), store(f"outputs/{bob.id}/mine-out.png")]


@pytest.mark.django_db
def test_it_removes_the_users_rows_and_files(alice, alices_things, bob, bobs_things):
    alice_id = alice.id

    services.user_delete(user=alice)

    assert not User.objects.filter(id=alice_id).exists()
    assert not ApiKey.objects.filter(user_id=alice_id).exists()
    assert not EmailAddress.objects.filter(user_id=alice_id).exists()
    assert not Subscription.objects.filter(user_id=alice_id).exists()
    for name in alices_things:
        assert not default_storage.exists(name), name
    # No empty folders are left behind either.
    assert not default_storage.exists(f"uploads/{alice_id}")
    assert not default_storage.exists(f"outputs/{alice_id}")


@pytest.mark.django_db
def test_it_leaves_other_users_alone(alice, alices_things, bob, bobs_things):
    services.user_delete(user=alice)

    assert User.objects.filter(id=bob.id).exists()
    assert ApiKey.objects.filter(user=bob).count() == 1
    assert Subscription.objects.filter(user=bob).exists()
    assert EmailAddress.objects.filter(user=bob).exists()
    for name in bobs_things:
        assert default_storage.exists(name), name


@pytest.mark.django_db
def test_it_deletes_a_user_who_never_stored_a_file(charlie):
    services.user_delete(user=charlie)

    assert not User.objects.filter(email="charlie@example.com").exists()


@pytest.mark.django_db
def test_the_settings_page_deletes_the_account_logs_out_and_says_so(
    client, alice, alices_things, bob, bobs_things
):
    client.force_login(alice)

    response = client.post(DELETE, {"confirm_email": "Alice@Example.com"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert not User.objects.filter(email="alice@example.com").exists()
    assert "_auth_user_id" not in client.session
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Your account and all of its data have been deleted. Thank you for using Creator."
    ]
    assert not default_storage.exists(alices_things[0])
    assert default_storage.exists(bobs_things[0])


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["", "bob@example.com", "alice@example"])
def test_it_keeps_the_account_unless_the_email_is_typed(client, alice, alices_things, typed):
    client.force_login(alice)

    response = client.post(DELETE, {"confirm_email": typed})

    assert response.status_code == 400
    assert "confirm" in response.content.decode()
    assert User.objects.filter(id=alice.id, is_active=True).exists()
    assert all(default_storage.exists(name) for name in alices_things)


@pytest.mark.django_db
def test_it_deletes_only_on_post(client, alice):
    client.force_login(alice)

    assert client.get(DELETE).status_code == 405
    assert User.objects.filter(id=alice.id).exists()
