"""Staff find people and keys in the admin; a key's hash never shows (SPEC §10)."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import ApiKey, User
from billing.models import Subscription, Tier
from billing.services import subscription_start_trial
from tests.factories import ApiKeyFactory

USERS = "/admin/accounts/user/"
KEYS = "/admin/accounts/apikey/"


@pytest.mark.django_db
def test_it_lists_and_searches_users_by_email_and_name(admin_client, alice, bob):
    page = admin_client.get(USERS).content.decode()
    assert "alice@example.com" in page and "bob@example.com" in page

    page = admin_client.get(USERS, {"q": "Teammate"}).content.decode()
    assert "bob@example.com" in page
    assert "alice@example.com" not in page


@pytest.mark.django_db
def test_it_filters_users_by_tier_and_subscription_status(admin_client, alice, bob):
    subscription_start_trial(user=alice)
    Subscription.objects.create(user=bob, tier=Tier.FREE)

    response = admin_client.get(USERS, {"subscription__tier": "creator"})
    assert response.status_code == 200
    assert [u.email for u in response.context["cl"].result_list] == ["alice@example.com"]

    response = admin_client.get(USERS, {"subscription__status": "active"})
    assert [u.email for u in response.context["cl"].result_list] == ["bob@example.com"]


@pytest.mark.django_db
def test_it_adds_a_user_by_email_with_a_trial(admin_client):
    response = admin_client.post(
        f"{USERS}add/",
        {
            "email": "New.Person@Example.com",
            "full_name": "New Person",
            "usable_password": "true",
            "password1": "a-long-unusual-passphrase-42",
            "password2": "a-long-unusual-passphrase-42",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new.person@example.com")
    assert user.check_password("a-long-unusual-passphrase-42")
    assert user.subscription.tier == Tier.CREATOR


@pytest.mark.django_db
def test_it_refuses_to_add_an_email_that_exists_in_another_case(admin_client, alice):
    response = admin_client.post(
        f"{USERS}add/",
        {"email": "ALICE@example.com", "usable_password": "false"},
    )

    assert response.status_code == 200
    assert "A user with this email address already exists." in response.content.decode()
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1


@pytest.mark.django_db
def test_it_shows_login_count_and_dates_read_only(admin_client, alice):
    page = admin_client.get(f"{USERS}{alice.pk}/change/").content.decode()

    assert 'name="login_count"' not in page
    assert 'name="created_at"' not in page
    assert 'name="email"' in page


@pytest.mark.django_db
def test_deleting_a_user_in_the_admin_removes_their_files(admin_client, alice):
    name = default_storage.save(f"outputs/{alice.id}/r.png", ContentFile(b"x"))

    response = admin_client.post(f"{USERS}{alice.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(id=alice.id).exists()
    assert not default_storage.exists(name)


@pytest.mark.django_db
def test_it_never_shows_a_key_hash(admin_client, alice):
    api_key = ApiKeyFactory(user=alice, name="Laptop")

    listing = admin_client.get(KEYS).content.decode()
    detail = admin_client.get(f"{KEYS}{api_key.pk}/change/").content.decode()

    assert api_key.prefix in listing and "Laptop" in listing
    for page in (listing, detail):
        assert api_key.key_hash not in page
        assert api_key.full_key not in page
    # The user's page lists keys inline, also without hashes.
    user_page = admin_client.get(f"{USERS}{alice.pk}/change/").content.decode()
    assert api_key.prefix in user_page
    assert api_key.key_hash not in user_page


@pytest.mark.django_db
def test_it_cannot_add_keys_in_the_admin(admin_client):
    assert admin_client.get(f"{KEYS}add/").status_code == 403


@pytest.mark.django_db
def test_it_revokes_selected_keys(admin_client, alice, bob):
    alices = ApiKeyFactory(user=alice)
    bobs = ApiKeyFactory(user=bob)
    already = ApiKeyFactory(user=bob, revoked_at=timezone.now() - timezone.timedelta(days=1))
    untouched = ApiKeyFactory(user=bob)

    response = admin_client.post(
        KEYS,
        {
            "action": "revoke_selected",
            "_selected_action": [str(alices.pk), str(bobs.pk), str(already.pk)],
        },
        follow=True,
    )

    assert "Revoked 2 keys." in response.content.decode()
    assert ApiKey.objects.get(pk=alices.pk).revoked_at is not None
    assert ApiKey.objects.get(pk=bobs.pk).revoked_at is not None
    assert ApiKey.objects.get(pk=already.pk).revoked_at == already.revoked_at
    assert ApiKey.objects.get(pk=untouched.pk).revoked_at is None


def change_form_data(user: User, **changes) -> dict:
    data = {
        "email": user.email,
        "full_name": user.full_name,
        "avatar_url": user.avatar_url,
        "default_preset": user.default_preset,
        "webhook_url": user.webhook_url,
        "is_active": "on",
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
        "api_keys-MIN_NUM_FORMS": "0",
        "api_keys-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


@pytest.mark.django_db
def test_it_changes_a_user_and_lower_cases_the_email(admin_client, alice):
    response = admin_client.post(
        f"{USERS}{alice.pk}/change/",
        change_form_data(alice, email="Alice.Liddell@Example.com", full_name="Alice Liddell"),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    alice.refresh_from_db()
    assert alice.email == "alice.liddell@example.com"
    assert alice.full_name == "Alice Liddell"
    assert alice.check_password("correct-horse-battery-staple")


@pytest.mark.django_db
def test_it_refuses_to_change_an_email_to_another_users_in_other_case(admin_client, alice, bob):
    response = admin_client.post(
        f"{USERS}{alice.pk}/change/", change_form_data(alice, email="BOB@example.com")
    )

    assert response.status_code == 200
    assert "A user with this email address already exists." in response.content.decode()
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"
