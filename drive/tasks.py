"""Celery tasks: thin wrappers that take ids and call drive.services."""

from celery import shared_task
from django.db import transaction

from drive import services
from generations.models import Generation


@shared_task
def polls_enqueue_due() -> int:
    return services.polls_enqueue_due()


@shared_task(acks_late=True)
def connection_poll(connection_id: int, claim: str) -> None:
    services.connection_poll(connection_id=connection_id, claim=claim)


@shared_task(acks_late=True)
def connections_poll(connection_ids: list[int], claim: str) -> None:
    """Poll several claimed connections in turn (what beat enqueues). A
    redelivered message is harmless: finished polls released their claim."""
    services.connections_poll(connection_ids=connection_ids, claim=claim)


@shared_task(bind=True, acks_late=True, max_retries=10)
def delivery_run(self, generation_id: str) -> None:
    """Enqueued by `delivery_enqueue` when a drive or inbox job reaches a final state."""
    try:
        services.delivery_run(generation_id=generation_id)
    except services.DeliveryRetry as exc:
        raise self.retry(countdown=exc.countdown) from exc


def delivery_enqueue(generation: Generation) -> None:
    """generations' on-finished hook (registered in apps.py): hand a drive or
    inbox job back to its source once the transaction that finished it commits."""
    if generation.source not in (Generation.Source.DRIVE, Generation.Source.INBOX):
        return
    job_id = str(generation.id)
    transaction.on_commit(lambda: delivery_run.delay(job_id))
