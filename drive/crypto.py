"""Encryption of OAuth tokens at rest (Fernet, several keys for rotation).

TOKEN_ENCRYPTION_KEYS is a comma-separated list of Fernet keys, newest
first: new values are encrypted with the first key, and any key of the list
decrypts. Rotating is "prepend a new key, run `manage.py drive_reencrypt`,
then drop the old key".
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["InvalidToken", "token_decrypt", "token_encrypt", "token_rotate"]


def _keys() -> list[str]:
    # settings.py derives a development key when DEBUG is on and none is set.
    keys = [k.strip() for k in settings.TOKEN_ENCRYPTION_KEYS.split(",") if k.strip()]
    if not keys:
        raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS must be set when DEBUG is off.")
    return keys


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in _keys()])


def token_encrypt(value: str) -> str:
    """Encrypt with the newest key. The empty string stays empty (no token)."""
    if not value:
        return ""
    return _fernet().encrypt(value.encode()).decode()


def token_decrypt(value: str) -> str:
    """Decrypt with any configured key. Raises InvalidToken if none fits."""
    if not value:
        return ""
    return _fernet().decrypt(value.encode()).decode()


def token_rotate(value: str) -> str:
    """Re-encrypt a stored value with the newest key (same plaintext)."""
    if not value:
        return ""
    return _fernet().rotate(value.encode()).decode()
