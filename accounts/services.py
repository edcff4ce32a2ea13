"""Services that change accounts and API keys (HackSoft style: keyword-only)."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone

from accounts.models import ApiKey, User


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
    except (ApiKey.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such API key.") from exc
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
    api_key = (
        ApiKey.objects.select_related("user").filter(key_hash=ApiKey.hash_key(full_key)).first()
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
    User.objects.filter(id=user.id).update(onboarding_completed=True)
    user.onboarding_completed = True
