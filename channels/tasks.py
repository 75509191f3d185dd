"""Celery doors of the email channel."""

from celery import shared_task
from django.utils import timezone

from channels import services


@shared_task
def send_queued(limit: int = 200) -> int:
    return services.send_queued(now=timezone.now(), limit=limit)


@shared_task
def sweep_stale_claims() -> int:
    return services.sweep_stale_claims(now=timezone.now())
