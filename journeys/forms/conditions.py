"""Conditions in journeys (entry and attribute branches): the segment condition editor, with the
entry trigger's payload fields offered as `trigger.<field>`."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from journeys import triggers
from journeys.models import Journey
from segments import catalog as segment_catalog
from segments.forms import builder, builder_choices
from segments.forms.controls import Choices
from segments.models import Segment


def trigger_fields(trigger: str) -> dict[str, segment_catalog.Field]:
    """The entry trigger's payload fields, offered as `trigger.<field>` in conditions."""
    if not triggers.is_registered(trigger or ""):
        return {}
    properties = triggers.schema_for(trigger).get("properties") or {}
    fields = {}
    for name, schema in properties.items():
        kind = schema.get("type")
        kind = kind[0] if isinstance(kind, list) else kind
        if kind in ("object", "array"):
            continue
        path = f"trigger.{name}"
        fields[path] = segment_catalog.Field(path, f"Trigger: {name}", "number" if kind in ("number", "integer")
                                             else "text", path)
    return fields


def condition_choices(journey: Journey) -> Choices:
    """What the condition editor offers in a journey: the audience's fields plus the trigger's."""
    choices = builder_choices(Segment(audience=journey.audience))
    choices.fields = {**trigger_fields(journey.entry_trigger), **choices.fields}
    return choices


def read_conditions(data: QueryDict, query: dict[str, Any], *, journey: Journey) -> dict[str, Any]:
    """Lay the posted condition controls over `query` (in place), trigger fields included (the
    segment builder's reader knows the audience's fields; it is given the trigger's too)."""
    extra = trigger_fields(journey.entry_trigger)
    builder.read_posted(data, query, audience=journey.audience, extra_fields=extra)
    _mark_value_types(query, extra)
    return query


def _mark_value_types(group: dict[str, Any], fields: dict[str, segment_catalog.Field]) -> None:
    for condition in group.get("conditions") or []:
        if not isinstance(condition, dict):
            continue
        if condition.get("type") == "group":
            _mark_value_types(condition, fields)
        elif condition.get("field") in fields:
            if fields[condition["field"]].type == "number":
                condition["value_type"] = "number"
            else:
                condition.pop("value_type", None)
