"""Getting many events in: the bulk door (`publish_many`, one INSERT and one dispatch task per small
batch), the set-based door (`publish_selected`, one INSERT … SELECT), finding the person a custom
trigger's payload names, and the per-trigger fair-use rate.

`journeys.services.publish` stays the door for one event; these are its bulk siblings and store
exactly the same rows.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.db.models import F, JSONField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import JSONObject, Lower

from contacts.models import Contact, Lead
from journeys import triggers
from journeys.models import CustomTrigger, Journey, JourneyRun, TriggerEvent
from journeys.tasks import dispatch_on_commit

Person = Contact | Lead
DEFAULT_RATE_PER_MINUTE = 60_000


@dataclass
class NewEvent:
    """One event to store: its trigger key, whose it is (contact or lead id), and its payload."""

    key: str
    payload: dict[str, Any]
    contact_id: int | None = None
    lead_id: int | None = None
    idempotency_key: str | None = None

    @classmethod
    def of(cls, key: str, person: Person, payload: dict[str, Any], idempotency_key: str | None = None) -> NewEvent:
        if isinstance(person, Contact):
            return cls(key, payload, contact_id=person.pk, idempotency_key=idempotency_key)
        return cls(key, payload, lead_id=person.pk, idempotency_key=idempotency_key)


class InvalidEvents(ValueError):
    """Some events break their trigger's schema: `errors` maps the event's index to its problems."""

    def __init__(self, errors: dict[int, list[str]]):
        self.errors = errors
        first = next(iter(errors.items()))
        super().__init__(f"{len(errors)} invalid event(s); event {first[0]}: " + "; ".join(first[1]))


def publish_many(events: Sequence[NewEvent], *, source: str, now: datetime.datetime,
                 checked: bool = False, unheard_as_dispatched: bool = False) -> list[TriggerEvent]:
    """Store these events in one INSERT and dispatch them after commit, DISPATCH_BATCH per task.
    Returns one TriggerEvent per input, in order; a repeated idempotency key (stored before, or
    earlier in this batch) gives the first event and stores nothing. `checked=True`: the caller
    has validated every payload against its trigger's schema already (the API does, per field).
    `unheard_as_dispatched=True`: events of keys nothing listens to now (`has_listeners`) are
    stored as dispatched, with no dispatch to wait for (for busy internal facts such as "email
    delivered": two queries per key rather than a dispatch transaction per batch)."""
    errors = {} if checked else validation_errors(events)
    if errors:
        raise InvalidEvents(errors)
    stored = store_many(events, source=source, now=now, unheard_as_dispatched=unheard_as_dispatched)
    rows: dict[int, TriggerEvent] = {}
    for event, done in zip(events, stored, strict=True):
        if done.new:
            rows[done.pk] = TriggerEvent(pk=done.pk, contact_id=event.contact_id, lead_id=event.lead_id,
                                         key=event.key, payload=event.payload, source=source,
                                         idempotency_key=event.idempotency_key or None, occurred_at=now,
                                         dispatched_at=done.dispatched_at)
            rows[done.pk]._state.adding = False
    rows.update(TriggerEvent.objects.in_bulk([done.pk for done in stored if done.pk not in rows]))
    return [rows[done.pk] for done in stored]


class StoredEvent(NamedTuple):
    """What store_many did with one event: the stored event's id, whose it is, when it occurred,
    and whether this call stored it (False: its idempotency key was seen before, or earlier in the
    same call, and this is that first event)."""

    pk: int
    key: str
    contact_id: int | None
    lead_id: int | None
    occurred_at: datetime.datetime
    new: bool
    dispatched_at: datetime.datetime | None = None


def store_many(events: Sequence[NewEvent], *, source: str, now: datetime.datetime,
               unheard_as_dispatched: bool = False) -> list[StoredEvent]:
    """publish_many without model instances (the intake API answers 1,000 events a request): store
    these checked events in one INSERT, dispatch the new ones after commit, and return one
    StoredEvent per input, in order. (`unheard_as_dispatched`: see publish_many.)"""
    fresh: list[int] = []  # index of each event to insert: the first of each idempotency key
    keys: set[str] = set()
    for index, event in enumerate(events):
        if not event.idempotency_key or event.idempotency_key not in keys:
            fresh.append(index)
            if event.idempotency_key:
                keys.add(event.idempotency_key)
    unheard = {key for key in {events[index].key for index in fresh} if not has_listeners(key)} \
        if unheard_as_dispatched else set()
    quiet = [index for index in fresh if events[index].key in unheard]
    heard = [index for index in fresh if events[index].key not in unheard]
    stored_ids = dict(zip(heard, _insert_new([events[index] for index in heard], source=source, now=now),
                          strict=True))
    stored_ids |= dict(zip(quiet, _insert_new([events[index] for index in quiet], source=source, now=now,
                                              dispatched_at=now), strict=True))
    ids = [stored_ids[index] for index in fresh]
    earlier: dict[str, StoredEvent] = {}
    seen = [events[index].idempotency_key for index, pk in zip(fresh, ids, strict=True) if pk is None]
    if seen:  # stored before this call: answer with those events
        for pk, key, contact_id, lead_id, occurred_at, idempotency_key in TriggerEvent.objects.filter(
                idempotency_key__in=seen).values_list("pk", "key", "contact_id", "lead_id", "occurred_at",
                                                       "idempotency_key"):
            earlier[idempotency_key] = StoredEvent(pk, key, contact_id, lead_id, occurred_at, False)
    answers: dict[int, StoredEvent] = {}
    firsts: dict[str, StoredEvent] = {}
    for index, pk in zip(fresh, ids, strict=True):
        event = events[index]
        answers[index] = (StoredEvent(pk, event.key, event.contact_id, event.lead_id, now, True,
                                      now if event.key in unheard else None) if pk is not None
                          else earlier[event.idempotency_key])
        if event.idempotency_key:
            firsts[event.idempotency_key] = answers[index]._replace(new=False)
    dispatch_on_commit([stored_ids[index] for index in heard if stored_ids[index] is not None], now=now)
    return [answers.get(index) or firsts[event.idempotency_key] for index, event in enumerate(events)]


EVENT_COLUMNS = ("contact_id", "lead_id", "key", "payload", "source", "idempotency_key", "occurred_at")


def _insert_new(events: list[NewEvent], *, source: str, now: datetime.datetime,
                dispatched_at: datetime.datetime | None = None) -> list[int | None]:
    """INSERT the events (distinct idempotency keys) in one statement, skipping keys stored
    before (ON CONFLICT DO NOTHING: no savepoint, no retry one by one); the id of each event
    stored, None for those skipped.

    The rows travel as one JSON array parameter, unpacked by the database, not as seven
    parameters a row: psycopg spends ~30 ms splitting and quoting a 7,000-parameter statement."""
    if not events:
        return []
    q = connection.ops.quote_name
    data = json.dumps([[e.contact_id, e.lead_id, e.key, json.dumps(e.payload), e.idempotency_key or None]
                       for e in events])
    if connection.vendor == "postgresql":
        fields = ("(r.value->>0)::bigint, (r.value->>1)::bigint, r.value->>2, (r.value->>3)::jsonb, %s, "
                  "r.value->>4, %s, %s::timestamptz")
        source_rows = "json_array_elements(CAST(%s AS json)) WITH ORDINALITY AS r(value, position)"
        order = "r.position"
    else:
        fields = ", ".join(f"json_extract(r.value, '$[{n}]')" for n in range(4)) + ", %s, " \
            "json_extract(r.value, '$[4]'), %s, %s"
        source_rows, order = "json_each(%s) AS r WHERE true", "r.key"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(TriggerEvent._meta.db_table)} "
            f"({', '.join(q(c) for c in (*EVENT_COLUMNS, 'dispatched_at'))}) "
            f"SELECT {fields} FROM {source_rows} ORDER BY {order} "
            f"ON CONFLICT ({q('idempotency_key')}) DO NOTHING RETURNING {q('id')}, {q('idempotency_key')}",
            [source, connection.ops.adapt_datetimefield_value(now),
             connection.ops.adapt_datetimefield_value(dispatched_at), data])
        returned = sorted(cursor.fetchall())  # ids grow in the order the rows were inserted
    keys = {key for _, key in returned if key is not None}
    inserted = [i for i, e in enumerate(events) if not e.idempotency_key or e.idempotency_key in keys]
    ids: list[int | None] = [None] * len(events)
    for index, (pk, _) in zip(inserted, returned, strict=True):
        ids[index] = pk
    return ids


