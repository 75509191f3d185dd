"""The verbs of journeys: `publish` (the one door for every event) and the journey lifecycle."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from contacts.models import Contact, Lead, person_keys
from journeys import engine, tasks, triggers
from journeys.models import Journey, JourneyRun, JourneyVersion, TriggerEvent
from journeys.validation import validate_journey
from segments import services as segments

Person = Contact | Lead


# --- The event door ---------------------------------------------------------------------------------
def publish(key: str, *, person: Person, payload: dict[str, Any], source: str,
            idempotency_key: str | None = None, now: datetime.datetime) -> TriggerEvent:
    """Store the event durably and dispatch it after commit. The same idempotency key twice
    returns the first event (and dispatches nothing again)."""
    triggers.schema_for(key)  # unknown key: ValueError naming the known ones
    errors = triggers.payload_errors(key, payload)
    if errors:
        raise ValueError(f"Invalid payload for trigger {key!r}: " + "; ".join(errors))
    if idempotency_key:
        existing = TriggerEvent.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    event = TriggerEvent(**person_keys(person), key=key, payload=payload, source=source,
                         idempotency_key=idempotency_key or None, occurred_at=now)
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        if not idempotency_key:
            raise
        return TriggerEvent.objects.get(idempotency_key=idempotency_key)
    tasks.dispatch_events.delay_on_commit([event.pk], now.timestamp())
    return event


# --- Lifecycle --------------------------------------------------------------------------------------
def go_live(journey: Journey, *, now: datetime.datetime) -> JourneyVersion:
    """Validate, freeze the tiles as a new version and go live. A segment journey enters its
    segment's members once, now (set-based)."""
    errors = validate_journey(journey)
    if errors:
        raise ValidationError({tile or "journey": messages for tile, messages in errors.items()})
    with transaction.atomic():
        locked = Journey.objects.select_for_update().get(pk=journey.pk)
        number = (locked.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        version = JourneyVersion.objects.create(journey=locked, number=number, tiles=journey.tiles, created_at=now)
        Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.LIVE)
        journey.status = Journey.Status.LIVE
        for segment in (journey.entry_segment, journey.exit_segment):
            if segment is not None:
                segments.require_continuous(segment)
        if journey.entry_segment_id:
            engine.enter_segment(journey, now=now)
    return version


def pause(journey: Journey) -> None:
    """Runs stay where they are; the tick leaves them alone until the journey is live again."""
    _set_status(journey, Journey.Status.PAUSED, allowed={Journey.Status.LIVE})


def resume(journey: Journey) -> None:
    _set_status(journey, Journey.Status.LIVE, allowed={Journey.Status.PAUSED})


def _set_status(journey: Journey, status: str, *, allowed: set[str]) -> None:
    if not Journey.objects.filter(pk=journey.pk, status__in=allowed).update(status=status):
        raise ValidationError(f"A {journey.get_status_display().lower()} journey cannot become {status}.")
    journey.status = status


def stop(journey: Journey, *, now: datetime.datetime) -> int:
    """Stop the journey and exit everyone still inside with reason "stopped"; returns how many."""
    reason = {"code": "stopped"}
    with transaction.atomic():
        Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.STOPPED)
        journey.status = Journey.Status.STOPPED
        return JourneyRun.objects.filter(journey=journey).open().update(
            state=JourneyRun.State.EXITED, exit_reason=reason, finished_at=now, due_at=None, waiting_for=None)
