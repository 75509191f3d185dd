"""Getting in and reacting to events: trigger entry, "wait until trigger" resume, exit and goal
checks (`dispatch`), and one-time segment entry as one INSERT … SELECT (`enter_segment`)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Q

from contacts.models import Contact, person_keys
from journeys.engine.governance import Gates, exclusions
from journeys.engine.runner import exit_early, log_step, record_goals, step_safely
from journeys.models import Journey, JourneyRun, JourneySettings, JourneyVersion, TriggerEvent
from segments import services as segments
from segments.models import SegmentMembership

OPEN = JourneyRun.OPEN_STATES
CONTINUOUS_SWEEP = datetime.timedelta(minutes=1)


def dispatch(events: Iterable[TriggerEvent], *, now: datetime.datetime) -> int:
    """Deliver each undispatched event, each in its own transaction; returns how many were new."""
    handled = 0
    for event in events:
        with transaction.atomic():
            locked = (TriggerEvent.objects.select_for_update(of=("self",)).select_related("contact", "lead")
                      .filter(pk=event.pk, dispatched_at__isnull=True).first())
            if locked is None:
                continue  # dispatched already: running a dispatch twice is harmless
            _record_goals(locked, now=now)  # a goal reached by the event that also exits counts
            _exit_runs(locked, now=now)
            _resume_runs(locked, now=now)
            _start_runs(locked, now=now)
            TriggerEvent.objects.filter(pk=locked.pk).update(dispatched_at=now)
            handled += 1
    return handled


def dispatch_ids(event_ids: list[int], *, now: datetime.datetime) -> int:
    """Dispatch these events: those of keys nothing listens to are marked dispatched in one UPDATE."""
    from journeys.ingest import has_listeners

    rows = list(TriggerEvent.objects.filter(pk__in=event_ids, dispatched_at__isnull=True).values_list("pk", "key"))
    listened = {key for key in {key for _pk, key in rows} if has_listeners(key)}
    quiet = [pk for pk, key in rows if key not in listened]
    if quiet:
        TriggerEvent.objects.filter(pk__in=quiet, dispatched_at__isnull=True).update(dispatched_at=now)
    heard = TriggerEvent.objects.filter(pk__in=[pk for pk, key in rows if key in listened], dispatched_at__isnull=True)
    return dispatch(list(heard.order_by("occurred_at", "id")), now=now)


def dispatch_pending(*, now: datetime.datetime, older_than: datetime.timedelta, limit: int) -> int:
    """Dispatch events whose Celery message was lost (the database is the source of truth)."""
    events = TriggerEvent.objects.filter(dispatched_at__isnull=True, occurred_at__lte=now - older_than)
    return dispatch(list(events.order_by("occurred_at", "id")[:limit]), now=now)


def _runs_of(event: TriggerEvent):
    return (JourneyRun.objects.filter(**person_keys(event.person))
            .select_related("journey__exit_segment", "version", "contact", "lead"))


def _entered_segment(event: TriggerEvent) -> int | None:
    return event.payload.get("segment") if event.key == "segment.entered" else None


def _exit_runs(event: TriggerEvent, *, now: datetime.datetime) -> None:
    """Runs whose journey exits on this trigger, or on entering this segment, leave now."""
    segment = _entered_segment(event)
    exits = Q(journey__exit_trigger=event.key) | (Q(journey__exit_segment_id=segment) if segment else Q(pk__in=[]))
    for run in _runs_of(event).filter(exits, state__in=OPEN).select_for_update(of=("self",)):
        if run.journey.exit_trigger == event.key:
            reason = {"code": "exit_trigger", "key": event.key, "event": event.pk}
        else:
            reason = {"code": "exit_segment", "segment": segment, "name": event.payload.get("name", ""),
                      "event": event.pk}
        exit_early(run, reason, now=now)
        run.save()


def _record_goals(event: TriggerEvent, *, now: datetime.datetime) -> None:
    """Goals by this trigger, or by entering this segment, are reached now (once per run)."""
    goals = [(Q(journey__goal_trigger=event.key), {"code": "goal", "key": event.key, "event": event.pk})]
    segment = _entered_segment(event)
    if segment:
        goals.append((Q(journey__goal_segment_id=segment),
                      {"code": "goal", "segment": segment, "name": event.payload.get("name", ""), "event": event.pk}))
    for where, reason in goals:
        runs = _runs_of(event).filter(where, entered_at__lte=now).exclude(state=JourneyRun.State.FAILED)
        record_goals(list(runs.select_related("journey")), reason, now=now)


def _resume_runs(event: TriggerEvent, *, now: datetime.datetime) -> None:
    runs = _runs_of(event).filter(state=JourneyRun.State.WAITING, waiting_for=event.key,
                                  journey__status=Journey.Status.LIVE)
    for run in runs.select_for_update(of=("self",)):
        step_safely(run, now=now, event=event)


def accepting(journey: Journey, *, now: datetime.datetime) -> bool:
    """Is the journey taking new people now (live, and within its start and end dates)?"""
    return (journey.status == Journey.Status.LIVE and (journey.starts_at is None or journey.starts_at <= now)
            and (journey.ends_at is None or now < journey.ends_at))


def _serialize_entry(journey: Journey, person: Contact) -> None:
    """Two events for one person dispatched at once by two workers must not both see "not inside
    yet": on PostgreSQL the check and the new run happen under a lock for (journey, person), held
    until the dispatch transaction ends."""
    if connection.vendor != "postgresql":
        return  # SQLite serializes writers already
    kind = 0 if isinstance(person, Contact) else 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [journey.pk * 2 + kind, person.pk])


def may_enter(journey: Journey, person: Contact, *, now: datetime.datetime) -> bool:
    """Dates, exclusion and suppression segments, and the re-entry rule, for one person."""
    if not accepting(journey, now=now):
        return False
    gates = Gates([JourneyRun(**person_keys(person))])
    if any(gates.is_member(segment, gates.runs[0]) for _code, segment in exclusions(journey, gates.settings)):
        return False
    rule = journey.re_entry
    if rule == Journey.ReEntry.ANY_TIME:
        return True
    _serialize_entry(journey, person)
    runs = JourneyRun.objects.filter(journey=journey, **person_keys(person))
    if rule == Journey.ReEntry.NEVER:
        return not runs.exists()
    if runs.filter(state__in=OPEN).exists():
        return False
    if rule == Journey.ReEntry.AFTER_DAYS:
        return not runs.filter(entered_at__gt=now - datetime.timedelta(days=journey.re_entry_days or 0)).exists()
    return True


def _start_runs(event: TriggerEvent, *, now: datetime.datetime) -> None:
    audience = "contact" if event.contact_id else "lead"
    starts = Q(entry_trigger=event.key)
    if event.key == "segment.entered":  # continuous segment journeys take newcomers at once
        starts |= Q(entry_segment_id=event.payload.get("segment"), entry_mode=Journey.EntryMode.CONTINUOUS)
    journeys = (Journey.objects.filter(starts, status=Journey.Status.LIVE, audience=audience)
                .select_related("entry_segment", "exit_segment", "goal_segment")
                .prefetch_related("exclusion_segments"))
    for journey in journeys:
        if journey.entry_conditions and not segments.matches(
                journey.entry_conditions, person=event.person, payload=event.payload, now=now):
            continue
        if not may_enter(journey, event.person, now=now):
            continue
        reason = ({"code": "trigger", "key": event.key, "event": event.pk} if journey.entry_trigger else
                  {"code": "segment_entry", "segment": journey.entry_segment_id, "name": journey.entry_segment.name,
                   "event": event.pk})
        run = start_run(journey, event.person, context=event.payload if journey.entry_trigger else {}, now=now,
                        reason=reason)
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


def first_entry_at(journey: Journey, *, now: datetime.datetime) -> datetime.datetime | None:
    """When a segment journey going live first takes its segment's members (None: trigger-based)."""
    if not journey.entry_segment_id:
        return None
    at = max(now, journey.entry_at or now, journey.starts_at or now)
    return at if journey.ends_at is None or at < journey.ends_at else None


