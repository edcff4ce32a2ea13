"""Library signals -> our services. Our own logic never uses signals."""

from allauth.account.signals import user_signed_up
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts import services
from billing.services import subscription_start_trial


@receiver(user_signed_up)
def _start_trial(sender, request, user, **kwargs):
    subscription_start_trial(user=user)


@receiver(user_logged_in)
def _count_login(sender, request, user, **kwargs):
    services.user_record_login(user=user)
