"""Waking a Celery task that drains a table (trigger events to dispatch, messages to send) with at
most one wake-up waiting per task, however many rows were stored meanwhile.

Writers call `wake_on_commit(task)`; the task runs `drain`, which takes the flag down first thing
and then claims what is waiting (FOR UPDATE SKIP LOCKED). A row stored after that finds no flag and
queues a new wake-up, which another worker may take while the first is still busy, so work spreads
over workers under load and batches grow by themselves, instead of one task per row (a Celery task
costs a few milliseconds of CPU; at hundreds of rows a second that is the bottleneck). Measured on
2 cores, this beat a single worker draining batch after batch while the flag stays up: that one
worker got too small a share of the CPU beside the web processes.

The flag lives in the cache, so this needs a cache every process shares (`CACHE_URL=redis://…`).
With a process-local cache (the embedded default) every wake-up is queued: still correct, since
the task claims whatever is waiting, and an idle task costs one query.
"""

from __future__ import annotations

from collections.abc import Callable

from celery import Task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

FLAG_SECONDS = 10  # a lost message holds wake-ups back at most this long (beat sweeps meanwhile)
LOCAL_CACHES = ("LocMemCache", "DummyCache")


def shared_cache() -> bool:
    return not settings.CACHES["default"]["BACKEND"].endswith(LOCAL_CACHES)


def _flag(task: Task) -> str:
    return f"waymark:wake:{task.name}"


def wake(task: Task) -> None:
    """Queue `task` unless a wake-up of it is already waiting for a worker."""
    if shared_cache() and not cache.add(_flag(task), 1, timeout=FLAG_SECONDS):
        return
    try:
        task.delay()
    except Exception:
        if shared_cache():
            cache.delete(_flag(task))  # the next writer tries again
        raise


def woken(task: Task) -> None:
    """Rows stored from now on need a wake-up of their own."""
    if shared_cache():
        cache.delete(_flag(task))


def drain(task: Task, work: Callable[[], int], *, limit: int) -> int:
    """The body of a woken task: take the flag down (rows stored from now on queue a wake-up of
    their own, which another worker may take while this one works), handle one batch (`work`
    claims and handles up to `limit` rows and returns how many), and wake a helper at once when the
    batch was full. Returns how many rows were handled."""
    woken(task)
    done = work()
    if done >= limit:
        wake(task)
    return done


def wake_on_commit(task: Task, *, once_per_transaction: bool = False) -> None:
    """`wake(task)` after the caller's transaction commits (and not at all if it rolls back).
    `once_per_transaction`: callers that queue many rows in one transaction (a journey batch
    queueing its emails) register one wake-up for them all."""
    connection = transaction.get_connection()
    if once_per_transaction and connection.in_atomic_block and any(
            getattr(func, "wakes", None) is task for _sids, func, _robust in connection.run_on_commit):
        return

    def after_commit() -> None:
        wake(task)

    after_commit.wakes = task
    transaction.on_commit(after_commit)
