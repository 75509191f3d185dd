"""Reacting to trigger events, a batch at a time: goals, exits, "wait until trigger" resumes and
trigger entry, each one query for the whole batch rather than one per event.

A batch is claimed (FOR UPDATE SKIP LOCKED) and dispatched in one transaction. Its events are
taken in waves, each person at most once per wave and in the order they happened, so a person's
"cart abandoned" then "purchase completed" start a run and then stop it, as one by one would.
Within a wave: goals first (a goal reached by the event that also exits counts), then exits, then
resumes, then entries; new runs take their first tiles at once, sharing one `Gates`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Q, QuerySet, prefetch_related_objects

from config.db import insert_many
from contacts.models import Contact, Lead, person_keys
from journeys.engine.governance import Gates, exclusions, person_key
from journeys.engine.runner import RELATED, exit_early, record_goals, step_many
from journeys.models import Journey, JourneyRun, JourneySettings, JourneyVersion, StepLog, TriggerEvent
from segments import services as segments

OPEN = JourneyRun.OPEN_STATES
SEGMENT_ENTERED = "segment.entered"
MOMENT = datetime.timedelta(seconds=1)  # events this close are dispatched as of the newest
PersonKey = tuple[str, int]
Person = Contact | Lead


def dispatch_ids(event_ids: Sequence[int], *, now: datetime.datetime) -> int:
    """Dispatch these stored events (those not dispatched yet) as of `now`; returns how many this
    call did."""
    return _dispatch(TriggerEvent.objects.filter(pk__in=list(event_ids)), now=now).dispatched


def dispatch(events: Iterable[TriggerEvent], *, now: datetime.datetime) -> int:
    """`dispatch_ids` for events in hand (test mode, callers that just stored them)."""
    return dispatch_ids([event.pk for event in events], now=now)


class Batch(NamedTuple):
    dispatched: int
    held_back: int  # events left waiting: an earlier event of the same person is another worker's


def dispatch_waiting(*, limit: int) -> int:
    """Dispatch up to `limit` waiting events, oldest first, as of when they happened (a late worker
    changes no outcome; see `_moments`); events other workers hold are skipped."""
    return dispatch_next(limit=limit).dispatched


def dispatch_next(*, limit: int) -> Batch:
    """`dispatch_waiting`, answering how many events it held back as well: a person's events are
    dispatched in order, so while another worker holds one of theirs, their later ones wait (its
    "cart abandoned" must start the run before this "purchase completed" can stop it)."""
    return _dispatch(TriggerEvent.objects.all(), now=None, limit=limit, in_order=True)


def dispatch_pending(*, now: datetime.datetime, older_than: datetime.timedelta, limit: int) -> int:
    """Dispatch events whose Celery message was lost (the database is the source of truth)."""
    return _dispatch(TriggerEvent.objects.filter(occurred_at__lte=now - older_than), now=now, limit=limit,
                     in_order=True).dispatched


def _dispatch(events: QuerySet, *, now: datetime.datetime | None, limit: int | None = None,
              in_order: bool = False) -> Batch:
    with transaction.atomic():
        claim = (events.filter(dispatched_at__isnull=True).order_by("occurred_at", "id")
                 .select_for_update(skip_locked=True).values_list("pk", flat=True))
        ids = list(claim[:limit] if limit else claim)
        batch = list(TriggerEvent.objects.filter(pk__in=ids).order_by("occurred_at", "id"))
        held_back = 0
        if in_order and batch:
            behind = _behind_others(batch)
            held_back = sum(_key(event) in behind for event in batch)
            batch = [event for event in batch if _key(event) not in behind]
        if not batch:
            return Batch(0, held_back)  # dispatched already (or held by other workers): harmless
        listeners = Listeners.of(batch)
        for moment in _moments(batch):
            at = now or moment[-1].occurred_at
            for wave in _waves(moment):
                _react(wave, listeners, now=at)
            TriggerEvent.objects.filter(pk__in=[event.pk for event in moment]).update(dispatched_at=at)
    return Batch(len(batch), held_back)


def _behind_others(batch: list[TriggerEvent]) -> set[PersonKey]:
    """The people of the batch with an earlier event still waiting outside it: another worker holds
    it (SKIP LOCKED passed it by), or it was stored after this batch was claimed."""
    first: dict[PersonKey, TriggerEvent] = {}
    for event in batch:
        first.setdefault(_key(event), event)
    newest = max(event.occurred_at for event in batch)
    earlier = (TriggerEvent.objects.filter(_people(first.values()), dispatched_at__isnull=True,
                                           occurred_at__lte=newest)
               .exclude(pk__in=[event.pk for event in batch])
               .values_list("contact_id", "lead_id", "occurred_at", "pk"))
    behind = set()
    for contact_id, lead_id, occurred_at, pk in earlier:
        key: PersonKey = ("contact", contact_id) if contact_id else ("lead", lead_id)
        mine = first[key]
        if (occurred_at, pk) < (mine.occurred_at, mine.pk):
            behind.add(key)
    return behind


def _moments(events: list[TriggerEvent]) -> list[list[TriggerEvent]]:
    """Events (oldest first) in runs that happened within MOMENT of each other: each run is
    dispatched as of its newest event, so events far apart are each handled as of their time."""
    moments: list[list[TriggerEvent]] = []
    for event in events:
        if moments and event.occurred_at - moments[-1][0].occurred_at <= MOMENT:
            moments[-1].append(event)
        else:
            moments.append([event])
    return moments


def _key(event: TriggerEvent) -> PersonKey:
    return ("contact", event.contact_id) if event.contact_id else ("lead", event.lead_id)


def _waves(events: list[TriggerEvent]) -> list[list[TriggerEvent]]:
    """Split events (in the order they happened) so that each person appears once per wave."""
    waves: list[list[TriggerEvent]] = []
    seen: dict[PersonKey, int] = {}
    for event in events:
        index = seen[_key(event)] = seen.get(_key(event), -1) + 1
        if index == len(waves):
            waves.append([])
        waves[index].append(event)
    return waves


def _entered_segment(event: TriggerEvent) -> int | None:
    return event.payload.get("segment") if event.key == SEGMENT_ENTERED else None


@dataclass
class Listeners:
    """The journeys that react to a batch's keys (entry, exit, goal, by trigger or by segment
    entered), loaded once with what the reactions read, and the batch's settings."""

    journeys: list[Journey]
    settings: JourneySettings
    keys: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, events: list[TriggerEvent]) -> Listeners:
        keys = {event.key for event in events}
        entered = {s for s in (_entered_segment(event) for event in events) if s}
        journeys = _listening(keys, entered)
        if journeys:
            prefetch_related_objects(journeys, "exclusion_segments")
        # Runs wait only on live or paused journeys' tiles; whether any wait for these keys is
        # asked of the people at hand, per wave (an indexed lookup), not of the whole table.
        return cls(journeys=journeys, settings=JourneySettings.current(), keys=keys)

    def goal_reason(self, journey: Journey, event: TriggerEvent) -> dict[str, Any] | None:
        if journey.goal_trigger == event.key:
            return {"code": "goal", "key": event.key, "event": event.pk}
        segment = _entered_segment(event)
        if segment and journey.goal_segment_id == segment:
            return {"code": "goal", "segment": segment, "name": event.payload.get("name", ""), "event": event.pk}
        return None

    def exit_reason(self, journey: Journey, event: TriggerEvent) -> dict[str, Any] | None:
        if journey.exit_trigger == event.key:
            return {"code": "exit_trigger", "key": event.key, "event": event.pk}
        segment = _entered_segment(event)
        if segment and journey.exit_segment_id == segment:
            return {"code": "exit_segment", "segment": segment, "name": event.payload.get("name", ""),
                    "event": event.pk}
        return None

    def starts(self, journey: Journey, event: TriggerEvent) -> bool:
        if journey.status != Journey.Status.LIVE or journey.audience != _key(event)[0]:
            return False
        if journey.entry_trigger:
            return journey.entry_trigger == event.key
        return (journey.entry_mode == Journey.EntryMode.CONTINUOUS and journey.entry_segment_id is not None
                and journey.entry_segment_id == _entered_segment(event))


