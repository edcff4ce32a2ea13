"""Celery tasks: thin wrappers that take ids and call the pipeline."""

from celery import shared_task

from generations import (
    notification_tasks,  # noqa: F401  (registers the notification tasks)
    pipeline,
    servers,
)


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
    from generations.retention import retention_run as run

    return run()
