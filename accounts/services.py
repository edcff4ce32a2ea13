"""Services that change accounts and API keys (HackSoft style: keyword-only)."""

import json
import logging
import secrets
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts import selectors
from accounts.models import ApiKey, User, new_webhook_secret
from creator_site.errors import NotFound
from generations.files import user_file_names, user_folder_names

logger = logging.getLogger(__name__)


class ApiKeyRejected(Exception):
    """The key is unknown, revoked, expired or its owner is inactive."""


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    full_key: str  # shown to the user once, never stored


def api_key_create(
    *, user: User, name: str, scopes: list[str], expires_at: datetime | None = None
) -> NewApiKey:
    """Create a key and return it with its full secret (the only time it exists)."""
    name = (name or "").strip()
    if not name:
        raise ValueError("Give the key a name so you can recognise it later.")
    if len(name) > 100:
        raise ValueError("Key names can be at most 100 characters.")
    unknown = sorted(set(scopes) - set(ApiKey.SCOPES))
    if unknown:
        raise ValueError(f"Unknown scope(s): {', '.join(unknown)}.")
    if not scopes:
        raise ValueError("Choose at least one scope.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("The expiry date must be in the future.")
    full_key = ApiKey.PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        user=user,
        name=name,
        prefix=full_key[: len(ApiKey.PREFIX) + 8],
        key_hash=ApiKey.hash_key(full_key),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    return NewApiKey(api_key=api_key, full_key=full_key)


def api_key_revoke(*, user: User, key_id) -> ApiKey:
    """Revoke one of the user's keys. Another user's key is a 404. Idempotent."""
    try:
        api_key = ApiKey.objects.get(id=key_id, user=user)
    except (ApiKey.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise NotFound("No such API key.") from exc
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_authenticate(*, full_key: str) -> ApiKey:
    """Find the usable key for a full secret, or raise ApiKeyRejected.

    Updates `last_used_at` at most once per API_KEY_LAST_USED_RESOLUTION so a
    busy key does not write on every request.
    """
    # Lookup by hash: equality on a SHA-256 of a random secret leaks nothing
    # useful through timing.
    # The owner's subscription in the same query: the rate limits and the
    # quota of this request read it (billing.services.subscription_loaded).
    api_key = (
        ApiKey.objects.select_related("user", "user__subscription")
        .filter(key_hash=ApiKey.hash_key(full_key))
        .first()
    )
    if api_key is None:
        raise ApiKeyRejected("Invalid API key.")
    if api_key.revoked_at is not None:
        raise ApiKeyRejected("This API key has been revoked.")
    if api_key.is_expired:
        raise ApiKeyRejected("This API key has expired.")
    if not api_key.user.is_active:
        raise ApiKeyRejected("This account is disabled.")
    now = timezone.now()
    stale_before = now - settings.API_KEY_LAST_USED_RESOLUTION
    if api_key.last_used_at is None or api_key.last_used_at < stale_before:
        ApiKey.objects.filter(id=api_key.id).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def user_record_login(*, user: User) -> None:
    User.objects.filter(id=user.id).update(login_count=F("login_count") + 1)


@transaction.atomic
def user_complete_onboarding(*, user: User) -> None:
    """Mark onboarding done, so login lands on the dashboard from now on. Idempotent."""
    User.objects.filter(id=user.id).update(onboarding_completed=True)
    user.onboarding_completed = True


def user_update_profile(*, user: User, full_name: str, avatar_url: str = "") -> User:
    """Change the name and avatar shown in the app.

    Raises ValidationError, and changes nothing (not even the `user` object
    passed in), when the name is empty or too long or the avatar is not a URL.
    """
    full_name = (full_name or "").strip()
    if not full_name:
        raise ValidationError({"full_name": "Enter your name so we know what to call you."})
    values = _clean_user_fields(
        user=user, values={"full_name": full_name, "avatar_url": avatar_url}
    )
    return _save_user_fields(user=user, values=values)


def user_update_notifications(*, user: User, email_notifications: bool, webhook_url: str) -> User:
    """Save how the user hears about finished jobs.

    Raises ValidationError, and changes nothing, when the webhook URL is invalid.
    """
    values = _clean_user_fields(
        user=user,
        values={"email_notifications": bool(email_notifications), "webhook_url": webhook_url},
    )
    return _save_user_fields(user=user, values=values)


def _clean_user_fields(*, user: User, values: dict) -> dict:
    # The model fields' own validators (max length, URL) are the single source
    # of truth for what a valid value is; forms only add friendlier messages.
    cleaned, errors = {}, {}
    for name, value in values.items():
        if isinstance(value, str):
            value = value.strip()
        try:
            cleaned[name] = User._meta.get_field(name).clean(value, user)
        except ValidationError as exc:
            errors[name] = exc.error_list
    if errors:
        raise ValidationError(errors)
    return cleaned


def _save_user_fields(*, user: User, values: dict) -> User:
    for name, value in values.items():
        setattr(user, name, value)
    user.save(update_fields=[*values, "updated_at"])
    return user


def user_rotate_webhook_secret(*, user: User) -> str:
    """Replace the webhook signing secret and return the new one.

    Deliveries signed from now on use the new secret; the old one stops
    verifying at once, so the user must update their receiver.
    """
    user.webhook_secret = new_webhook_secret()
    user.save(update_fields=["webhook_secret", "updated_at"])
    return user.webhook_secret


def user_export_write_zip(*, user: User, fileobj: IO[bytes]) -> None:
    """Write the user's data export (a zip) into `fileobj`.

    The zip holds `profile.json`, `api_keys.json` (metadata only: never a key
    hash or secret) and every stored file under the user's storage prefixes, at
    the same path it has in storage. Reads only; safe to call repeatedly.
    """
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("profile.json", _to_json(selectors.user_export_profile(user=user)))
        api_keys = [
            selectors.api_key_public_fields(api_key=k) for k in selectors.api_key_list(user=user)
        ]
        archive.writestr("api_keys.json", _to_json(api_keys))
        for name in user_file_names(user_id=user.id):
            # Copy in chunks: outputs can be large and must not sit in memory whole.
            with default_storage.open(name, "rb") as src, archive.open(name, "w") as dst:
                for chunk in src.chunks():
                    dst.write(chunk)


def _to_json(data) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, indent=2, sort_keys=True)


def user_delete(*, user: User) -> None:
    """Delete the account and everything it owns (GDPR erasure).

    Removes every stored file of the user (generations.files knows where
    they are), then the user row; database cascades remove the rest
    (API keys, email addresses, social accounts, subscription, jobs…). Not
    reversible. Safe to call again if it failed half-way: the files go first,
    so a retry finds the row and finishes the job.
    """
    user_id = user.id
    # Disable the account first so its API keys and sessions stop working and
    # no new job starts writing files while we delete them.
    User.objects.filter(id=user_id).update(is_active=False)
    _delete_stored_files(user=user)
    # One delete; the collector runs the cascades in a single transaction.
    User.objects.filter(id=user_id).delete()
    # A job that was already running may have written an output between the
    # first sweep and the row's deletion; sweep once more so nothing is left.
    _delete_stored_files(user=user)
    logger.info("user deleted", extra={"user_id": str(user_id)})


def _delete_stored_files(*, user: User) -> None:
    for name in user_file_names(user_id=user.id):
        default_storage.delete(name)
    # Local-disk storage keeps empty folders behind; removing them leaves no
    # trace of the user. On object stores folders do not exist and this is a no-op.
    for name in user_folder_names(user_id=user.id):
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not remove folder %s", name)
