"""Celery tasks: thin wrappers around billing services."""

from celery import shared_task

from billing import payments, services


@shared_task
def trials_expire() -> int:
    return services.trials_expire()


@shared_task
def overage_invoice_due() -> int:
    return payments.overage_invoice_due()
