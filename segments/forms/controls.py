"""What the builder template draws: the query as a tree of groups and conditions, each with its
controls (choices, the value widget its field and operator need) and its validation problems.

Templates stay dumb: they loop over `tree(...)` and render `node.kind`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from segments import catalog
from segments.forms.builder import ROOT, depth_of, field_of
from segments.query import MAX_DEPTH, QueryError

TYPE_LABELS = {
    "attribute": "Profile field",
    "behavior": "Activity",
    "related": "Opportunities",
    "consent": "Consent",
    "segment": "Segment membership",
}
MATCH_LABELS = [("all", "all"), ("any", "any"), ("none", "none")]
COUNT_LABELS = [("at_least", "at least"), ("at_most", "at most"), ("exactly", "exactly")]
WINDOW_LABELS = [("any", "at any time"), ("last", "in the last"), ("range", "between")]
CONSENT_STATE_LABELS = [("opted_in", "opted in"), ("opted_out", "opted out"), ("not_set", "not set")]
PART_LABELS = {
    "field": "Field", "op": "Operator", "value": "Value", "type": "Condition type", "interaction": "Activity",
    "count.op": "How often", "count.value": "How many times", "window": "Time window",
    "window.last_days": "Days", "window.from": "From", "window.to": "To", "relation": "Related records",
    "exists": "Have / have not", "channel": "Channel", "state": "Consent", "topic": "Topic",
    "segment": "Segment", "match": "Match", "where": "Filters",
}
FIELD_SECTIONS = [("attributes.", "Custom attributes"), ("account.", "Account"), ("", "Profile")]
_CONDITIONS = re.compile(r"^((?:conditions\[\d+\]\.?)*)(.*)$")
_WHERE = re.compile(r"^where\[(\d+)\](?:\.(.*))?$")


# --- Problems, placed next to what they are about -----------------------------------------------
@dataclass
class Problems:
    general: list[str] = field(default_factory=list)
    by_node: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_row: dict[tuple[str, int], list[str]] = field(default_factory=lambda: defaultdict(list))
    total: int = 0


def place(errors: list[QueryError], query: dict[str, Any]) -> Problems:
    """Each validation error beside its condition (or "where" row), in the marketer's words."""
    problems = Problems(total=len(errors))
    for error in errors:
        conditions, rest = _CONDITIONS.match(error.path).groups()
        indexes = re.findall(r"\d+", conditions)
        path = ".".join([ROOT, *indexes])
        node = _node(query, indexes)
        row = _WHERE.match(rest)
        if row:
            index, part = int(row.group(1)), row.group(2) or ""
            rows = node.get("where") if isinstance(node, dict) else None
            item = rows[index] if isinstance(rows, list) and index < len(rows) else {}
            problems.by_row[(path, index)].append(phrase(part, error.message, item))
        elif indexes or rest == "match":
            problems.by_node[path].append(phrase(rest, error.message, node if isinstance(node, dict) else {}))
        else:
            problems.general.append(_sentence(error.message))
    return problems


def listed(errors: list[QueryError], query: dict[str, Any]) -> list[str]:
    """Every problem as one line naming its condition: "Condition 2, filter 1: Enter a value." """
    problems = place(errors, query)
    lines = list(problems.general)
    for path, messages in problems.by_node.items():
        lines.extend(f"{_where_is(path)}: {message}" for message in messages)
    for (path, index), messages in problems.by_row.items():
        lines.extend(f"{_where_is(path)}, filter {index + 1}: {message}" for message in messages)
    return lines


def _where_is(path: str) -> str:
    numbers = [str(int(part) + 1) for part in path.split(".")[1:]]
    return f"Condition {'.'.join(numbers)}" if numbers else "All conditions"


def _node(query: dict[str, Any], indexes: list[str]) -> Any:
    node: Any = query
    for index in indexes:
        conditions = node.get("conditions") if isinstance(node, dict) else None
        if not isinstance(conditions, list) or int(index) >= len(conditions):
            return None
        node = conditions[int(index)]
    return node


