"""Celery doors of the contacts app: ids in, one service call, nothing else."""

from celery import shared_task
from django.utils import timezone

from contacts import imports


@shared_task
def run_import(job_id: int) -> int:
    return imports.run_import(job_id, now=timezone.now())


@shared_task
def resume_stalled_imports() -> int:
    return imports.resume_stalled_imports(now=timezone.now())
