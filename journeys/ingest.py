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
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
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
                 checked: bool = False) -> list[TriggerEvent]:
    """Store these events in one INSERT and dispatch them after commit, DISPATCH_BATCH per task.
    Returns one TriggerEvent per input, in order; a repeated idempotency key (stored before, or
    earlier in this batch) gives the first event and stores nothing. `checked=True`: the caller
    has validated every payload against its trigger's schema already (the API does, per field)."""
    errors = {} if checked else validation_errors(events)
    if errors:
        raise InvalidEvents(errors)
    wanted = {e.idempotency_key for e in events if e.idempotency_key}
    known = {e.idempotency_key: e for e in TriggerEvent.objects.filter(idempotency_key__in=wanted)} if wanted else {}
    rows: list[TriggerEvent] = []
    result: list[TriggerEvent] = []
    for event in events:
        if event.idempotency_key and event.idempotency_key in known:
            result.append(known[event.idempotency_key])
            continue
        row = TriggerEvent(contact_id=event.contact_id, lead_id=event.lead_id, key=event.key, payload=event.payload,
                           source=source, idempotency_key=event.idempotency_key or None, occurred_at=now)
        if event.idempotency_key:
            known[event.idempotency_key] = row
        rows.append(row)
        result.append(row)
    try:
        with transaction.atomic():
            TriggerEvent.objects.bulk_create(rows, batch_size=1000)
    except IntegrityError:
        # Another request stored one of these idempotency keys meanwhile: take them one by one.
        return _publish_one_by_one(events, source=source, now=now)
    dispatch_on_commit([row.pk for row in rows], now=now)
    return result


def _publish_one_by_one(events: Sequence[NewEvent], *, source: str, now: datetime.datetime) -> list[TriggerEvent]:
    result = []
    for event in events:
        row = TriggerEvent(contact_id=event.contact_id, lead_id=event.lead_id, key=event.key, payload=event.payload,
                           source=source, idempotency_key=event.idempotency_key or None, occurred_at=now)
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            row = TriggerEvent.objects.get(idempotency_key=event.idempotency_key)
        else:
            dispatch_on_commit([row.pk], now=now)
        result.append(row)
    return result


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


def find_person(trigger: CustomTrigger, payload: dict[str, Any]) -> Person:
    """The person the payload names; a new lead when nobody matches and the trigger says so."""
    person = find_people(trigger, [payload])[0]
    if isinstance(person, PersonNotFound):
        raise person
    return person


def find_people(trigger: CustomTrigger, payloads: Sequence[dict[str, Any]]) -> list[Person | PersonNotFound]:
    """find_person for many payloads of one trigger, in two or three queries whatever their number."""
    values = [payload.get(trigger.person_field) for payload in payloads]
    if trigger.identifies in (CustomTrigger.Identifies.CONTACT_ID, CustomTrigger.Identifies.LEAD_ID):
        model = Contact if trigger.identifies == CustomTrigger.Identifies.CONTACT_ID else Lead
        found = model.objects.in_bulk([v for v in values if isinstance(v, int)])
        people = [found.get(v) if isinstance(v, int) else None for v in values]
    else:
        emails = [v.strip().lower() if isinstance(v, str) else "" for v in values]
        by_email: dict[str, Person] = {}
        # A contact wins over a lead; the oldest lead wins. Contacts are found through their unique
        # index on lower(email), leads through their email index.
        wanted = {e for e in emails if e}
        if wanted:
            by_email.update({c.email: c for c in Contact.objects.alias(email_key=Lower("email"))
                             .filter(email_key__in=wanted)})
        wanted -= set(by_email)
        if wanted:
            by_email.update({p.email: p for p in Lead.objects.filter(email__in=wanted).order_by("-pk")})
        if trigger.when_unmatched == CustomTrigger.WhenUnmatched.CREATE_LEAD:
            for email in dict.fromkeys(e for e in emails if e and e not in by_email):
                by_email[email] = Lead.objects.create(email=email, source=f"trigger {trigger.key}")
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
    production), so every web process shares it."""
    limit = rate_per_minute(key, custom)
    seconds = int(now.timestamp())
    counter = f"waymark:trigger-rate:{key}:{seconds // 60}"
    cache.add(counter, 0, timeout=120)
    try:
        used = cache.incr(counter, count)
    except ValueError:  # expired between add and incr
        cache.add(counter, 0, timeout=120)
        used = cache.incr(counter, count)
    if used > limit:
        cache.decr(counter, count)
        return 60 - seconds % 60
    return None


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