def _marks(values: Sequence | set) -> str:
    return ", ".join(["%s"] * len(values))


def _listening(keys: set[str], entered: set[int]) -> list[Journey]:
    """The non-draft journeys entering (live ones), exiting or scoring a goal on one of `keys`, or
    on entering one of the `entered` segments. Hand-written SQL: it runs for every batch, and
    building the same query with the ORM cost ~2 ms a batch against ~0.3 ms."""
    q = connection.ops.quote_name
    status, live = q("status"), Journey.Status.LIVE
    clauses: list[str] = []
    params: list[Any] = [Journey.Status.DRAFT]

    def among(column: str, values: set, extra: str = "", extra_params: tuple = ()) -> None:
        clauses.append(f"({q(column)} IN ({_marks(values)}){extra})")
        params.extend([*values, *extra_params])

    if keys:
        among("entry_trigger", keys, f" AND {status} = %s", (live,))
        among("exit_trigger", keys)
        among("goal_trigger", keys)
    if entered:
        among("entry_segment_id", entered, f" AND {q('entry_mode')} = %s AND {status} = %s",
              (Journey.EntryMode.CONTINUOUS, live))
        among("exit_segment_id", entered)
        among("goal_segment_id", entered)
    if not clauses:
        return []
    return list(Journey.objects.raw(
        f"SELECT * FROM {q(Journey._meta.db_table)} WHERE {status} <> %s AND ({' OR '.join(clauses)})", params))


