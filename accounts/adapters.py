"""allauth hooks: where people land after login, and profile data from Google."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.urls import reverse


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
        # Unfinished onboarding wins over ?next=, so a new user always sees it.
        if not request.user.onboarding_completed:
            return reverse("onboarding")
        return super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request):
        return reverse("onboarding")


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        extra = sociallogin.account.extra_data or {}
        user.full_name = (extra.get("name") or "")[:150]
        user.avatar_url = (extra.get("picture") or "")[:500]
        return user