def validation_errors(events: Iterable[NewEvent]) -> dict[int, list[str]]:
    """Schema problems by event index (each trigger's schema looked up once)."""
    schemas: dict[str, dict[str, Any] | None] = {}
    errors: dict[int, list[str]] = {}
    for index, event in enumerate(events):
        if event.key not in schemas:
            trigger = triggers.get(event.key)
            schemas[event.key] = trigger.schema if trigger else None
        schema = schemas[event.key]
        if schema is None:
            errors[index] = [f"key: unknown trigger {event.key!r}"]
        elif (event.contact_id is None) == (event.lead_id is None):
            errors[index] = ["person: give exactly one of a contact or a lead"]
        else:
            problems = triggers.payload_errors(event.key, event.payload, schema=schema)
            if problems:
                errors[index] = problems
    return errors


def publish_selected(key: str, *, people_sql: str, params: Sequence[Any], payload: dict[str, Any], source: str,
                     now: datetime.datetime) -> int:
    """Set-based door: one event per row of `people_sql` (columns contact_id, lead_id), all with
    the same payload, stored by one INSERT … SELECT in the caller's transaction and dispatched
    after commit. Returns how many were stored."""
    problems = triggers.payload_errors(key, payload)
    if problems:
        raise ValueError(f"Invalid payload for trigger {key!r}: " + "; ".join(problems))
    table, q = TriggerEvent._meta.db_table, connection.ops.quote_name
    at = connection.ops.adapt_datetimefield_value(now)
    columns = ", ".join(q(c) for c in ("contact_id", "lead_id", "key", "payload", "source", "occurred_at"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(table)} ({columns}) "
            f"SELECT s.contact_id, s.lead_id, %s, %s, %s, %s FROM ({people_sql}) s RETURNING id",
            [key, json.dumps(payload), source, at, *params],
        )
        ids = [row[0] for row in cursor.fetchall()]
    dispatch_on_commit(ids, now=now)
    return len(ids)


