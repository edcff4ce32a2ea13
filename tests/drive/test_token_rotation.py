"""Encryption keys rotate: the newest encrypts, any listed key decrypts, and
`drive_reencrypt` moves stored tokens to the newest key."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command

from drive.crypto import token_decrypt, token_encrypt
from drive.models import SourceConnection
from tests.drive.conftest import connect_drive
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_old_key_still_decrypts_after_a_new_one_is_added(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = old
    stored = token_encrypt("secret-token")

    settings.TOKEN_ENCRYPTION_KEYS = f"{new},{old}"
    assert token_decrypt(stored) == "secret-token"

    settings.TOKEN_ENCRYPTION_KEYS = new
    with pytest.raises(InvalidToken):
        token_decrypt(stored)


def test_reencrypt_moves_every_token_to_the_newest_key(settings, drive_standin):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = old
    connection, _ = connect_drive(UserFactory(), drive_standin)
    refresh = connection.refresh_token
    before = connection.refresh_token_encrypted

    settings.TOKEN_ENCRYPTION_KEYS = f"{new},{old}"
    call_command("drive_reencrypt")

    settings.TOKEN_ENCRYPTION_KEYS = new  # the old key is gone now
    connection = SourceConnection.objects.get()
    assert connection.refresh_token_encrypted != before
    assert connection.refresh_token == refresh
    assert connection.access_token.startswith("ya29.")


def test_a_production_setup_without_keys_is_refused(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.TOKEN_ENCRYPTION_KEYS = ""
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured):
        token_encrypt("x")
