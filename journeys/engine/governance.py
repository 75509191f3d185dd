"""Governance checked at every step: exclusion and suppression segments, the goal segment, quiet
hours and frequency caps. One `Gates` per batch of runs loads what it needs for the whole batch
in one query per segment (and one for recent sends), so a tick of 500 runs is not 500 lookups.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable, Iterable
from typing import Any

from channels import queries as channel_queries
from journeys import catalog
from journeys.engine.outcomes import Defer, Next, Outcome, iso
from journeys.models import Journey, JourneyRun, JourneySettings
from segments import services as segments
from segments.models import Segment

DAY, WEEK = datetime.timedelta(days=1), datetime.timedelta(days=7)


def person_key(run: JourneyRun) -> tuple[str, int]:
    return ("contact", run.contact_id) if run.contact_id else ("lead", run.lead_id)


class Gates:
    """What governance needs to know about a batch of runs, loaded once per batch."""

    def __init__(self, runs: Iterable[JourneyRun], *, settings: JourneySettings | None = None):
        self.runs = list(runs)
        self.settings = settings or JourneySettings.current()
        self._members: dict[int, set[tuple[str, int]]] = {}
        self._sends: dict[tuple[str, int], list[datetime.datetime]] | None = None
        self._memo: dict[Any, Any] = {}

    def memo(self, key: Any, load: Callable[[], Any]) -> Any:
        """Something every run of the batch reads alike (an email by key), loaded once."""
        if key not in self._memo:
            self._memo[key] = load()
        return self._memo[key]

    def _people(self) -> dict[str, list[int]]:
        people: dict[str, list[int]] = {"contact": [], "lead": []}
        for run in self.runs:
            kind, pk = person_key(run)
            people[kind].append(pk)
        return people

    def is_member(self, segment: Segment, run: JourneyRun) -> bool:
        if segment.pk not in self._members:
            ids = self._people()[segment.audience]
            found = segments.members(segment).filter(pk__in=ids).values_list("pk", flat=True) if ids else []
            self._members[segment.pk] = {(segment.audience, pk) for pk in found}
        return person_key(run) in self._members[segment.pk]

    def sends(self, run: JourneyRun, *, now: datetime.datetime) -> list[datetime.datetime]:
        """Commercial sends to this person in the last week (this batch's own sends included)."""
        if self._sends is None:
            people = self._people()
            self._sends = channel_queries.recent_commercial_sends(
                contact_ids=people["contact"], lead_ids=people["lead"], since=now - WEEK)
        return self._sends.setdefault(person_key(run), [])

    def record_send(self, run: JourneyRun, *, now: datetime.datetime) -> None:
        self.sends(run, now=now).append(now)

    def forget_sends(self) -> None:
        """Reload recent sends when next asked (a rolled-back batch's sends did not happen)."""
        self._sends = None


def exclusions(journey: Journey, settings: JourneySettings) -> list[tuple[str, Segment]]:
    """The segments whose members may not be in this journey, with the reason code of each."""
    found = [("excluded", segment) for segment in journey.exclusion_segments.all()]
    if journey.honor_suppression and settings.suppression_segment_id:
        found.append(("suppressed", settings.suppression_segment))
    return found


def must_leave(run: JourneyRun, gates: Gates) -> dict[str, Any] | None:
    """Why this run must exit before its next tile (exit segment, exclusion, suppression), or None."""
    journey = run.journey
    checks = [("exit_segment", journey.exit_segment)] if journey.exit_segment_id else []
    for code, segment in checks + exclusions(journey, gates.settings):
        if gates.is_member(segment, run):
            return {"code": code, "segment": segment.pk, "name": segment.name}
    return None


def reached_goal(run: JourneyRun, gates: Gates) -> dict[str, Any] | None:
    journey = run.journey
    if journey.goal_segment_id and gates.is_member(journey.goal_segment, run):
        return {"code": "goal", "segment": journey.goal_segment_id, "name": journey.goal_segment.name}
    return None


# --- Before a message is sent ---------------------------------------------------------------------
def time_zone(run: JourneyRun) -> zoneinfo.ZoneInfo:
    journey = run.journey
    name = (getattr(run.person, "time_zone", "") if journey.use_contact_time_zone else "") or journey.time_zone
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(journey.time_zone or "UTC")


def quiet_until(journey: Journey, now: datetime.datetime, zone: zoneinfo.ZoneInfo) -> datetime.datetime | None:
    """The end of the quiet hours `now` falls in (in `zone`), or None outside them."""
    start, end = journey.quiet_hours_start, journey.quiet_hours_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + datetime.timedelta(days=1)
    return datetime.datetime.combine(day, end, tzinfo=zone).astimezone(datetime.UTC)


def caps(journey: Journey, settings: JourneySettings) -> list[tuple[str, int, datetime.timedelta]]:
    found = []
    for name, window in (("day", DAY), ("week", WEEK)):
        limit = getattr(journey, f"cap_per_{name}") or getattr(settings, f"cap_per_{name}")
        if limit:
            found.append((name, limit, window))
    return found


def before_send(run: JourneyRun, tile: catalog.Tile, gates: Gates, *, now: datetime.datetime,
                commercial: bool) -> Outcome | None:
    """None to send now; else a deferral (Wait on the same tile) or a logged skip (Next)."""
    journey = run.journey
    zone = time_zone(run)
    until = quiet_until(journey, now, zone)
    if until is not None:
        return Defer(until=until, reason={"code": "quiet_hours", "until": iso(until), "tz": str(zone.key)})
    if not commercial:
        return None
    sent = gates.sends(run, now=now)
    for name, limit, window in caps(journey, gates.settings):
        recent = [at for at in sent if at > now - window]
        if len(recent) < limit:
            continue
        reason = {"code": "cap", "limit": limit, "per": name, "channel": catalog.KINDS[tile["type"]].channel}
        if journey.cap_action == Journey.CapAction.SKIP:
            return Next(tile["next"], {**reason, "code": "skipped_cap"})
        until = recent[len(recent) - limit] + window  # when enough of them have aged out
        return Defer(until=until, reason={**reason, "code": "deferred_cap", "until": iso(until)})
    return None
