"""Telling users a job finished: an email (if they want one) and a webhook
(if a URL is set), each queued once per job."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html

from generations.models import Asset, Generation
from generations.states import generation_event_add
from generations.webhooks import webhook_delivery_create, webhook_enqueue, webhook_url_for

logger = logging.getLogger(__name__)
Status = Generation.Status

# Cancelling is something the user did: it gets a webhook, not an email.
EMAIL_STATUSES = frozenset({Status.COMPLETED, Status.FAILED})
NOTIFIED_EVENT = "notified"


def job_page_url(generation: Generation) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("generations:detail", args=[generation.id])


def generation_notify_finished(*, generation: Generation) -> bool:
    """Queue the email and the webhook for a job that reached a final status.

    Idempotent: the job's row lock serialises concurrent calls and a
    `notified` event on the job records that it was done, so calling it
    again (a retried task, two code paths) sends nothing more. Runs in its
    own transaction; the tasks are enqueued when it commits. Returns True
    when this call queued something.
    """
    with transaction.atomic():
        job = (
            Generation.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(id=generation.id)
            .first()
        )
        if job is None or not job.is_final:
            return False
        if job.events.filter(kind=NOTIFIED_EVENT).exists():
            return False
        wants_email = (
            job.status in EMAIL_STATUSES and job.user.email_notifications and bool(job.user.email)
        )
        url = webhook_url_for(job)
        delivery = webhook_delivery_create(generation=job, url=url) if url else None
        if not wants_email and delivery is None:
            return False
        channels = ["email"] * wants_email + ["webhook"] * (delivery is not None)
        generation_event_add(
            generation=job,
            kind=NOTIFIED_EVENT,
            message="Notified by " + " and ".join(channels) + ".",
            data={"status": job.status, "channels": channels},
        )
        if wants_email:
            from generations.tasks import notification_email_send

            job_id = str(job.id)
            transaction.on_commit(lambda: notification_email_send.delay(job_id))
        if delivery is not None:
            webhook_enqueue(delivery=delivery)
    return True


def notification_email_send(*, generation_id) -> bool:
    """Send the job's completion or failure email now. Returns False (and
    sends nothing) when the job is gone, not finished with a result, or
    the user turned emails off since it finished."""
    job = Generation.objects.select_related("user").filter(id=generation_id).first()
    if job is None or job.status not in EMAIL_STATUSES or not job.user.email_notifications:
        return False
    subject, text, html = _email_content(job)
    send_mail(
        subject,
        text,
        settings.DEFAULT_FROM_EMAIL,
        [job.user.email],
        html_message=html,
    )
    return True


def _email_content(job: Generation) -> tuple[str, str, str]:
    name = job.workflow_name or "Creator"
    link = job_page_url(job)
    settings_link = settings.SITE_URL.rstrip("/") + reverse("settings_notifications")
    greeting = f"Hi {job.user.get_short_name()},"
    if job.status == Status.COMPLETED:
        count = job.assets.filter(kind=Asset.Kind.OUTPUT).count()
        subject = f"Your {name} job is done"
        summary = f"Your {name} job finished: {count} image{'s' * (count != 1)} ready."
        action = "See and download the results"
        detail = ""
    else:
        subject = f"Your {name} job failed"
        summary = f"Your {name} job could not be finished, and its credits were returned."
        action = "See the job and run it again"
        detail = job.error_message or "No further detail was recorded."
    footer = (
        "You get these emails because job notifications are on. "
        "You can turn them off in your notification settings:"
    )
    text = "\n\n".join(
        part
        for part in [
            greeting,
            summary,
            detail,
            f"{action}: {link}",
            f"— Creator\n\n{footer} {settings_link}",
        ]
        if part
    )
    html = format_html(
        '<p>{}</p><p>{}</p>{}<p><a href="{}">{}</a></p><p>— Creator</p>'
        '<p style="color:#666;font-size:12px">{} <a href="{}">Notification settings</a></p>',
        greeting,
        summary,
        format_html("<p>{}</p>", detail) if detail else "",
        link,
        action,
        footer,
        settings_link,
    )
    return subject, text, html
