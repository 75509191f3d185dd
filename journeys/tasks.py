"""Celery doors of journeys: ids and numbers in, one call, nothing else."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.utils import timezone

from config.wake import drain, wake_on_commit
from journeys import engine

DISPATCH_BATCH = 200  # events per dispatch transaction
HELD_BACK_RETRY_SECONDS = 0.2  # a dispatch transaction takes a few tens of milliseconds


def dispatch_on_commit(event_ids: list[int], *, now: datetime.datetime) -> None:
    """Wake the dispatcher once the caller's transaction commits (one wake-up waits at a time:
    it takes whatever events are waiting by then, see config.wake)."""
    if event_ids:
        wake_on_commit(dispatch_waiting)


@shared_task
def dispatch_waiting(limit: int = DISPATCH_BATCH) -> int:
    """Dispatch up to a batch of waiting events, oldest first, in one transaction; a full batch
    wakes another worker for the rest (config.wake.drain). Events held back (another worker has an
    earlier event of the same person) are tried again shortly. Returns how many were claimed."""

    def work() -> int:
        batch = engine.dispatch_next(limit=limit)
        if batch.held_back:
            dispatch_waiting.apply_async(countdown=HELD_BACK_RETRY_SECONDS)
        return batch.dispatched + batch.held_back

    return drain(dispatch_waiting, work, limit=limit)


@shared_task
def tick(limit: int = 500) -> int:
    """Advance one batch of due runs; a full batch queues the next at once (many workers then
    share a backlog instead of waiting for the next beat)."""
    claimed = engine.advance_due_runs(now=timezone.now(), limit=limit)
    if claimed >= limit:
        tick.delay(limit)
    return claimed


@shared_task
def dispatch_pending(limit: int = 1000) -> int:
    """Events older than a minute still undispatched lost their message: dispatch them now."""
    return engine.dispatch_pending(now=timezone.now(), older_than=datetime.timedelta(minutes=1), limit=limit)


@shared_task
def enter_segments() -> int:
    """Segment journeys whose entry is due (one-time at its date, repeats, the continuous sweep)."""
    return engine.enter_due_segments(now=timezone.now())


@shared_task
def decide_ab_winners() -> int:
    return engine.decide_winners(now=timezone.now())
