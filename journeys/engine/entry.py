"""Segment entry: one-time, repeating and the continuous sweep, each as one INSERT … SELECT
(`enter_segment`); the tick steps the new runs. Trigger entry is event dispatch's
(`journeys.engine.dispatch`)."""

from __future__ import annotations

import datetime
import json

from django.db import connection, transaction

from journeys.engine.dispatch import accepting, latest_version
from journeys.engine.governance import exclusions
from journeys.models import Journey, JourneyRun, JourneySettings
from segments.models import SegmentMembership

OPEN = JourneyRun.OPEN_STATES
CONTINUOUS_SWEEP = datetime.timedelta(minutes=1)


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