def _any_waiting(events: list[TriggerEvent], keys: set[str]) -> bool:
    """Does a run of a live journey wait for one of `keys` for one of these events' people?
    Asked for every wave, so in hand-written SQL (an indexed lookup) rather than by the ORM."""
    q = connection.ops.quote_name
    contacts = [e.contact_id for e in events if e.contact_id]
    leads = [e.lead_id for e in events if e.lead_id]
    whose = []
    if contacts:
        whose.append(f"r.{q('contact_id')} IN ({_marks(contacts)})")
    if leads:
        whose.append(f"r.{q('lead_id')} IN ({_marks(leads)})")
    if not whose or not keys:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {q(JourneyRun._meta.db_table)} r JOIN {q(Journey._meta.db_table)} j "
            f"ON j.{q('id')} = r.{q('journey_id')} WHERE ({' OR '.join(whose)}) AND r.{q('state')} = %s "
            f"AND r.{q('waiting_for')} IN ({_marks(keys)}) AND j.{q('status')} = %s LIMIT 1",
            [*contacts, *leads, JourneyRun.State.WAITING, *keys, Journey.Status.LIVE])
        return cursor.fetchone() is not None


def _people(events: Iterable[TriggerEvent]) -> Q:
    contacts = [e.contact_id for e in events if e.contact_id]
    leads = [e.lead_id for e in events if e.lead_id]
    where = Q(pk__in=[])
    if contacts:
        where |= Q(contact_id__in=contacts)
    if leads:
        where |= Q(lead_id__in=leads)
    return where


def _react(wave: list[TriggerEvent], listeners: Listeners, *, now: datetime.datetime) -> None:
    by_person = {_key(event): event for event in wave}
    people = _people(wave)
    _goals(by_person, people, listeners, now=now)
    _exits(by_person, people, listeners, now=now)
    _resumes(by_person, people, listeners, now=now)
    _starts(wave, listeners, now=now)


def _runs_of(journeys: list[Journey], people: Q) -> QuerySet:
    return JourneyRun.objects.filter(people, journey__in=[j.pk for j in journeys])


