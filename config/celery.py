"""The Celery app. Settings come from Django's settings under the CELERY_ namespace."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("waymark")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def recycle_connections(task=None, **kwargs) -> None:
    """Workers treat a task as the web treats a request: database connections older than
    CONN_MAX_AGE, or broken, are closed before and after it; younger ones are kept. (Celery's own
    Django fixup would close them around every task, and a new PostgreSQL connection costs a few
    milliseconds on both sides; settings.CELERY_DB_REUSE_MAX turns that off.)"""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@signals.worker_init.connect
def warm_up(**kwargs) -> None:
    """In the worker's parent process, before it forks its pool (each pool process would pay for
    it on its first sent message: tracking links are reversed)."""
    from config.warm import warm_up

    warm_up()
