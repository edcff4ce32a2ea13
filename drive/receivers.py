"""allauth signals -> drive services: keep the Drive grant of a connect flow.

Only a flow started from our "Connect Google Drive" button (which marks the
session) is taken: signing in with Google does not connect Drive.
"""

from allauth.socialaccount.signals import social_account_added, social_account_updated
from django.contrib import messages
from django.dispatch import receiver

from drive import services

SESSION_FLAG = "drive_connect_pending"


def _take_grant(request, sociallogin) -> None:
    if request is None or sociallogin.account.provider != "google":
        return
    if not request.session.pop(SESSION_FLAG, False):
        return
    token = sociallogin.token
    user = sociallogin.user if sociallogin.user and sociallogin.user.pk else request.user
    if token is None or not token.token or not user.is_authenticated:
        messages.error(request, "Google did not send an access token. Please try again.")
        return
    try:
        services.drive_connect(
            user=user,
            access_token=token.token,
            refresh_token=token.token_secret or "",
            expires_at=token.expires_at,
            account_email=(sociallogin.account.extra_data or {}).get("email", ""),
        )
    except services.ConnectError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Google Drive is connected. Now choose the folder to watch.")


@receiver(social_account_added)
def _drive_account_added(sender, request, sociallogin, **kwargs):
    _take_grant(request, sociallogin)


@receiver(social_account_updated)
def _drive_account_updated(sender, request, sociallogin, **kwargs):
    _take_grant(request, sociallogin)
