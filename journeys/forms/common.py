"""What the journey forms share: widgets, the trigger and segment choices, time zones."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from django import forms

from journeys import triggers
from segments.models import Segment

TYPE_CHOICES = [("trigger", "Trigger-based: starts when something happens"),
                ("segment", "Segment-based: members of a segment enter")]
DURATION_PARTS = (("days", "days"), ("hours", "hours"), ("minutes", "minutes"))
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
ID_KINDS = ("user", "queue", "segment", "endpoint")  # settings stored as a row's id


@cache
def time_zones() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def trigger_choices(blank: str = "") -> list[tuple[str, Any]]:
    """Every trigger, grouped by category ("Records", "Interactions"…), as "Name (key)"."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for trigger in triggers.catalog():
        category = triggers.CATEGORIES.get(trigger.category, "Other")
        groups.setdefault(category, []).append((trigger.key, f"{trigger.name} ({trigger.key})"))
    grouped = list(groups.items())
    return [("", blank), *grouped] if blank else grouped


def ready_segments(audience: str | None = None):
    segments = Segment.objects.filter(status=Segment.Status.READY).order_by("name")
    return segments.filter(audience=audience) if audience else segments
