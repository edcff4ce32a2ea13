"""Celery tasks for notifications: thin wrappers that take ids.

Imported by generations.tasks so the worker registers them (Celery only
autodiscovers `<app>.tasks`).
"""

import smtplib

from celery import shared_task

from generations import notifications, webhooks


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=5,
)
def notification_email_send(generation_id: str) -> None:
    notifications.notification_email_send(generation_id=generation_id)


@shared_task
def webhook_deliver(delivery_id: int) -> None:
    # Retries are rows, not Celery retries: each attempt is logged, and the
    # beat sweeper can recover an attempt whose message was lost.
    webhooks.webhook_attempt(delivery_id=delivery_id)


@shared_task
def webhooks_send_due() -> int:
    return webhooks.webhooks_send_due()
