"""The segment query format, version 1, and its validator.

A query is a group: ``{"version": 1, "match": "all"|"any"|"none", "conditions": [...]}``.
Conditions are groups (``"type": "group"``), attribute, related-record, behavior, consent and
segment-membership conditions. The full format is documented in ``segments/query-v1.schema.json``
and in the README. Validation returns every problem with the path of the condition it is in.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from segments import catalog

VERSION = 1
MAX_DEPTH = 6
MAX_CONDITIONS = 200


@dataclass(frozen=True)
class QueryError:
    path: str  # e.g. "conditions[1].conditions[0].value"
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def empty_query() -> dict[str, Any]:
    return {"version": VERSION, "match": "all", "conditions": []}


def iter_conditions(group: dict[str, Any]):
    """Every condition in a group, depth first (groups included)."""
    for condition in group.get("conditions", []) or []:
        if isinstance(condition, dict):
            yield condition
            if condition.get("type") == "group":
                yield from iter_conditions(condition)


def referenced_segments(query: dict[str, Any]) -> set[int]:
    return {
        c["segment"] for c in iter_conditions(query)
        if c.get("type") == "segment" and isinstance(c.get("segment"), int)
    }


class _Validator:
    def __init__(self, audience: str, allow_trigger: bool, segment_audiences: dict[int, str]):
        self.audience = audience
        self.allow_trigger = allow_trigger
        self.segment_audiences = segment_audiences
        self.fields = catalog.person_fields(audience)
        self.errors: list[QueryError] = []
        self.count = 0

    def error(self, path: str, message: str) -> None:
        self.errors.append(QueryError(path, message))

    def group(self, group: Any, path: str, depth: int) -> None:
        if not isinstance(group, dict):
            return self.error(path, "must be an object")
        if group.get("match") not in catalog.GROUP_MATCHES:
            self.error(_join(path, "match"), "must be one of all, any, none")
        conditions = group.get("conditions")
        if not isinstance(conditions, list):
            return self.error(_join(path, "conditions"), "must be a list")
        if depth > MAX_DEPTH:
            return self.error(path, f"groups nest at most {MAX_DEPTH} deep")
        for index, condition in enumerate(conditions):
            self.condition(condition, _join(path, f"conditions[{index}]"), depth)

    def condition(self, condition: Any, path: str, depth: int) -> None:
        self.count += 1
        if self.count == MAX_CONDITIONS + 1:
            self.error("", f"a query has at most {MAX_CONDITIONS} conditions")
        if not isinstance(condition, dict):
            return self.error(path, "must be an object")
        kind = condition.get("type")
        handler = {
            "group": lambda: self.group(condition, path, depth + 1),
            "attribute": lambda: self.attribute(condition, path),
            "related": lambda: self.related(condition, path),
            "behavior": lambda: self.behavior(condition, path),
            "consent": lambda: self.consent(condition, path),
            "segment": lambda: self.segment(condition, path),
        }.get(kind)
        if handler is None:
            return self.error(_join(path, "type"), f"unknown condition type {kind!r}; expected group, attribute, "
                              "related, behavior, consent or segment")
        handler()

    def attribute(self, condition: dict, path: str) -> None:
        field_path = condition.get("field")
        if isinstance(field_path, str) and field_path.startswith("trigger."):
            if not self.allow_trigger:
                return self.error(_join(path, "field"), "trigger fields can only be used in journey conditions")
            field = catalog.Field(field_path, field_path, condition.get("value_type", "text"), field_path)
            if field.type not in catalog.OPERATORS:
                return self.error(_join(path, "value_type"), f"unknown value type {field.type!r}")
        else:
            field = self.fields.get(field_path)
            if field is None:
                return self.error(_join(path, "field"), f"unknown {self.audience} field {field_path!r}")
        self.comparison(field, condition, path)

    def comparison(self, field: catalog.Field, condition: dict, path: str) -> None:
        op = condition.get("op")
        allowed = catalog.OPERATORS[field.type]
        if op not in allowed:
            return self.error(_join(path, "op"), f"{op!r} does not apply to {field.label} ({field.type}); "
                              f"use one of {', '.join(allowed)}")
        value = condition.get("value")
        problem = _value_problem(field, op, value)
        if problem:
            self.error(_join(path, "value"), problem)

    def filters(self, where: Any, fields: dict[str, catalog.Field], path: str, allow_properties: bool) -> None:
        if where is None:
            return
        if not isinstance(where, list):
            return self.error(path, "must be a list of conditions")
        for index, condition in enumerate(where):
            item_path = _join(path, f"[{index}]", dot=False)
            if not isinstance(condition, dict):
                self.error(item_path, "must be an object")
                continue
            name = condition.get("field")
            field = fields.get(name)
            if field is None and allow_properties and isinstance(name, str) and name.startswith("properties.") \
                    and len(name) > len("properties."):
                field = catalog.property_field(name)
            if field is None:
                self.error(_join(item_path, "field"), f"unknown field {name!r}; expected one of "
                           f"{', '.join(fields)}" + (" or properties.<name>" if allow_properties else ""))
                continue
            self.comparison(field, condition, item_path)

    def related(self, condition: dict, path: str) -> None:
        relation = condition.get("relation")
        if relation not in catalog.RELATIONS[self.audience]:
            return self.error(_join(path, "relation"), f"{self.audience}s have no related {relation!r}")
        if not isinstance(condition.get("exists", True), bool):
            self.error(_join(path, "exists"), "must be true or false")
        self.filters(condition.get("where"), catalog.related_fields(relation), _join(path, "where"), False)

    def behavior(self, condition: dict, path: str) -> None:
        if condition.get("interaction") not in catalog.INTERACTION_TYPES:
            self.error(_join(path, "interaction"), f"unknown interaction type {condition.get('interaction')!r}")
        self.filters(condition.get("where"), catalog.interaction_fields(), _join(path, "where"), True)
        count = condition.get("count", {"op": "at_least", "value": 1})
        if not isinstance(count, dict) or count.get("op") not in catalog.COUNT_OPERATORS:
            self.error(_join(path, "count.op"), "must be one of at_least, at_most, exactly")
        elif not _is_whole(count.get("value")) or count["value"] < 0:
            self.error(_join(path, "count.value"), "must be a whole number, 0 or more")
        self.window(condition.get("window"), _join(path, "window"))

    def window(self, window: Any, path: str) -> None:
        if window is None:
            return
        if not isinstance(window, dict) or not window:
            return self.error(path, 'must be {"last_days": N} or {"from": date, "to": date}')
        if "last_days" in window:
            if not _is_whole(window["last_days"]) or window["last_days"] < 1:
                self.error(_join(path, "last_days"), "must be a whole number of days, at least 1")
            return
        start, end = _parse_date(window.get("from")), _parse_date(window.get("to"))
        if window.get("from") is not None and start is None:
            self.error(_join(path, "from"), "must be a date (YYYY-MM-DD)")
        if window.get("to") is not None and end is None:
            self.error(_join(path, "to"), "must be a date (YYYY-MM-DD)")
        if start is None and end is None and "from" not in window and "to" not in window:
            self.error(path, 'must be {"last_days": N} or {"from": date, "to": date}')
        if start and end and start > end:
            self.error(path, "from must not be after to")

    def consent(self, condition: dict, path: str) -> None:
        if condition.get("channel") not in catalog.CONSENT_CHANNELS:
            self.error(_join(path, "channel"), f"unknown channel {condition.get('channel')!r}")
        if condition.get("state") not in catalog.CONSENT_STATES:
            self.error(_join(path, "state"), "must be one of opted_in, opted_out, not_set")
        topic = condition.get("topic")
        if topic is not None and not isinstance(topic, str):
            self.error(_join(path, "topic"), "must be a topic key or null")

    def segment(self, condition: dict, path: str) -> None:
        if condition.get("op", "in") not in ("in", "not_in"):
            self.error(_join(path, "op"), "must be in or not_in")
        segment_id = condition.get("segment")
        audience = self.segment_audiences.get(segment_id) if isinstance(segment_id, int) else None
        if audience is None:
            self.error(_join(path, "segment"), f"no segment with id {segment_id!r}")
        elif audience != self.audience:
            self.error(_join(path, "segment"), f"segment {segment_id} is a {audience} segment, not a "
                       f"{self.audience} segment")


def validate_query(
    query: Any,
    *,
    audience: str,
    segment_audiences: dict[int, str],
    allow_trigger: bool = False,
) -> list[QueryError]:
    """Every problem in `query`, or [] if it is valid. Cycles are checked by the caller."""
    if not isinstance(query, dict):
        return [QueryError("", "a query must be an object")]
    validator = _Validator(audience, allow_trigger, segment_audiences)
    if query.get("version", VERSION) != VERSION:
        validator.error("version", f"unsupported version {query.get('version')!r}; this Waymark reads {VERSION}")
    validator.group(query, "", 0)
    return validator.errors


# --- Values -------------------------------------------------------------------------------------
def _join(path: str, part: str, dot: bool = True) -> str:
    if not path:
        return part
    return f"{path}.{part}" if dot else f"{path}{part}"


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_date(value: Any) -> datetime.date | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def _scalar_problem(field: catalog.Field, value: Any) -> str | None:
    if field.type == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{value!r} is not a number"
    elif field.type == "date":
        if _parse_date(value) is None:
            return f"{value!r} is not a date (YYYY-MM-DD)"
    elif field.type == "choice":
        if field.choices and value not in field.choices:
            return f"{value!r} is not one of {', '.join(field.choices)}"
    elif not isinstance(value, str) or value == "":
        return "must be non-empty text"
    return None


def _value_problem(field: catalog.Field, op: str, value: Any) -> str | None:
    if op in catalog.NO_VALUE:
        return None
    if op in catalog.DAYS_VALUE:
        return None if _is_whole(value) and value >= 1 else "must be a whole number of days, at least 1"
    if op in catalog.LIST_VALUE:
        if not isinstance(value, list) or not value:
            return "must be a non-empty list"
        problems = [p for p in (_scalar_problem(field, v) for v in value) if p]
        return problems[0] if problems else None
    if op in catalog.PAIR_VALUE:
        if not isinstance(value, list) or len(value) != 2:
            return "must be a list of two values [low, high]"
        problem = _scalar_problem(field, value[0]) or _scalar_problem(field, value[1])
        if problem:
            return problem
        low, high = value if field.type == "number" else map(_parse_date, value)
        return "the low value must not be above the high value" if low > high else None
    return _scalar_problem(field, value)
