"""Celery doors of the email and webhook channels."""

from celery import shared_task
from django.utils import timezone

from channels import services
from config.wake import drain


@shared_task
def send_queued(limit: int = 200) -> int:
    """Send a batch of queued messages; a batch claimed in full wakes another worker for the rest
    (config.wake.drain). Returns how many were claimed."""
    return drain(send_queued, lambda: services.send_next(now=timezone.now(), limit=limit).claimed, limit=limit)


@shared_task
def sweep_stale_claims() -> int:
    return services.sweep_stale_claims(now=timezone.now())


@shared_task
def send_queued_webhooks(limit: int = 50) -> int:
    return drain(send_queued_webhooks, lambda: services.send_queued_webhooks(now=timezone.now(), limit=limit),
                 limit=limit)


@shared_task
def sweep_stale_webhook_claims() -> int:
    return services.sweep_stale_webhook_claims(now=timezone.now())
