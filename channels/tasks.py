"""Celery doors of the email and webhook channels."""

from celery import shared_task
from django.utils import timezone

from channels import services


@shared_task
def send_queued(limit: int = 200) -> int:
    """Send one batch; a full batch means more are waiting, so the next batch is queued at once
    rather than at the next beat."""
    sent = services.send_queued(now=timezone.now(), limit=limit)
    if sent >= limit:
        send_queued.delay(limit)
    return sent


@shared_task
def sweep_stale_claims() -> int:
    return services.sweep_stale_claims(now=timezone.now())


@shared_task
def send_queued_webhooks(limit: int = 50) -> int:
    sent = services.send_queued_webhooks(now=timezone.now(), limit=limit)
    if sent >= limit:
        send_queued_webhooks.delay(limit)
    return sent


@shared_task
def sweep_stale_webhook_claims() -> int:
    return services.sweep_stale_webhook_claims(now=timezone.now())