def publish_rows(key: str, people: QuerySet, *, payload: dict[str, Any], source: str,
                 now: datetime.datetime) -> int:
    """Set-based door for per-person payloads: one event per contact or lead of `people`, its
    payload built in SQL from `payload` (name -> field name, expression, or a constant JSON value
    in `json_value`), stored by one INSERT … SELECT and dispatched after commit. Returns how many."""
    person = "contact_id" if people.model is Contact else "lead_id"
    fields = {name: F(value) if isinstance(value, str) else value for name, value in payload.items()}
    rows = people.order_by().values(person_id=F("pk"), payload_json=JSONObject(**fields))
    select, params = rows.query.sql_with_params()
    table, q = TriggerEvent._meta.db_table, connection.ops.quote_name
    columns = ", ".join(q(c) for c in (person, "key", "payload", "source", "occurred_at"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(table)} ({columns}) SELECT s.person_id, %s, s.payload_json, %s, %s "
            f"FROM ({select}) s RETURNING id",
            [key, source, connection.ops.adapt_datetimefield_value(now), *params],
        )
        ids = [row[0] for row in cursor.fetchall()]
    dispatch_on_commit(ids, now=now)
    return len(ids)


def json_value(value: Any) -> RawSQL:
    """A constant JSON value (a list, an object) inside a payload built by publish_rows."""
    template = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "json(%s)"
    return RawSQL(template, [json.dumps(value)], output_field=JSONField())


