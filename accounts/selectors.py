"""Selectors that read accounts, API keys and a user's stored files."""

from collections.abc import Iterator

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db.models import QuerySet

from accounts.models import ApiKey, User


def api_key_list(*, user: User) -> QuerySet[ApiKey]:
    """The user's keys, newest first, revoked and expired ones included."""
    return ApiKey.objects.filter(user=user).order_by("-created_at")


def api_key_get(*, user: User, key_id) -> ApiKey | None:
    """One of the user's keys, or None (also for another user's key or a bad id)."""
    try:
        return ApiKey.objects.filter(user=user, id=key_id).first()
    except (ValidationError, ValueError, TypeError):
        return None


def api_key_public_fields(*, api_key: ApiKey) -> dict:
    """What a key may show about itself anywhere: never the hash or the secret."""
    return {
        "id": str(api_key.id),
        "name": api_key.name,
        "prefix": api_key.prefix,
        "scopes": list(api_key.scopes),
        "created_at": api_key.created_at,
        "last_used_at": api_key.last_used_at,
        "expires_at": api_key.expires_at,
        "revoked_at": api_key.revoked_at,
    }


def user_export_profile(*, user: User) -> dict:
    """The user's own fields for the data export.

    Leaves out the password hash and the webhook signing secret: a zip that is
    downloaded, mailed around and forgotten must not carry credentials.
    """
    return {
        "id": str(user.id),
        "email": user.email,
        "full_name": user.full_name,
        "avatar_url": user.avatar_url,
        "is_active": user.is_active,
        "onboarding_completed": user.onboarding_completed,
        "email_notifications": user.email_notifications,
        "default_preset": user.default_preset,
        "webhook_url": user.webhook_url,
        "login_count": user.login_count,
        "last_login": user.last_login,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "email_addresses": [
            {"email": a.email, "verified": a.verified, "primary": a.primary}
            for a in EmailAddress.objects.filter(user=user).order_by("email")
        ],
    }


def user_storage_prefixes(*, user: User) -> list[str]:
    """Where other apps keep the user's files in default_storage (no trailing slash)."""
    return [f"uploads/{user.id}", f"outputs/{user.id}"]


def user_stored_file_names(*, user: User) -> list[str]:
    """Every stored file under the user's prefixes, as storage names."""
    return [name for prefix in user_storage_prefixes(user=user) for name in _walk_files(prefix)]


def user_stored_dir_names(*, user: User) -> list[str]:
    """The folders under (and including) the user's prefixes, deepest first."""
    dirs: list[str] = []
    for prefix in user_storage_prefixes(user=user):
        dirs.extend(_walk_dirs(prefix))
        if _listdir(prefix) is not None:
            dirs.append(prefix)
    return sorted(dirs, key=lambda d: d.count("/"), reverse=True)


def _listdir(path: str) -> tuple[list[str], list[str]] | None:
    # Local-disk storage raises for a folder that was never created; object
    # stores answer with an empty listing. Both mean "nothing stored here".
    try:
        return default_storage.listdir(path)
    except FileNotFoundError:
        return None


def _walk_files(path: str) -> Iterator[str]:
    listing = _listdir(path)
    if listing is None:
        return
    dirs, files = listing
    for name in sorted(files):
        yield f"{path}/{name}"
    for name in sorted(dirs):
        yield from _walk_files(f"{path}/{name}")


def _walk_dirs(path: str) -> Iterator[str]:
    listing = _listdir(path)
    if listing is None:
        return
    for name in sorted(listing[0]):
        yield f"{path}/{name}"
        yield from _walk_dirs(f"{path}/{name}")