def _repeat(journey: Journey) -> datetime.timedelta:
    unit = 7 if journey.repeat_unit == Journey.RepeatUnit.WEEKS else 1
    return datetime.timedelta(days=unit * (journey.repeat_every or 1))


def _after(journey: Journey, due: datetime.datetime, *, now: datetime.datetime) -> datetime.datetime | None:
    """The next entry of a segment journey that just entered its members (due at `due`)."""
    if journey.entry_mode == Journey.EntryMode.ONE_TIME:
        return None
    if journey.entry_mode == Journey.EntryMode.CONTINUOUS:
        at = now + CONTINUOUS_SWEEP  # a safety net: segment.entered events bring newcomers at once
    else:
        at, step = due, _repeat(journey)
        while at <= now:
            at += step
    return at if journey.ends_at is None or at < journey.ends_at else None


def enter_due_segments(*, now: datetime.datetime, journeys: list[int] | None = None) -> int:
    """Enter the members of every live segment journey whose entry is due (one-time, the next
    repeat, or the continuous sweep), and schedule the next. Returns how many people entered."""
    due = Journey.objects.filter(status=Journey.Status.LIVE, next_entry_at__lte=now, entry_segment__isnull=False)
    if journeys is not None:
        due = due.filter(pk__in=journeys)
    entered = 0
    with transaction.atomic():
        for journey in due.select_for_update(skip_locked=True, of=("self",)).prefetch_related("exclusion_segments"):
            entered += enter_segment(journey, now=now)
            journey.next_entry_at = _after(journey, journey.next_entry_at, now=now)
            Journey.objects.filter(pk=journey.pk).update(next_entry_at=journey.next_entry_at)
    return entered