def phrase(part: str, message: str, item: dict[str, Any]) -> str:
    """'Value: must be non-empty text' — or, when nothing was entered yet, what to do."""
    value = item.get("value")
    op = item.get("op")
    if part == "value" and (value in (None, "", []) or (isinstance(value, list) and None in value)):
        if op in catalog.DAYS_VALUE:
            return "Enter a number of days."
        if op in catalog.LIST_VALUE:
            return "Enter one or more values, separated by commas."
        if op in catalog.PAIR_VALUE:
            return "Enter both values."
        return "Enter a value."
    if part == "segment" and item.get("segment") is None:
        return "Choose a segment."
    if part == "field" and item.get("field") == "properties.":
        return "Enter the name of the property."
    if part == "window" and item.get("window") == {}:
        return "Choose a start date, an end date or both."
    if part == "window.last_days" and (item.get("window") or {}).get("last_days") is None:
        return "Enter a number of days."
    if part == "count.value" and (item.get("count") or {}).get("value") is None:
        return "Enter how many times."
    label = PART_LABELS.get(part)
    return _sentence(f"{label}: {message}" if label else message)


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


# --- The tree the template draws -----------------------------------------------------------------
@dataclass
class Choices:
    """What the selects offer, computed once per render."""

    fields: dict[str, catalog.Field]
    segments: list[tuple[int, str]]
    topics: list[tuple[str, str]]
    audience: str


def tree(query: dict[str, Any], *, choices: Choices, problems: Problems) -> dict[str, Any]:
    return _group(query, ROOT, choices, problems)


def _group(group: dict[str, Any], path: str, choices: Choices, problems: Problems) -> dict[str, Any]:
    children = []
    for index, condition in enumerate(group.get("conditions") or []):
        child = f"{path}.{index}"
        if isinstance(condition, dict) and condition.get("type") == "group":
            children.append(_group(condition, child, choices, problems))
        else:
            children.append(_condition(condition, child, choices, problems))
    return {
        "kind": "group", "path": path, "match": group.get("match", "all"), "match_choices": MATCH_LABELS,
        "children": children, "errors": problems.by_node.get(path, []), "is_root": path == ROOT,
        "can_nest": depth_of(path) < MAX_DEPTH, "depth": depth_of(path), "remove_action": f"remove:{path}",
        "add_condition_action": f"add_condition:{path}", "add_group_action": f"add_group:{path}",
    }


def _condition(condition: Any, path: str, choices: Choices, problems: Problems) -> dict[str, Any]:
    condition = condition if isinstance(condition, dict) else {}
    kind = condition.get("type")
    types = [(k, label) for k, label in TYPE_LABELS.items() if k != "related" or catalog.RELATIONS[choices.audience]]
    node = {"kind": kind, "path": path, "errors": problems.by_node.get(path, []), "type_choices": types,
            "remove_action": f"remove:{path}", "add_where_action": f"add_where:{path}"}
    if kind == "attribute":
        node["comparison"] = comparison(condition, path, choices.fields, properties=False, grouped=True)
    elif kind == "behavior":
        node.update(_behavior(condition, path, problems))
    elif kind == "related":
        fields = catalog.related_fields(condition.get("relation"))
        node["exists"] = "no" if condition.get("exists") is False else "yes"
        node["rows"] = _rows(condition, path, fields, problems, properties=False)
    elif kind == "consent":
        node.update(channel=condition.get("channel"), topic=condition.get("topic") or "",
                    state=condition.get("state"), channel_choices=list(catalog.CONSENT_CHANNELS.items()),
                    topic_choices=[("", "the channel itself"), *choices.topics], state_choices=CONSENT_STATE_LABELS)
    elif kind == "segment":
        node.update(op=condition.get("op", "in"), segment=condition.get("segment"),
                    segment_choices=choices.segments)
    return node