# --- Custom triggers fired by integrations ------------------------------------------------------------
class PersonNotFound(LookupError):
    pass


class StaleTrigger(Exception):
    """The custom trigger changed, or went, since its definition was read: read it again."""


PersonIds = tuple[int | None, int | None]  # (contact_id, lead_id)


def fire(trigger: CustomTrigger, payload: dict[str, Any], *, idempotency_key: str | None, source: str,
         now: datetime.datetime) -> StoredEvent:
    """Store one event an integration fired (its payload checked against the trigger's schema
    already) and dispatch it after commit. The answer's `new` is False when the idempotency key
    was stored before: the event is then that first one. Raises PersonNotFound, or StaleTrigger
    when the trigger's row changed since `trigger` was read.

    The usual case is one statement in autocommit: INSERT … SELECT the contact the payload names,
    while the trigger row is as read, ON CONFLICT (idempotency key) DO NOTHING. Anything else (a
    replay, a lead, nobody, a changed trigger) takes the careful path."""
    stored = _insert_for_contact(trigger, payload, idempotency_key=idempotency_key, source=source, now=now)
    if stored is not None:
        dispatch_on_commit([stored[0]], now=now)
        return StoredEvent(stored[0], trigger.key, stored[1], stored[2], now, True)
    if idempotency_key:
        first = stored_event(idempotency_key)
        if first is not None:
            return first
    if not CustomTrigger.objects.filter(pk=trigger.pk, active=True, updated_at=trigger.updated_at).exists():
        raise StaleTrigger(trigger.key)
    person = find_person_ids(trigger, [payload])[0]
    if isinstance(person, PersonNotFound):
        raise person
    return store_many([NewEvent(trigger.key, payload, *person, idempotency_key=idempotency_key)],
                      source=source, now=now)[0]


def stored_event(idempotency_key: str) -> StoredEvent | None:
    """The event stored with this idempotency key, if any."""
    row = (TriggerEvent.objects.filter(idempotency_key=idempotency_key)
           .values_list("pk", "key", "contact_id", "lead_id", "occurred_at").first())
    return StoredEvent(*row, new=False) if row is not None else None


