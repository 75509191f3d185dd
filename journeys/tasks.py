"""Celery doors of journeys: ids and numbers in, one call, nothing else."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.utils import timezone

from journeys import engine

DISPATCH_BATCH = 200  # events per Celery dispatch task


def dispatch_on_commit(event_ids: list[int], *, now: datetime.datetime) -> None:
    """Dispatch stored events once the caller's transaction commits, DISPATCH_BATCH per task."""
    for start in range(0, len(event_ids), DISPATCH_BATCH):
        dispatch_events.delay_on_commit(event_ids[start:start + DISPATCH_BATCH], now.timestamp())


@shared_task
def dispatch_events(event_ids: list[int], published_at: float | None = None) -> int:
    """Dispatch these events as of when they were published (a late worker changes no outcome)."""
    now = datetime.datetime.fromtimestamp(published_at, datetime.UTC) if published_at else timezone.now()
    return engine.dispatch_ids(event_ids, now=now)


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