def _behavior(condition: dict[str, Any], path: str, problems: Problems) -> dict[str, Any]:
    count = condition.get("count") if isinstance(condition.get("count"), dict) else {}
    window = condition.get("window")
    if not isinstance(window, dict):
        window_kind, window = "any", {}
    else:
        window_kind = "last" if "last_days" in window else "range"
    return {
        "interaction": condition.get("interaction"),
        "interaction_choices": list(catalog.INTERACTION_TYPES.items()),
        "rows": _rows(condition, path, catalog.interaction_fields(), problems, properties=True),
        "count_op": count.get("op", "at_least"), "count_value": _text(count.get("value", 1)),
        "count_choices": COUNT_LABELS, "window": window_kind, "window_choices": WINDOW_LABELS,
        "last_days": _text(window.get("last_days")), "from": _text(window.get("from")), "to": _text(window.get("to")),
    }


def _rows(condition: dict[str, Any], path: str, fields: dict[str, catalog.Field], problems: Problems, *,
          properties: bool) -> list[dict[str, Any]]:
    rows = []
    for index, row in enumerate(condition.get("where") or []):
        row = row if isinstance(row, dict) else {}
        rows.append({"index": index, "errors": problems.by_row.get((path, index), []),
                     "remove_action": f"remove_where:{path}:{index}",
                     "comparison": comparison(row, f"{path}-w{index}", fields, properties=properties)})
    return rows


def comparison(item: dict[str, Any], prefix: str, fields: dict[str, catalog.Field], *,
               properties: bool, grouped: bool = False) -> dict[str, Any]:
    """The field select, the operator select and the value widget of one comparison."""
    name = item.get("field")
    field = field_of(name, fields, properties=properties)
    is_property = properties and isinstance(name, str) and name.startswith("properties.")
    op = item.get("op")
    ops = catalog.OPERATORS[field.type] if field else []
    return {
        "prefix": prefix, "field": "properties" if is_property else name,
        "property": name.removeprefix("properties.") if is_property else "",
        "field_sections": _field_sections(fields, properties=properties, grouped=grouped), "op": op,
        "op_choices": [(o, catalog.OPERATOR_LABELS[o]) for o in ops],
        "widget": value_widget(field, op, item.get("value")) if field else {"kind": "none"},
    }


def _field_sections(fields: dict[str, catalog.Field], *, properties: bool, grouped: bool) -> list[tuple[str, list]]:
    """Options of the field select: a person's in labelled groups (profile, account, custom);
    an interaction's columns followed by "another property"; an opportunity's as they are."""
    if not grouped:
        sections = [("", [(path, f.label) for path, f in fields.items()])]
        return [*sections, ("Other", [("properties", "Another property…")])] if properties else sections
    sections: dict[str, list] = {label: [] for _, label in reversed(FIELD_SECTIONS)}
    for path, f in fields.items():
        label = next(label for prefix, label in FIELD_SECTIONS if path.startswith(prefix))
        sections[label].append((path, f.label))
    return [(label, options) for label, options in sections.items() if options]


def value_widget(field: catalog.Field, op: str | None, value: Any) -> dict[str, Any]:
    """Which input(s) the value needs: none, text, number, date, a select, a list, two inputs, days."""
    input_type = {"number": "number", "date": "date"}.get(field.type, "text")
    if op is None or op in catalog.NO_VALUE:
        return {"kind": "none"}
    if op in catalog.DAYS_VALUE:
        return {"kind": "days", "value": _text(value), "suffix": "days ago" if op == "more_than_days_ago" else "days"}
    if op in catalog.LIST_VALUE:
        values = value if isinstance(value, list) else [value]
        hint = ", ".join(field.choices) if field.choices else "Texas, Ohio, Utah" if field.type == "text" else "1, 2, 3"
        return {"kind": "list", "value": ", ".join(_text(v) for v in values if v not in (None, "")),
                "placeholder": hint}
    if op in catalog.PAIR_VALUE:
        low, high = (value + [None, None])[:2] if isinstance(value, list) else (None, None)
        return {"kind": "pair", "input_type": input_type, "value": _text(low), "value2": _text(high)}
    if field.choices:
        return {"kind": "select", "value": _text(value), "choices": field.choices}
    return {"kind": "input", "input_type": input_type, "value": _text(value)}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
