"""Getting in and reacting to events: trigger entry, "wait until trigger" resume, exit and goal
checks (`dispatch`), and one-time segment entry as one INSERT … SELECT (`enter_segment`)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable

from django.db import connection, transaction

from contacts.models import Contact, person_keys
from journeys.engine.runner import exit_early, log_step, step_safely
from journeys.models import Journey, JourneyRun, JourneyVersion, StepLog, TriggerEvent
from segments import services as segments
from segments.models import SegmentMembership

OPEN = JourneyRun.OPEN_STATES


def dispatch(events: Iterable[TriggerEvent], *, now: datetime.datetime) -> int:
    """Deliver each undispatched event, each in its own transaction; returns how many were new."""
    handled = 0
    for event in events:
        with transaction.atomic():
            locked = (TriggerEvent.objects.select_for_update(of=("self",)).select_related("contact", "lead")
                      .filter(pk=event.pk, dispatched_at__isnull=True).first())
            if locked is None:
                continue  # dispatched already: running a dispatch twice is harmless
            _exit_runs(locked, now=now)
            _record_goals(locked, now=now)
            _resume_runs(locked, now=now)
            _start_runs(locked, now=now)
            TriggerEvent.objects.filter(pk=locked.pk).update(dispatched_at=now)
            handled += 1
    return handled


def dispatch_pending(*, now: datetime.datetime, older_than: datetime.timedelta, limit: int) -> int:
    """Dispatch events whose Celery message was lost (the database is the source of truth)."""
    events = TriggerEvent.objects.filter(dispatched_at__isnull=True, occurred_at__lte=now - older_than)
    return dispatch(list(events.order_by("occurred_at", "id")[:limit]), now=now)


def _runs_of(event: TriggerEvent):
    return (JourneyRun.objects.filter(**person_keys(event.person))
            .select_related("journey__exit_segment", "version", "contact", "lead"))


def _exit_runs(event: TriggerEvent, *, now: datetime.datetime) -> None:
    runs = _runs_of(event).filter(state__in=OPEN, journey__exit_trigger=event.key)
    for run in runs.select_for_update(of=("self",)):
        exit_early(run, {"code": "exit_trigger", "key": event.key, "event": event.pk}, now=now)
        run.save()


def _record_goals(event: TriggerEvent, *, now: datetime.datetime) -> None:
    runs = _runs_of(event).filter(journey__goal_trigger=event.key, entered_at__lte=now).exclude(
        state=JourneyRun.State.FAILED)
    StepLog.objects.bulk_create([
        StepLog(run=run, tile_key="$goal", attempt=1, outcome="goal", at=now,
                reason={"code": "goal", "key": event.key, "event": event.pk}) for run in runs
    ], ignore_conflicts=True)


def _resume_runs(event: TriggerEvent, *, now: datetime.datetime) -> None:
    runs = _runs_of(event).filter(state=JourneyRun.State.WAITING, waiting_for=event.key,
                                  journey__status=Journey.Status.LIVE)
    for run in runs.select_for_update(of=("self",)):
        step_safely(run, now=now, event=event)


def may_enter(journey: Journey, person: Contact, *, now: datetime.datetime) -> bool:
    if journey.re_entry == Journey.ReEntry.ANY_TIME:
        return True
    runs = JourneyRun.objects.filter(journey=journey, **person_keys(person))
    if journey.re_entry == Journey.ReEntry.AFTER_FINISH:
        runs = runs.filter(state__in=OPEN)
    return not runs.exists()


def _start_runs(event: TriggerEvent, *, now: datetime.datetime) -> None:
    audience = "contact" if event.contact_id else "lead"
    journeys = Journey.objects.filter(status=Journey.Status.LIVE, entry_trigger=event.key, audience=audience)
    for journey in journeys.select_related("exit_segment"):
        if journey.entry_conditions and not segments.matches(
                journey.entry_conditions, person=event.person, payload=event.payload, now=now):
            continue
        if not may_enter(journey, event.person, now=now):
            continue
        run = start_run(journey, event.person, context=event.payload, now=now,
                        reason={"code": "trigger", "key": event.key, "event": event.pk})
        step_safely(run, now=now)


def latest_version(journey: Journey) -> JourneyVersion:
    return journey.versions.order_by("-number").first()


def start_run(journey: Journey, person: Contact, *, context: dict, now: datetime.datetime,
              reason: dict) -> JourneyRun:
    version = latest_version(journey)
    start = version.tiles["start"]
    run = JourneyRun.objects.create(
        **person_keys(person), journey=journey, version=version, state=JourneyRun.State.ACTIVE, tile_key=start,
        attempt=1, visits={start: 1}, due_at=now, context=context, entered_at=now,
    )
    log_step(run, tile_key="$entry", attempt=1, outcome="entered", reason=reason, now=now)
    return run


def enter_segment(journey: Journey, *, now: datetime.datetime) -> int:
    """One-time entry: every member of the entry segment not yet in the journey starts a run, in
    one INSERT … SELECT (the tick steps them). Returns how many entered."""
    version = latest_version(journey)
    start = version.tiles["start"]
    person = f"{journey.audience}_id"
    run_table, membership = JourneyRun._meta.db_table, SegmentMembership._meta.db_table
    at = connection.ops.adapt_datetimefield_value(now)  # as the ORM stores it (SQLite compares text)
    params = [journey.pk, version.pk, JourneyRun.State.ACTIVE, start, json.dumps({start: 1}), at, at,
              journey.entry_segment_id, journey.pk]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {run_table} ({person}, journey_id, version_id, state, tile_key, attempt, visits, due_at, "
            f"context, entered_at, error) "
            f"SELECT m.{person}, %s, %s, %s, %s, 1, %s, %s, '{{}}', %s, '' FROM {membership} m "
            f"WHERE m.segment_id = %s AND m.{person} IS NOT NULL AND NOT EXISTS ("
            f"SELECT 1 FROM {run_table} r WHERE r.journey_id = %s AND r.{person} = m.{person})",
            params,
        )
        return cursor.rowcount
