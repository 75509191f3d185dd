"""Reads of the trigger pages and API: recent events, and which journeys each one touched."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db.models import Q, QuerySet

from journeys.models import StepLog, TriggerEvent

# How a step log line names what an event did to a run.
EFFECTS = {"$entry": "started", "$exit": "exited", "$goal": "goal reached"}


def recent_events(*, key: str = "", contact: int | None = None, lead: int | None = None,
                  since: datetime.datetime | None = None, until: datetime.datetime | None = None) -> QuerySet:
    events = TriggerEvent.objects.select_related("contact", "lead").order_by("-occurred_at", "-id")
    if key:
        events = events.filter(key=key)
    if contact:
        events = events.filter(contact_id=contact)
    if lead:
        events = events.filter(lead_id=lead)
    if since:
        events = events.filter(occurred_at__gte=since)
    if until:
        events = events.filter(occurred_at__lt=until)
    return events


def touched_journeys(events: Sequence[TriggerEvent]) -> dict[int, list[dict[str, Any]]]:
    """For each event id, the runs it started, resumed, branched, exited or brought to their goal,
    from the step log reasons that carry `"event": <id>` — one query for a page of events, narrowed
    to those events' people and times so it stays on the run and time indexes."""
    if not events:
        return {}
    ids = [e.pk for e in events]
    people = Q(run__contact_id__in={e.contact_id for e in events if e.contact_id}) | Q(
        run__lead_id__in={e.lead_id for e in events if e.lead_id})
    since = min(e.occurred_at for e in events)
    logs = (StepLog.objects.filter(people, at__gte=since, reason__event__in=ids)
            .select_related("run__journey").order_by("at", "id"))
    touched: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for log in logs:
        code = log.reason.get("code", "")
        effect = EFFECTS.get(log.tile_key) or ("resumed" if code == "trigger" else code or log.outcome)
        touched[log.reason["event"]].append({
            "journey": log.run.journey_id, "journey_name": log.run.journey.name, "run": log.run_id,
            "tile": log.tile_key, "effect": effect,
        })
    return dict(touched)
