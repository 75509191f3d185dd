"""The verbs of journeys: `publish` (the one door for every event) and the journey lifecycle."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count

from contacts.models import Contact, Lead, person_keys
from journeys import catalog, engine, tasks, triggers
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
    tasks.dispatch_on_commit([event.pk], now=now)
    return event


# --- Lifecycle --------------------------------------------------------------------------------------
def _require_valid(journey: Journey) -> None:
    errors = validate_journey(journey)
    if errors:
        raise ValidationError({tile or "journey": messages for tile, messages in errors.items()})


def _freeze(journey: Journey, *, now: datetime.datetime) -> JourneyVersion:
    """The draft tiles as version n+1 (call inside a transaction holding the journey's row lock)."""
    number = (journey.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    return JourneyVersion.objects.create(journey=journey, number=number, tiles=journey.tiles, created_at=now)


def go_live(journey: Journey, *, now: datetime.datetime) -> JourneyVersion:
    """Validate, freeze the tiles as a new version and go live. A one-time segment journey enters
    its segment's members now (set-based) unless it is scheduled for later; a repeating one is
    scheduled; a continuous one enters everyone now and newcomers as they qualify."""
    _require_valid(journey)
    with transaction.atomic():
        Journey.objects.select_for_update().get(pk=journey.pk)
        if journey.status not in (Journey.Status.DRAFT, Journey.Status.STOPPED):
            raise ValidationError(f"A {journey.get_status_display().lower()} journey cannot go live again; "
                                  "create a new version instead.")
        version = _freeze(journey, now=now)
        journey.status = Journey.Status.LIVE
        journey.next_entry_at = engine.first_entry_at(journey, now=now)
        Journey.objects.filter(pk=journey.pk).update(status=journey.status, next_entry_at=journey.next_entry_at)
        for segment in (journey.entry_segment, journey.exit_segment, journey.goal_segment):
            if segment is not None:
                segments.require_continuous(segment)
        if journey.entry_segment_id:
            engine.enter_due_segments(now=now, journeys=[journey.pk])
    return version


def new_version(journey: Journey, *, now: datetime.datetime, move_runs: bool) -> JourneyVersion:
    """Freeze the edited draft of a live (or paused) journey as its next version. New entrants take
    it; people inside finish the version they are on, or with `move_runs` move to the tile of the
    same key in the new version (those whose tile is gone stay on their version)."""
    _require_valid(journey)
    with transaction.atomic():
        locked = Journey.objects.select_for_update().get(pk=journey.pk)
        if locked.status not in (Journey.Status.LIVE, Journey.Status.PAUSED):
            raise ValidationError("Only a live or paused journey gets new versions; a draft simply goes live.")
        version = _freeze(journey, now=now)
        if move_runs:
            JourneyRun.objects.filter(journey=journey, tile_key__in=list(version.tiles["tiles"])).open().exclude(
                version=version).update(version=version)
    return version


def version_preview(journey: Journey) -> list[dict[str, Any]]:
    """Where the people inside stand (tile, count) and whether the draft still has that tile."""
    draft = (journey.tiles or {}).get("tiles") or {}
    rows = (JourneyRun.objects.filter(journey=journey).open().values("tile_key", "version__number")
            .annotate(count=Count("id")).order_by("version__number", "tile_key"))
    return [{"tile": row["tile_key"], "version": row["version__number"], "count": row["count"],
             "label": catalog.label(draft[row["tile_key"]]) if row["tile_key"] in draft else row["tile_key"],
             "in_new_version": row["tile_key"] in draft} for row in rows]


def clone(journey: Journey, *, user=None) -> Journey:
    """A draft copy: same entry, governance and tiles, no runs or versions."""
    with transaction.atomic():
        copy = Journey.objects.get(pk=journey.pk)
        copy.pk = copy.id = None
        copy.name = f"Copy of {journey.name}"[:200]
        copy.status, copy.next_entry_at, copy.created_by = Journey.Status.DRAFT, None, user
        copy._state.adding = True
        copy.save()
        copy.exclusion_segments.set(journey.exclusion_segments.all())
    return copy


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
        _set_status(journey, Journey.Status.STOPPED, allowed={Journey.Status.LIVE, Journey.Status.PAUSED})
        return JourneyRun.objects.filter(journey=journey).open().update(
            state=JourneyRun.State.EXITED, exit_reason=reason, finished_at=now, due_at=None, waiting_for=None)
