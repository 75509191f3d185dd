"""Celery doors of the email and webhook channels."""

from celery import shared_task
from django.utils import timezone

from channels import services
from config.wake import wake, woken


@shared_task
def send_queued(limit: int = 200) -> int:
    """Send one batch; a full batch means more are waiting, so the next batch is queued at once
    rather than at the next beat."""
    woken(send_queued)
    sent = services.send_queued(now=timezone.now(), limit=limit)
    if sent >= limit:
        wake(send_queued)
    return sent


@shared_task
def sweep_stale_claims() -> int:
    return services.sweep_stale_claims(now=timezone.now())


@shared_task
def send_queued_webhooks(limit: int = 50) -> int:
    woken(send_queued_webhooks)
    sent = services.send_queued_webhooks(now=timezone.now(), limit=limit)
    if sent >= limit:
        wake(send_queued_webhooks)
    return sent


@shared_task
def sweep_stale_webhook_claims() -> int:
    return services.sweep_stale_webhook_claims(now=timezone.now())
