"""Library signals -> our services. Our own logic never uses signals."""

from urllib.parse import urlparse

from allauth.account.signals import user_signed_up
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from accounts import services
from billing.services import subscription_start_trial


@receiver(user_signed_up)
def _start_trial(sender, request, user, **kwargs):
    subscription_start_trial(user=user)


@receiver(user_logged_in)
def _count_login(sender, request, user, **kwargs):
    services.user_record_login(user=user)


@receiver(post_migrate)
def _sync_site(sender, using="default", **kwargs):
    # allauth names the site in emails and links; keep it in step with
    # SITE_URL on every migrate (the release step), not "example.com".
    if sender.name != "accounts":
        return
    from django.contrib.sites.models import Site

    Site.objects.using(using).update_or_create(
        id=settings.SITE_ID,
        defaults={"domain": urlparse(settings.SITE_URL).netloc[:100], "name": "Creator"},
    )
