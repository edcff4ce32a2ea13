"""Billing emails: quota warnings and failed payments.

Sent after the transaction that decided them commits (callers use
transaction.on_commit), so a rolled-back spend never emails anyone. A mail
server error is logged, never raised: the money state is already right.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def _send(*, user_id, subject: str, template: str, context: dict) -> bool:
    user = get_user_model().objects.filter(id=user_id).first()
    if user is None or not user.email:
        return False
    body = render_to_string(
        template,
        {"user": user, "billing_url": settings.SITE_URL.rstrip("/") + "/billing/", **context},
    )
    try:
        send_mail(f"[Creator] {subject}", body, None, [user.email])
    except Exception:
        logger.exception("Billing email %r to user %s failed", subject, user_id)
        return False
    return True


def quota_warning_send(*, user_id, percent: int) -> bool:
    subject = (
        "You have used all images included this period"
        if percent >= 100
        else f"You have used {percent}% of this period's images"
    )
    return _send(
        user_id=user_id,
        subject=subject,
        template="billing/email/quota_warning.txt",
        context={"percent": percent},
    )


def payment_failed_send(*, user_id) -> bool:
    return _send(
        user_id=user_id,
        subject="Your payment failed — please update your card",
        template="billing/email/payment_failed.txt",
        context={},
    )
