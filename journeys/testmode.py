"""Test mode: run a journey (a draft is fine) for one test person with a scripted timeline of
triggers and email interactions, on a simulated clock, through the real engine — then roll it all
back. Nothing is sent, stored or left behind; the result is the path the person would take.

A script item is `{"after": {"days", "hours", "minutes"}, ...}` (time since entry) plus either
`"trigger": <key>, "payload": {...}` or `"interaction": "opened" | "clicked", "tile": <send tile>,
"link"?: <url>`.
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from contacts import services as people
from contacts.models import Contact, Lead, person_keys
from journeys import triggers
from journeys.engine import dispatch, start_run, step_safely
from journeys.engine.outcomes import duration
from journeys.engine.runner import RELATED
from journeys.engine.tiles import INTERACTION_TYPES
from journeys.explain import explain
from journeys.models import Journey, JourneyRun, JourneyVersion, TriggerEvent
from journeys.validation import validate_journey

HORIZON = datetime.timedelta(days=366)  # a simulated year is enough for any journey worth testing
MAX_MOVES = 500


@dataclass(frozen=True)
class Item:
    at: datetime.datetime
    item: dict[str, Any]


class Rollback(Exception):
    """Raised inside the simulation's transaction so nothing of it is kept."""


def _items(journey: Journey, script: list[dict[str, Any]], *, now: datetime.datetime) -> list[Item]:
    """The script checked and placed on the clock; problems are ValidationErrors naming the item."""
    tiles = (journey.tiles or {}).get("tiles") or {}
    items = []
    for index, item in enumerate(script or []):
        where = f"script[{index}]"
        if not isinstance(item, dict):
            raise ValidationError({where: "each item is an object"})
        if item.get("trigger"):
            if not triggers.is_registered(item["trigger"]):
                raise ValidationError({where: f"unknown trigger {item['trigger']!r}"})
            problems = triggers.payload_errors(item["trigger"], item.get("payload") or {})
            if problems:
                raise ValidationError({where: problems})
        elif item.get("interaction") in INTERACTION_TYPES:
            tile = tiles.get(item.get("tile"))
            if not isinstance(tile, dict) or tile.get("type") != "send_email":
                raise ValidationError({where: f"tile {item.get('tile')!r} is not a send-email tile of this journey"})
        else:
            raise ValidationError({where: "give a trigger, or an interaction (opened or clicked) with its email tile"})
        after = duration(item.get("after"))
        if after < datetime.timedelta(0):
            raise ValidationError({where: "times are after entry, not before"})
        items.append(Item(now + after, item))
    return sorted(items, key=lambda i: i.at)


def test_run(journey: Journey, *, person: Contact | Lead, script: list[dict[str, Any]], now: datetime.datetime,
             entry_payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """Simulate `person` going through `journey` from `now`. Returns {"path": explain entries,
    "tiles": tile keys visited in order, "state", "exit_reason", "ended_at"}."""
    errors = validate_journey(journey)
    if errors:
        raise ValidationError({tile or "journey": messages for tile, messages in errors.items()})
    if (journey.audience == "contact") != isinstance(person, Contact):
        raise ValidationError({"person": f"this journey is for {journey.get_audience_display().lower()}"})
    items = _items(journey, script, now=now)
    if journey.entry_trigger:
        payload = entry_payload or {}
        problems = triggers.payload_errors(journey.entry_trigger, payload)
        if problems:
            raise ValidationError({"entry_payload": problems})
    result: dict[str, Any] = {}
    try:
        with transaction.atomic():  # the simulation works on a copy: the caller's object stays as it was
            result = _simulate(copy.copy(journey), person, items, now=now, payload=entry_payload or {})
            raise Rollback
    except Rollback:
        pass
    return result


def _simulate(journey: Journey, person, items: list[Item], *, now: datetime.datetime,
              payload: dict[str, Any]) -> dict[str, Any]:
    number = (journey.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    JourneyVersion.objects.create(journey=journey, number=number, tiles=journey.tiles, created_at=now)
    Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.LIVE)
    journey.status = Journey.Status.LIVE
    reason = ({"code": "trigger", "key": journey.entry_trigger, "event": None} if journey.entry_trigger else
              {"code": "segment_entry", "name": journey.entry_segment.name if journey.entry_segment_id else ""})
    run = start_run(journey, person, context=payload, now=now, reason=reason)
    clock = now
    for _ in range(MAX_MOVES):
        run = JourneyRun.objects.select_related(*RELATED).get(pk=run.pk)
        due = run.due_at if run.state in JourneyRun.OPEN_STATES else None
        if due is None and not items:
            break
        if due is not None and (not items or due <= items[0].at):
            if due > now + HORIZON:
                break
            clock = max(clock, due)
            step_safely(run, now=clock)
            continue
        item = items.pop(0)
        clock = item.at
        if item.item.get("trigger"):
            event = TriggerEvent.objects.create(**person_keys(person), key=item.item["trigger"],
                                                payload=item.item.get("payload") or {}, source="test mode",
                                                occurred_at=clock)
            dispatch([event], now=clock)
        else:
            tile = journey.tiles["tiles"][item.item["tile"]]
            people.record_interaction(person, type=INTERACTION_TYPES[item.item["interaction"]], occurred_at=clock,
                                      email_key=tile.get("email"), link=item.item.get("link") or None,
                                      journey_id=journey.pk, tile_key=item.item["tile"], source="test mode")
    run = JourneyRun.objects.select_related(*RELATED).get(pk=run.pk)
    path = explain(run)
    visited = [step.tile_key for step in run.steps.order_by("at", "id") if not step.tile_key.startswith("$")]
    return {"path": path, "tiles": visited, "state": run.state, "exit_reason": run.exit_reason,
            "ended_at": run.finished_at, "simulated_until": clock}
test_run.__test__ = False  # a product function, not a pytest test
