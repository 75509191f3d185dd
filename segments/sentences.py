"""A segment query as one readable sentence, for the builder, the segment page and anyone reading.

    describe(query, "contact")
    -> 'Contacts whose State / region is "Texas" and who made a purchase where Product is
       "cold brew" at least once in the last 90 days'

Labels come from `segments.catalog`, so the sentence names what the builder offers. It reads
broken queries too (the builder shows the sentence while the marketer is still typing): whatever
it cannot read becomes a visible placeholder rather than an exception.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from contacts.models import Topic
from segments import catalog
from segments.models import Segment
from segments.query import iter_conditions

# What each interaction reads like: (past tense for "who …", base form for "who did not …").
BEHAVIOR_PHRASES = {
    "email_delivered": ("received an email", "receive an email"),
    "email_opened": ("opened an email", "open an email"),
    "email_clicked": ("clicked a link in an email", "click a link in an email"),
    "email_bounced": ("had an email bounce", "have an email bounce"),
    "email_unsubscribed": ("unsubscribed", "unsubscribe"),
    "form_submitted": ("submitted a form", "submit a form"),
    "page_visited": ("visited a page", "visit a page"),
    "event_registered": ("registered for an event", "register for an event"),
    "event_attended": ("attended an event", "attend an event"),
    "purchase": ("made a purchase", "make a purchase"),
    "custom": ("did a custom activity", "do a custom activity"),
}
AUDIENCE_NOUNS = {"contact": "Contacts", "lead": "Leads"}
MISSING = "…"  # stands in for a value not chosen yet


def describe(query: Any, audience: str) -> str:
    """`query` (valid or not) as a sentence about the people of `audience` it selects."""
    return _Describer(query, audience).sentence()


class _Describer:
    def __init__(self, query: Any, audience: str):
        self.query = query if isinstance(query, dict) else {}
        self.audience = audience
        self.noun = AUDIENCE_NOUNS.get(audience, "People")
        self.fields = catalog.person_fields(audience)
        conditions = list(iter_conditions(self.query))
        segment_ids = {c.get("segment") for c in conditions if c.get("type") == "segment"}
        self.segment_names = dict(Segment.objects.filter(
            pk__in=[i for i in segment_ids if isinstance(i, int)]).values_list("pk", "name"))
        topic_keys = {c.get("topic") for c in conditions if c.get("type") == "consent" and c.get("topic")}
        self.topic_names = dict(Topic.objects.filter(key__in=[k for k in topic_keys if isinstance(k, str)])
                                .values_list("key", "name")) if topic_keys else {}

    def sentence(self) -> str:
        if not isinstance(self.query, dict) or not isinstance(self.query.get("conditions"), list):
            return f"{self.noun} (the query cannot be read)"
        parts = self.parts(self.query)
        if not parts:
            return f"All {self.noun.lower()}"
        match = self.query.get("match", "all")
        if match == "none":
            return f"All {self.noun.lower()} except those " + " or ".join(parts)
        return f"{self.noun} " + (" or " if match == "any" else " and ").join(parts)

    def parts(self, group: dict) -> list[str]:
        return [self.clause(c) for c in group.get("conditions") or []]

    # --- Conditions ---------------------------------------------------------------------------
    def clause(self, condition: Any) -> str:
        if not isinstance(condition, dict):
            return "(an unreadable condition)"
        kind = condition.get("type")
        handler = getattr(self, f"clause_{kind}", None) if isinstance(kind, str) else None
        return handler(condition) if handler else "(an unknown kind of condition)"

    def clause_group(self, group: dict) -> str:
        parts = self.parts(group)
        match = group.get("match", "all")
        if not parts:
            return "(no one)" if match == "any" else "(everyone)"
        if match == "none":
            return "not (" + " or ".join(parts) + ")"
        joined = (" or " if match == "any" else " and ").join(parts)
        return joined if len(parts) == 1 else f"({joined})"

    def clause_attribute(self, condition: dict) -> str:
        path = condition.get("field")
        field = self.fields.get(path) if isinstance(path, str) else None
        if field is None:
            field = catalog.Field(str(path or MISSING), str(path or MISSING), condition.get("value_type", "text"), "")
        return f"whose {field.label} {comparison(field, condition)}"

    def clause_behavior(self, condition: dict) -> str:
        past, base = BEHAVIOR_PHRASES.get(condition.get("interaction"), ("did something", "do something"))
        where = self.where(condition.get("where"), catalog.interaction_fields(), properties=True)
        count = condition.get("count") if isinstance(condition.get("count"), dict) else {}
        op, n = count.get("op", "at_least"), count.get("value", 1)
        if op in ("exactly", "at_most") and n == 0:
            text = f"who did not {base}{where}"
        else:
            how_often = {"at_least": "at least", "at_most": "at most", "exactly": "exactly"}.get(op, str(op))
            text = f"who {past}{where} {how_often} {_times(n)}"
        window = _window(condition.get("window"))
        return f"{text} {window}" if window else text

    def clause_related(self, condition: dict) -> str:
        relation = condition.get("relation")
        label = catalog.RELATIONS.get(self.audience, {}).get(relation, str(relation or MISSING))
        thing = "an opportunity" if relation == "opportunities" else f"a related {label.lower()}"
        where = self.where(condition.get("where"), catalog.related_fields(relation), properties=False)
        exists = condition.get("exists", True) is not False
        return f"who have {thing}{where}" if exists else f"who have no {thing.split(' ', 1)[1]}{where}"

    def clause_consent(self, condition: dict) -> str:
        channel = catalog.CONSENT_CHANNELS.get(condition.get("channel"), str(condition.get("channel") or MISSING))
        topic = condition.get("topic")
        scope = f' for "{self.topic_names.get(topic, topic)}"' if topic else ""
        state = condition.get("state")
        if state == "opted_in":
            return f"who opted in to {channel}{scope}"
        if state == "opted_out":
            return f"who opted out of {channel}{scope}"
        return f"whose {channel} consent{scope} is not set"

    def clause_segment(self, condition: dict) -> str:
        segment_id = condition.get("segment")
        if not isinstance(segment_id, int):
            name = "(no segment chosen)"
        else:
            name = f'"{self.segment_names[segment_id]}"' if segment_id in self.segment_names \
                else f"#{segment_id} (deleted)"
        verb = "are not in" if condition.get("op", "in") == "not_in" else "are in"
        return f"who {verb} the segment {name}"

    def where(self, rows: Any, fields: dict[str, catalog.Field], *, properties: bool) -> str:
        if not isinstance(rows, list) or not rows:
            return ""
        parts = []
        for row in rows:
            if not isinstance(row, dict):
                continue
            name = row.get("field")
            field = fields.get(name) if isinstance(name, str) else None
            if field is None and properties and isinstance(name, str) and name.startswith("properties."):
                field = catalog.property_field(name)
                field = catalog.Field(field.path, f"property {field.label or MISSING}", field.type, field.lookup)
            if field is None:
                field = catalog.Field(str(name), str(name or MISSING), "text", "")
            parts.append(f"{field.label} {comparison(field, row)}")
        return " where " + " and ".join(parts) if parts else ""


# --- Values -------------------------------------------------------------------------------------
def comparison(field: catalog.Field, condition: dict) -> str:
    """'is "Texas"', 'is between 10 and 20', 'is in the last 30 days' …"""
    op = condition.get("op")
    label = catalog.OPERATOR_LABELS.get(op, str(op or MISSING))
    value = condition.get("value")
    if op in catalog.NO_VALUE:
        return label
    if op in catalog.DAYS_VALUE:
        days = f"{value} day{'' if value == 1 else 's'}" if value not in (None, "") else f"{MISSING} days"
        return f"{label} {days} ago" if op == "more_than_days_ago" else f"{label} {days}"
    if op in catalog.PAIR_VALUE:
        low, high = (value + [None, None])[:2] if isinstance(value, list) else (None, None)
        return f"{label} {format_value(field, low)} and {format_value(field, high)}"
    if op in catalog.LIST_VALUE:
        values = value if isinstance(value, list) else [value]
        return f"{label} " + ", ".join(format_value(field, v) for v in values) if values else f"{label} {MISSING}"
    return f"{label} {format_value(field, value)}"


def format_value(field: catalog.Field, value: Any) -> str:
    if value is None or value == "":
        return MISSING
    if field.type == "number" and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return f"{value:,}" if isinstance(value, int) else format(Decimal(str(value)).normalize(), ",f")
    if field.type == "date" and isinstance(value, str):
        return _date(value) or f'"{value}"'
    return f'"{value}"'


def _date(text: str) -> str | None:
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        return None
    return f"{day:%b} {day.day}, {day.year}"


def _times(n: Any) -> str:
    if n == 1:
        return "once"
    if n == 2:
        return "twice"
    return f"{n} times"


def _window(window: Any) -> str:
    if not isinstance(window, dict) or not window:
        return ""
    if "last_days" in window:
        days = window["last_days"]
        return "in the last day" if days == 1 else f"in the last {days if days not in (None, '') else MISSING} days"
    start = _date(window["from"]) if isinstance(window.get("from"), str) else None
    end = _date(window["to"]) if isinstance(window.get("to"), str) else None
    if start and end:
        return f"between {start} and {end}"
    if start:
        return f"since {start}"
    if end:
        return f"until {end}"
    return ""