def _goals(by_person: dict[PersonKey, TriggerEvent], people: Q, listeners: Listeners, *,
           now: datetime.datetime) -> None:
    journeys = {j.pk: j for j in listeners.journeys if j.goal_trigger or j.goal_segment_id}
    if not journeys:
        return
    reached = []
    runs = _runs_of(list(journeys.values()), people).filter(entered_at__lte=now).exclude(state=JourneyRun.State.FAILED)
    for run in runs.select_related("contact", "lead"):
        run.journey = journeys[run.journey_id]
        reason = listeners.goal_reason(run.journey, by_person[person_key(run)])
        if reason is not None:
            reached.append((run, reason))
    record_goals(reached, now=now)


def _exits(by_person: dict[PersonKey, TriggerEvent], people: Q, listeners: Listeners, *,
           now: datetime.datetime) -> None:
    journeys = {j.pk: j for j in listeners.journeys if j.exit_trigger or j.exit_segment_id}
    if not journeys:
        return
    lines: list[StepLog] = []
    leaving = []
    for run in _runs_of(list(journeys.values()), people).filter(state__in=OPEN).select_for_update(of=("self",)):
        reason = listeners.exit_reason(journeys[run.journey_id], by_person[person_key(run)])
        if reason is not None:
            exit_early(run, reason, now=now, pending=lines)
            leaving.append(run)
    insert_many(lines)
    JourneyRun.objects.bulk_update(leaving, ["state", "exit_reason", "finished_at", "due_at", "waiting_for"])


def _resumes(by_person: dict[PersonKey, TriggerEvent], people: Q, listeners: Listeners, *,
             now: datetime.datetime) -> None:
    if not _any_waiting(list(by_person.values()), listeners.keys):
        return  # the usual case, asked cheaply: loading runs with all they step with costs more
    waiting = JourneyRun.objects.filter(people, state=JourneyRun.State.WAITING, waiting_for__in=listeners.keys,
                                        journey__status=Journey.Status.LIVE)
    runs = list(waiting.select_related(*RELATED).prefetch_related("journey__exclusion_segments")
                .select_for_update(of=("self",)))
    runs = [run for run in runs if by_person[person_key(run)].key == run.waiting_for]
    step_many(runs, now=now, gates=Gates(runs, settings=listeners.settings),
              events={run.pk: by_person[person_key(run)] for run in runs})


def accepting(journey: Journey, *, now: datetime.datetime) -> bool:
    """Is the journey taking new people now (live, and within its start and end dates)?"""
    return (journey.status == Journey.Status.LIVE and (journey.starts_at is None or journey.starts_at <= now)
            and (journey.ends_at is None or now < journey.ends_at))


def _serialize_entry(journey: Journey, keys: list[PersonKey]) -> None:
    """Two batches holding one person, dispatched at once by two workers, must not both see "not
    inside yet": on PostgreSQL the check and the new runs happen under a lock per (journey,
    person), taken in one order and held until the dispatch transaction ends."""
    if connection.vendor != "postgresql" or not keys:
        return
    pairs = sorted({(journey.pk * 2 + (0 if kind == "contact" else 1), pk) for kind, pk in keys})
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(k, p) FROM unnest(%s::int[], %s::int[]) AS l(k, p) "
                       "ORDER BY k, p", [[k for k, _p in pairs], [p for _k, p in pairs]])


