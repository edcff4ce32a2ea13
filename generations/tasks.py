"""Celery tasks: thin wrappers that take ids and call one service.

Three were once in notification_tasks.py and keep their names from there:
beat's schedule rows (migration 0003) and messages already queued use them.
"""

import smtplib

from celery import shared_task

from generations import notifications, pipeline, retention, servers, webhooks


@shared_task(acks_late=True, reject_on_worker_lost=True, bind=True)
def generation_run(self, generation_id: str) -> None:
    pipeline.generation_execute(generation_id=generation_id, worker_id=self.request.hostname or "")


@shared_task
def generations_reap_stale() -> int:
    return pipeline.generations_reap_stale()


@shared_task
def servers_check_health() -> dict:
    return servers.servers_check_health()


@shared_task
def retention_run() -> dict:
    return retention.retention_run()


@shared_task(
    name="generations.notification_tasks.notification_email_send",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=5,
)
def notification_email_send(generation_id: str) -> None:
    notifications.notification_email_send(generation_id=generation_id)


@shared_task(name="generations.notification_tasks.webhook_deliver")
def webhook_deliver(delivery_id: int) -> None:
    # Retries are rows, not Celery retries: each attempt is logged, and the
    # beat sweeper can recover an attempt whose message was lost.
    webhooks.webhook_attempt(delivery_id=delivery_id)


@shared_task(name="generations.notification_tasks.webhooks_send_due")
def webhooks_send_due() -> int:
    return webhooks.webhooks_send_due()