def _insert_for_contact(trigger: CustomTrigger, payload: dict[str, Any], *, idempotency_key: str | None,
                        source: str, now: datetime.datetime) -> tuple[int, int | None, int | None] | None:
    """INSERT the event for the contact (or, by id, the lead) the payload names, in one statement,
    only while the trigger row is unchanged and active; (id, contact_id, lead_id), or None when
    nothing was stored."""
    value = payload.get(trigger.person_field)
    if trigger.identifies == CustomTrigger.Identifies.EMAIL:
        if not isinstance(value, str) or not value.strip():
            return None
        model, person, match = Contact, "p.id, NULL", "LOWER(p.email) = %s"
        value = value.strip().lower()
    elif not isinstance(value, int) or isinstance(value, bool):
        return None
    elif trigger.identifies == CustomTrigger.Identifies.CONTACT_ID:
        model, person, match = Contact, "p.id, NULL", "p.id = %s"
    else:
        model, person, match = Lead, "NULL, p.id", "p.id = %s"
    q, ops = connection.ops.quote_name, connection.ops
    sql = (f"INSERT INTO {q(TriggerEvent._meta.db_table)} ({', '.join(q(c) for c in EVENT_COLUMNS)}) "
           f"SELECT {person}, %s, %s, %s, %s, %s FROM {q(model._meta.db_table)} p WHERE {match} "
           f"AND EXISTS (SELECT 1 FROM {q(CustomTrigger._meta.db_table)} t "
           f"WHERE t.id = %s AND t.active AND t.updated_at = %s) "
           f"ON CONFLICT ({q('idempotency_key')}) DO NOTHING RETURNING id, contact_id, lead_id")
    params = [trigger.key, TriggerEvent._meta.get_field("payload").get_db_prep_save(payload, connection), source,
              idempotency_key, ops.adapt_datetimefield_value(now), value, trigger.pk,
              ops.adapt_datetimefield_value(trigger.updated_at)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def find_person(trigger: CustomTrigger, payload: dict[str, Any]) -> Person:
    """The person the payload names; a new lead when nobody matches and the trigger says so."""
    person = find_people(trigger, [payload])[0]
    if isinstance(person, PersonNotFound):
        raise person
    return person


def find_people(trigger: CustomTrigger, payloads: Sequence[dict[str, Any]]) -> list[Person | PersonNotFound]:
    """find_person for many payloads of one trigger, in a few queries whatever their number."""
    found = find_person_ids(trigger, payloads)
    contacts = Contact.objects.in_bulk([ids[0] for ids in found if isinstance(ids, tuple) and ids[0]])
    leads = Lead.objects.in_bulk([ids[1] for ids in found if isinstance(ids, tuple) and ids[1]])
    return [ids if isinstance(ids, PersonNotFound) else contacts[ids[0]] if ids[0] else leads[ids[1]]
            for ids in found]


def find_person_ids(trigger: CustomTrigger, payloads: Sequence[dict[str, Any]]) -> list[PersonIds | PersonNotFound]:
    """(contact_id, lead_id) of the person each payload names, in two or three queries whatever
    their number: a contact wins over a lead, the oldest lead wins; a new lead when nobody matches
    and the trigger says so."""
    values = [payload.get(trigger.person_field) for payload in payloads]
    people: list[PersonIds | None]
    if trigger.identifies in (CustomTrigger.Identifies.CONTACT_ID, CustomTrigger.Identifies.LEAD_ID):
        is_contact = trigger.identifies == CustomTrigger.Identifies.CONTACT_ID
        ids = {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
        model = Contact if is_contact else Lead
        existing = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
        people = [((v, None) if is_contact else (None, v)) if v in existing else None for v in values]
    else:
        emails = [v.strip().lower() if isinstance(v, str) else "" for v in values]
        by_email: dict[str, PersonIds] = {}
        # Emails are stored lower-cased; contacts are found through their unique index on lower(email),
        # leads through their email index.
        wanted = {e for e in emails if e}
        if wanted:
            by_email.update({email: (pk, None) for pk, email in Contact.objects.annotate(email_key=Lower("email"))
                             .filter(email_key__in=wanted).values_list("pk", "email_key")})
        wanted -= set(by_email)
        if wanted:
            by_email.update({email: (None, pk) for pk, email in Lead.objects.filter(email__in=wanted)
                             .order_by("-pk").values_list("pk", "email")})
        if trigger.when_unmatched == CustomTrigger.WhenUnmatched.CREATE_LEAD:
            for email in dict.fromkeys(e for e in emails if e and e not in by_email):
                by_email[email] = (None, Lead.objects.create(email=email, source=f"trigger {trigger.key}").pk)
        people = [by_email.get(e) for e in emails]
    return [person if person is not None else PersonNotFound(
        f"{trigger.person_field}: no {trigger.get_identifies_display().lower()} matches {value!r}")
        for person, value in zip(people, values, strict=True)]


# --- Fair use ---------------------------------------------------------------------------------------
def rate_per_minute(key: str, custom: CustomTrigger | None = None) -> int:
    """Events per minute the API accepts for this trigger: the custom trigger's own limit, else
    WAYMARK_TRIGGER_RATE_LIMITS[key], else WAYMARK_TRIGGER_RATE_PER_MINUTE (settings)."""
    if custom is None:
        custom = CustomTrigger.objects.filter(key=key).first()
    if custom is not None and custom.rate_limit_per_minute:
        return custom.rate_limit_per_minute
    per_key = getattr(settings, "WAYMARK_TRIGGER_RATE_LIMITS", {})
    return per_key.get(key) or getattr(settings, "WAYMARK_TRIGGER_RATE_PER_MINUTE", DEFAULT_RATE_PER_MINUTE)


def take_rate(key: str, count: int, *, now: datetime.datetime, custom: CustomTrigger | None = None) -> int | None:
    """Count `count` events against this minute's allowance; None if they fit, else the seconds
    until the next minute (nothing is counted then). The counter lives in the cache (Redis in
    production), so every web process shares it; counting is one cache round trip."""
    limit = rate_per_minute(key, custom)
    seconds = int(now.timestamp())
    counter = _rate_counter(key, now)
    if _add_to_counter(counter, count) > limit:
        _add_to_counter(counter, -count)
        return 60 - seconds % 60
    return None


def give_back_rate(key: str, count: int, *, now: datetime.datetime) -> None:
    """Uncount events take_rate counted that were not stored after all (replays of a stored event)."""
    _add_to_counter(_rate_counter(key, now), -count)


def _rate_counter(key: str, now: datetime.datetime) -> str:
    return f"waymark:trigger-rate:{key}:{int(now.timestamp()) // 60}"


def _add_to_counter(counter: str, count: int) -> int:
    """Add `count` to a counter that lives two minutes and return its new value. On Redis: INCRBY
    and EXPIRE in one pipelined round trip (Django's incr costs two, and add one more)."""
    client = _redis_client()
    if client is not None:
        name = cache.make_and_validate_key(counter)
        pipe = client.pipeline(transaction=False)
        pipe.incrby(name, count)
        pipe.expire(name, 120)
        return pipe.execute()[0]
    try:
        return cache.incr(counter, count)
    except ValueError:  # no counter yet this minute (or it expired)
        if cache.add(counter, count, timeout=120):
            return count
        return cache.incr(counter, count)


_redis_clients: dict[int, tuple[Any, Any]] = {}


def _redis_client() -> Any:
    """The redis-py client behind the default cache when it is Django's RedisCache, else None.
    Kept per cache object: redis-py copies its response callbacks for every client it builds,
    and Django's RedisCache builds one per call."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    kept = _redis_clients.get(id(backend))
    if kept is not None and kept[0] is backend:
        return kept[1]
    if len(_redis_clients) >= 64:
        _redis_clients.clear()
    client = backend._cache.get_client(write=True)  # Django's client wrapper has no public accessor
    _redis_clients[id(backend)] = (backend, client)
    return client


def has_listeners(key: str) -> bool:
    """Does anything react to `key` now: a live or paused journey entering on it, a journey exiting
    or scoring a goal on it, or a run waiting for it? (Events no one would hear are not worth a
    transaction each: a big segment refresh stays one INSERT … SELECT, or none.)"""
    live = [Journey.Status.LIVE, Journey.Status.PAUSED]
    listening = Q(entry_trigger=key, status__in=live) | Q(exit_trigger=key) | Q(goal_trigger=key)
    if key == "segment.entered":  # continuous entry, and exits and goals by segment, react to these at once
        listening |= Q(entry_segment__isnull=False, entry_mode=Journey.EntryMode.CONTINUOUS, status__in=live)
        listening |= Q(exit_segment__isnull=False, status__in=live) | Q(goal_segment__isnull=False, status__in=live)
    journeys = Journey.objects.filter(listening).exclude(status=Journey.Status.DRAFT)
    return journeys.exists() or JourneyRun.objects.filter(waiting_for=key).open().exists()
