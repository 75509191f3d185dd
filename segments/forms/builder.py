"""The segment builder's state: the query (kept in a hidden input) and the marketer's edits.

Every edit in the builder posts the whole form: the query as it was last rendered (`query`, JSON)
plus the controls, named after the condition they belong to — `r` is the top group, `r.1.0` the
first condition of its second member; `r.1.0-field`, `r.2-w0-value` (the first "where" row of a
behavior), `r.1-match`. `read_posted` lays the controls over the query, converting the strings
forms send into the query's types, and `apply` performs the button that was pressed
(`add_condition:r.1`, `remove:r.0` …). The server owns the state; the browser only shows it.
"""

from __future__ import annotations

import copy
import json
import math
import re
from typing import Any

from django.http import QueryDict

from segments import catalog
from segments.query import MAX_DEPTH, empty_query

ROOT = "r"
CONDITION_TYPES = ["attribute", "behavior", "related", "consent", "segment"]
DEFAULT_WINDOW_DAYS = 30
_INT = re.compile(r"^[+-]?\d+$")


# --- Reading posted controls ---------------------------------------------------------------------
def load(data: QueryDict, *, fallback: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The query from the hidden input (or `fallback`), and whether the hidden input was readable."""
    text = data.get("query")
    if text is None:
        return copy.deepcopy(fallback), True
    try:
        query = json.loads(text)
    except ValueError:
        return empty_query(), False
    if not isinstance(query, dict) or not isinstance(query.get("conditions"), list):
        return empty_query(), False
    return query, True


def read_posted(data: QueryDict, query: dict[str, Any], *, audience: str,
                extra_fields: dict[str, catalog.Field] | None = None) -> dict[str, Any]:
    """`query` with the posted control values laid over it (the query is changed in place).
    `extra_fields` are offered besides the audience's fields (a journey's `trigger.<field>`s)."""
    reader = _Reader(data, audience)
    if extra_fields:
        reader.fields = {**extra_fields, **reader.fields}
    reader.group(query, ROOT)
    return query


class _Reader:
    def __init__(self, data: QueryDict, audience: str):
        self.data = data
        self.audience = audience
        self.fields = catalog.person_fields(audience)

    def get(self, name: str) -> str | None:
        return self.data.get(name)

    def group(self, group: dict[str, Any], path: str) -> None:
        match = self.get(f"{path}-match")
        if match in catalog.GROUP_MATCHES:
            group["match"] = match
        conditions = group.get("conditions")
        if not isinstance(conditions, list):
            return
        for index, condition in enumerate(conditions):
            child = f"{path}.{index}"
            if not isinstance(condition, dict):
                continue
            if condition.get("type") == "group":
                self.group(condition, child)
                continue
            kind = self.get(f"{child}-type")
            if kind in CONDITION_TYPES and kind != condition.get("type"):
                conditions[index] = default_condition(kind, audience=self.audience)
                continue
            reader = getattr(self, f"read_{condition.get('type')}", None)
            if reader:
                reader(condition, child)

    def read_attribute(self, condition: dict[str, Any], path: str) -> None:
        self.comparison(condition, path, self.fields, properties=False)

    def read_behavior(self, condition: dict[str, Any], path: str) -> None:
        interaction = self.get(f"{path}-interaction")
        if interaction in catalog.INTERACTION_TYPES:
            condition["interaction"] = interaction
        self.where(condition, path, catalog.interaction_fields(), properties=True)
        count = condition.get("count") if isinstance(condition.get("count"), dict) else {"op": "at_least", "value": 1}
        op = self.get(f"{path}-count_op")
        if op in catalog.COUNT_OPERATORS:
            count["op"] = op
        if self.get(f"{path}-count_value") is not None:
            count["value"] = whole_number(self.get(f"{path}-count_value"))
        condition["count"] = count
        self.window(condition, path)

    def window(self, condition: dict[str, Any], path: str) -> None:
        kind = self.get(f"{path}-window")
        if kind is None:
            return
        if kind == "last":
            posted = self.get(f"{path}-last_days")
            previous = (condition.get("window") or {}).get("last_days", DEFAULT_WINDOW_DAYS)
            condition["window"] = {"last_days": previous if posted is None else whole_number(posted)}
        elif kind == "range":
            window = {}
            for key in ("from", "to"):
                value = (self.get(f"{path}-{key}") or "").strip()
                if value:
                    window[key] = value
            condition["window"] = window
        else:
            condition.pop("window", None)

    def read_related(self, condition: dict[str, Any], path: str) -> None:
        exists = self.get(f"{path}-exists")
        if exists in ("yes", "no"):
            condition["exists"] = exists == "yes"
        self.where(condition, path, catalog.related_fields(condition.get("relation")), properties=False)

    def read_consent(self, condition: dict[str, Any], path: str) -> None:
        channel, state = self.get(f"{path}-channel"), self.get(f"{path}-state")
        if channel in catalog.CONSENT_CHANNELS:
            condition["channel"] = channel
        if state in catalog.CONSENT_STATES:
            condition["state"] = state
        topic = self.get(f"{path}-topic")
        if topic is not None:
            condition["topic"] = topic or None

    def read_segment(self, condition: dict[str, Any], path: str) -> None:
        op = self.get(f"{path}-op")
        if op in ("in", "not_in"):
            condition["op"] = op
        segment = self.get(f"{path}-segment")
        if segment is not None:
            condition["segment"] = int(segment) if _INT.match(segment.strip()) else None

    def where(self, condition: dict[str, Any], path: str, fields: dict[str, catalog.Field], *,
              properties: bool) -> None:
        rows = condition.get("where")
        if not isinstance(rows, list):
            return
        for index, row in enumerate(rows):
            if isinstance(row, dict):
                self.comparison(row, f"{path}-w{index}", fields, properties=properties)

    def comparison(self, item: dict[str, Any], prefix: str, fields: dict[str, catalog.Field], *,
                   properties: bool) -> None:
        """Field, operator and value of an attribute condition or of one "where" row."""
        old = field_of(item.get("field"), fields, properties=properties)
        name = self.get(f"{prefix}-field")
        if name is None:
            name = item.get("field")
        elif properties and name == "properties":
            name = "properties." + (self.get(f"{prefix}-property") or "").strip()
        field = field_of(name, fields, properties=properties)
        item["field"] = name
        if field is None:
            return
        op = self.get(f"{prefix}-op") or item.get("op")
        same_kind = old is not None and (old.type, old.choices) == (field.type, field.choices)
        if not same_kind or op not in catalog.OPERATORS[field.type]:
            op = default_op(field)  # a field of another type starts from its own first operator
        item["op"] = op
        raw, raw2 = (self.get(f"{prefix}-value"), self.get(f"{prefix}-value2")) if same_kind else ("", "")
        if op in catalog.NO_VALUE:
            item.pop("value", None)
        else:
            item["value"] = convert(field, op, raw or "", raw2 or "")


def field_of(path: Any, fields: dict[str, catalog.Field], *, properties: bool) -> catalog.Field | None:
    if not isinstance(path, str):
        return None
    if path in fields:
        return fields[path]
    if properties and path.startswith("properties."):
        return catalog.property_field(path)
    return None


def default_op(field: catalog.Field) -> str:
    return "in_last_days" if field.type == "date" else catalog.OPERATORS[field.type][0]


# --- Strings from the form to the query's types --------------------------------------------------
def convert(field: catalog.Field, op: str, raw: str, raw2: str = "") -> Any:
    """The query value for what was typed: whole days, a list, a [low, high] pair or a scalar."""
    if op in catalog.DAYS_VALUE:
        return whole_number(raw)
    if op in catalog.LIST_VALUE:
        return [scalar(field, part) for part in raw.split(",") if part.strip()]
    if op in catalog.PAIR_VALUE:
        return [scalar(field, raw), scalar(field, raw2)]
    return scalar(field, raw)


def scalar(field: catalog.Field, raw: str) -> Any:
    """A number for number fields, the text otherwise. What cannot be converted stays text, so
    the validator names the problem ("'ten' is not a number"); nothing typed becomes None ("")."""
    text = raw.strip()
    if field.type == "number":
        return number(text)
    if not text:
        return "" if field.type == "text" else None
    return text


def number(text: str) -> int | float | str | None:
    text = text.strip().replace(" ", "")
    if not text:
        return None
    if _INT.match(text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def whole_number(raw: str | None) -> int | str | None:
    text = (raw or "").strip()
    if not text:
        return None
    return int(text) if _INT.match(text) else text


# --- New conditions and the buttons --------------------------------------------------------------
def default_condition(kind: str, *, audience: str) -> dict[str, Any]:
    if kind == "group":
        return {"type": "group", "match": "all", "conditions": [default_condition("attribute", audience=audience)]}
    if kind == "behavior":
        return {"type": "behavior", "interaction": "purchase", "count": {"op": "at_least", "value": 1}}
    if kind == "related":
        return {"type": "related", "relation": "opportunities", "exists": True,
                "where": [{"field": "status", "op": "equals", "value": "open"}]}
    if kind == "consent":
        return {"type": "consent", "channel": "email", "topic": None, "state": "opted_in"}
    if kind == "segment":
        return {"type": "segment", "op": "in", "segment": None}
    return {"type": "attribute", "field": "country", "op": "equals", "value": ""}


def default_where(condition: dict[str, Any]) -> dict[str, Any]:
    if condition.get("type") == "related":
        return {"field": "stage", "op": "equals", "value": "propose"}
    return {"field": "product", "op": "equals", "value": ""}


def node_at(query: dict[str, Any], path: str) -> tuple[dict[str, Any] | None, list | None, int | None]:
    """The condition at `path`, the list holding it and its index (None, None, None if absent)."""
    parts = path.split(".")
    if parts[0] != ROOT:
        return None, None, None
    node, parent, index = query, None, None
    for part in parts[1:]:
        conditions = node.get("conditions") if isinstance(node, dict) else None
        if not part.isdigit() or not isinstance(conditions, list) or int(part) >= len(conditions):
            return None, None, None
        parent, index, node = conditions, int(part), conditions[int(part)]
    return (node, parent, index) if isinstance(node, dict) else (None, None, None)


def depth_of(path: str) -> int:
    return path.count(".")


def apply(query: dict[str, Any], action: str, *, audience: str) -> dict[str, Any]:
    """Perform a builder button on `query` (in place): add or remove conditions, groups, rows."""
    verb, _, rest = (action or "").partition(":")
    path, _, extra = rest.partition(":")
    node, parent, index = node_at(query, path) if path else (None, None, None)
    if node is None:
        return query
    if verb in ("add_condition", "add_group") and isinstance(node.get("conditions"), list):
        if verb == "add_condition":
            node["conditions"].append(default_condition("attribute", audience=audience))
        elif depth_of(path) < MAX_DEPTH:
            node["conditions"].append(default_condition("group", audience=audience))
    elif verb == "remove" and parent is not None:
        del parent[index]
    elif verb == "add_where" and node.get("type") in ("behavior", "related"):
        node.setdefault("where", []).append(default_where(node))
    elif verb == "remove_where" and isinstance(node.get("where"), list) and extra.isdigit():
        if int(extra) < len(node["where"]):
            del node["where"][int(extra)]
        if not node["where"]:
            node.pop("where")
    return query