def enter_segment(journey: Journey, *, now: datetime.datetime) -> int:
    """Every member of the entry segment who may enter starts a run, in one INSERT … SELECT (the
    tick steps them): not in an exclusion or the suppression segment, and allowed by the re-entry
    rule. Returns how many entered."""
    if not accepting(journey, now=now):
        return 0
    version = latest_version(journey)
    start = version.tiles["start"]
    person = f"{journey.audience}_id"
    run_table, membership = JourneyRun._meta.db_table, SegmentMembership._meta.db_table
    at = connection.ops.adapt_datetimefield_value(now)  # as the ORM stores it (SQLite compares text)
    params: list = [journey.pk, version.pk, JourneyRun.State.ACTIVE, start, json.dumps({start: 1}), at, at,
                    journey.entry_segment_id]
    barred = [segment.pk for _code, segment in exclusions(journey, JourneySettings.current())]
    where = ""
    if barred:
        where += (f" AND NOT EXISTS (SELECT 1 FROM {membership} x WHERE x.{person} = m.{person} "
                  f"AND x.segment_id IN ({', '.join(['%s'] * len(barred))}))")
        params += barred
    earlier = f"SELECT 1 FROM {run_table} r WHERE r.journey_id = %s AND r.{person} = m.{person}"
    rule = journey.re_entry
    if rule == Journey.ReEntry.NEVER:
        where += f" AND NOT EXISTS ({earlier})"
        params.append(journey.pk)
    else:  # segment entry never puts someone in twice at once, whatever the rule
        where += f" AND NOT EXISTS ({earlier} AND r.state IN (%s, %s))"
        params += [journey.pk, *OPEN]
        if rule == Journey.ReEntry.AFTER_DAYS:
            where += f" AND NOT EXISTS ({earlier} AND r.entered_at > %s)"
            since = now - datetime.timedelta(days=journey.re_entry_days or 0)
            params += [journey.pk, connection.ops.adapt_datetimefield_value(since)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {run_table} ({person}, journey_id, version_id, state, tile_key, attempt, visits, due_at, "
            f"context, entered_at, error) "
            f"SELECT m.{person}, %s, %s, %s, %s, 1, %s, %s, '{{}}', %s, '' FROM {membership} m "
            f"WHERE m.segment_id = %s AND m.{person} IS NOT NULL{where}",
            params,
        )
        return cursor.rowcount
