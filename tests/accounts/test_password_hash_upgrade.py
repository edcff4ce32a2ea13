"""Imported bcrypt hashes still log in and are upgraded to Argon2 (SPEC §3)."""

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client

from tests.accounts.conftest import log_in
from tests.factories import TEST_PASSWORD, UserFactory


@pytest.mark.django_db
@pytest.mark.parametrize("hasher", ["bcrypt_sha256", "bcrypt"])
def test_it_accepts_a_bcrypt_hash_and_upgrades_it_to_argon2_on_login(hasher):
    user = UserFactory(email="imported@example.com")
    user.password = make_password(TEST_PASSWORD, hasher=hasher)
    user.save(update_fields=["password"])
    assert user.password.startswith(hasher + "$")

    response = log_in(Client(), user.email, TEST_PASSWORD)

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(TEST_PASSWORD)


@pytest.mark.django_db
def test_new_passwords_are_hashed_with_argon2id():
    user = UserFactory()

    assert user.password.startswith("argon2$argon2id$")