def admitted(journey: Journey, events: list[TriggerEvent], *, now: datetime.datetime,
             settings: JourneySettings) -> list[TriggerEvent]:
    """Those of `events` (one per person) whose person may enter now: the journey's dates,
    exclusion and suppression segments (one query per segment) and its re-entry rule (one query)."""
    if not events or not accepting(journey, now=now):
        return []
    gates = Gates([JourneyRun(contact_id=e.contact_id, lead_id=e.lead_id) for e in events], settings=settings)
    barred = exclusions(journey, settings)
    events = [e for e, run in zip(events, gates.runs, strict=True)
              if not any(gates.is_member(segment, run) for _code, segment in barred)]
    rule = journey.re_entry
    if rule == Journey.ReEntry.ANY_TIME or not events:
        return events
    _serialize_entry(journey, [_key(e) for e in events])
    earlier = JourneyRun.objects.filter(_people(events), journey=journey)
    if rule == Journey.ReEntry.NEVER:
        pass
    elif rule == Journey.ReEntry.AFTER_DAYS:
        earlier = earlier.filter(Q(state__in=OPEN) | Q(entered_at__gt=now - datetime.timedelta(
            days=journey.re_entry_days or 0)))
    else:
        earlier = earlier.filter(state__in=OPEN)
    inside = {("contact", c) if c else ("lead", lead) for c, lead in earlier.values_list("contact_id", "lead_id")}
    return [e for e in events if _key(e) not in inside]


def _load_people(events: list[TriggerEvent]) -> None:
    """Set each event's person, one query per kind (a batch loads without them: most events
    start nothing)."""
    for kind, model in (("contact", Contact), ("lead", Lead)):
        ids = {getattr(e, f"{kind}_id") for e in events} - {None}
        found = model.objects.in_bulk(ids) if ids else {}
        for event in events:
            if getattr(event, f"{kind}_id") in found:
                setattr(event, kind, found[getattr(event, f"{kind}_id")])


def _starts(wave: list[TriggerEvent], listeners: Listeners, *, now: datetime.datetime) -> None:
    new_runs: list[JourneyRun] = []
    starting = [(journey, [e for e in wave if listeners.starts(journey, e)]) for journey in listeners.journeys]
    _load_people(list({id(e): e for _journey, wanted in starting for e in wanted}.values()))
    for journey, wanted in starting:
        if journey.entry_conditions:
            wanted = [e for e in wanted if segments.matches(journey.entry_conditions, person=e.person,
                                                            payload=e.payload, now=now)]
        entering = admitted(journey, wanted, now=now, settings=listeners.settings)
        if entering:
            new_runs += start_runs(journey, [(e.person, e.payload if journey.entry_trigger else {},
                                              entry_reason(journey, e)) for e in entering], now=now)
    step_many(new_runs, now=now, gates=Gates(new_runs, settings=listeners.settings))


def start_runs(journey: Journey, entrants: list[tuple[Person, dict[str, Any], dict[str, Any]]], *,
               now: datetime.datetime) -> list[JourneyRun]:
    """A run on the journey's latest version for each (person, context, entry reason), in two
    inserts whatever their number; the runs carry their journey, version and person, ready to step."""
    version = latest_version(journey)
    start = version.tiles["start"]
    runs = [JourneyRun(**person_keys(person), journey=journey, version=version, state=JourneyRun.State.ACTIVE,
                       tile_key=start, attempt=1, visits={start: 1}, due_at=now, context=context, entered_at=now)
            for person, context, _reason in entrants]
    insert_many(runs)
    insert_many([StepLog(run=run, tile_key="$entry", attempt=1, outcome="entered", at=now, reason=reason)
                 for run, (_p, _c, reason) in zip(runs, entrants, strict=True)])
    return runs


def start_run(journey: Journey, person: Person, *, context: dict[str, Any], now: datetime.datetime,
              reason: dict[str, Any]) -> JourneyRun:
    return start_runs(journey, [(person, context, reason)], now=now)[0]


def entry_reason(journey: Journey, event: TriggerEvent | None) -> dict[str, Any]:
    event_id = event.pk if event is not None else None
    if journey.entry_trigger:
        return {"code": "trigger", "key": journey.entry_trigger, "event": event_id}
    return {"code": "segment_entry", "segment": journey.entry_segment_id,
            "name": journey.entry_segment.name if journey.entry_segment_id else "", "event": event_id}


def latest_version(journey: Journey) -> JourneyVersion:
    return journey.versions.order_by("-number").first()

