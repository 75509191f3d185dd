"""Evaluate a segment query for one person in Python: `matches` for journey branches and emails.

It reads only that person's rows (a handful of indexed queries) and answers the same condition
language as the SQL compiler, plus `trigger.<field>` conditions on an event payload. A property
test keeps the two in agreement.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from contacts.models import Consent, Contact, Interaction, Lead, Opportunity, person_keys
from segments import catalog
from segments.compiler import day_start
from segments.models import SegmentMembership

Person = Contact | Lead


def evaluate(query: dict[str, Any], *, person: Person, payload: dict[str, Any] | None,
             now: datetime.datetime) -> bool:
    return _Evaluator(person, payload or {}, now).group(query)


def _lookup(obj: Any, path: str) -> Any:
    """Follow a dotted path through attributes and dicts; None when any step is missing."""
    for part in path.split("."):
        if obj is None:
            return None
        obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part, None)
    return obj


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def compare(field: catalog.Field, op: str, value: Any, actual: Any, *, now: datetime.datetime) -> bool:
    """Does `actual` satisfy `field op value`? SQL semantics: a missing value matches only
    is_empty and the negative operators (not_equals, not_in, not_contains)."""
    empty = actual is None or (field.type == "text" and actual == "")
    if op == "is_empty":
        return empty
    if op == "is_not_empty":
        return not empty
    if op in ("not_equals", "not_in", "not_contains"):
        if actual is None:
            return True
        positive = {"not_equals": "equals", "not_in": "in", "not_contains": "contains"}[op]
        return not compare(field, positive, value, actual, now=now)
    if actual is None:
        return False
    if op == "is_true":
        return actual is True
    if op == "is_false":
        return actual is False
    if field.type == "date":
        return _compare_date(field, op, value, actual, now=now)
    if field.type == "number":
        actual, value = _number(actual), [_number(v) for v in value] if isinstance(value, list) else _number(value)
        if actual is None:
            return False
    if op == "equals":
        return actual == value
    if op == "in":
        return actual in value
    if op == "contains":
        return str(value).lower() in str(actual).lower()
    if op == "starts_with":
        return str(actual).lower().startswith(str(value).lower())
    if op == "between":
        return value[0] <= actual <= value[1]
    return {"gt": actual > value, "gte": actual >= value, "lt": actual < value, "lte": actual <= value}[op]


def _compare_date(field: catalog.Field, op: str, value: Any, actual: Any, *, now: datetime.datetime) -> bool:
    if isinstance(actual, str):
        try:
            actual = datetime.date.fromisoformat(actual)
        except ValueError:
            return False
    today = now.astimezone(datetime.UTC).date()
    point = actual if field.datetime else day_start(actual)

    def days(n: int) -> datetime.timedelta:
        return datetime.timedelta(days=n)

    if op in ("in_last_days", "more_than_days_ago", "in_next_days"):
        if field.datetime:
            low, high = {"in_last_days": (now - days(value), now), "in_next_days": (now, now + days(value))}.get(
                op, (None, now - days(value)))
            return point < high if low is None else low <= point <= high
        day = actual
        if op == "in_last_days":
            return today - days(value) <= day <= today
        if op == "in_next_days":
            return today <= day <= today + days(value)
        return day < today - days(value)
    day_of = point.astimezone(datetime.UTC).date() if field.datetime else actual
    if op == "equals":
        return day_of == datetime.date.fromisoformat(value)
    if op == "before":
        return day_of < datetime.date.fromisoformat(value)
    if op == "after":
        return day_of > datetime.date.fromisoformat(value)
    low, high = (datetime.date.fromisoformat(v) for v in value)
    return low <= day_of <= high


class _Evaluator:
    def __init__(self, person: Person, payload: dict[str, Any], now: datetime.datetime):
        self.person = person
        self.payload = payload
        self.now = now
        self.audience = "contact" if isinstance(person, Contact) else "lead"
        self.fields = catalog.person_fields(self.audience)
        self._consents: list[Consent] | None = None

    def group(self, group: dict[str, Any]) -> bool:
        results = (self.condition(c) for c in group.get("conditions", []))
        match = group.get("match", "all")
        if match == "all":
            return all(results)
        if match == "any":
            return any(results)
        return not any(results)

    def condition(self, condition: dict[str, Any]) -> bool:
        return getattr(self, condition["type"])(condition)

    def attribute(self, condition: dict[str, Any]) -> bool:
        path = condition["field"]
        if path.startswith("trigger."):
            field = catalog.Field(path, path, condition.get("value_type", "text"), path)
            actual = _lookup(self.payload, path.removeprefix("trigger."))
        else:
            field = self.fields[path]
            actual = _lookup(self.person, path)
        return compare(field, condition["op"], condition.get("value"), actual, now=self.now)

    def _where(self, row: Any, where: list[dict] | None, fields: dict[str, catalog.Field]) -> bool:
        for item in where or []:
            field = fields.get(item["field"]) or catalog.property_field(item["field"])
            if not compare(field, item["op"], item.get("value"), _lookup(row, item["field"]), now=self.now):
                return False
        return True

    def related(self, condition: dict[str, Any]) -> bool:
        rows = Opportunity.objects.filter(contact=self.person)
        if self.person.account_id:
            rows = rows | Opportunity.objects.filter(account_id=self.person.account_id)
        fields = catalog.related_fields(condition["relation"])
        found = any(self._where(row, condition.get("where"), fields) for row in rows)
        return found == condition.get("exists", True)

    def behavior(self, condition: dict[str, Any]) -> bool:
        rows = Interaction.objects.filter(**person_keys(self.person), type=condition["interaction"])
        window = condition.get("window") or {}
        if "last_days" in window:
            rows = rows.filter(occurred_at__gte=self.now - datetime.timedelta(days=window["last_days"]),
                               occurred_at__lte=self.now)
        if window.get("from"):
            rows = rows.filter(occurred_at__gte=day_start(datetime.date.fromisoformat(window["from"])))
        if window.get("to"):
            end = datetime.date.fromisoformat(window["to"]) + datetime.timedelta(days=1)
            rows = rows.filter(occurred_at__lt=day_start(end))
        fields = catalog.interaction_fields()
        matched = sum(1 for row in rows if self._where(row, condition.get("where"), fields))
        count = condition.get("count") or {"op": "at_least", "value": 1}
        n = count["value"]
        return {"at_least": matched >= n, "at_most": matched <= n, "exactly": matched == n}[count["op"]]

    def consent(self, condition: dict[str, Any]) -> bool:
        if self._consents is None:
            self._consents = list(Consent.objects.filter(**person_keys(self.person)).select_related("topic"))
        topic = condition.get("topic")
        rows = [c for c in self._consents if c.channel == condition["channel"]
                and (c.topic.key == topic if topic and c.topic_id else (not topic and not c.topic_id))]
        state = condition["state"]
        if state == "opted_in":
            return any(c.status == "opted_in" and c.double_opt_in != "pending" for c in rows)
        if state == "opted_out":
            return any(c.status == "opted_out" for c in rows)
        return not any(c.status in ("opted_in", "opted_out") for c in rows)

    def segment(self, condition: dict[str, Any]) -> bool:
        member = SegmentMembership.objects.filter(segment_id=condition["segment"], **person_keys(self.person)).exists()
        return member if condition.get("op", "in") == "in" else not member
