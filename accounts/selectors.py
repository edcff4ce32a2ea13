"""Selectors that read accounts and API keys.

A user's stored files are generations' (generations.files.user_file_names)."""

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
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
