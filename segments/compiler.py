"""Compile a segment query into one SQL filter (a Q of EXISTS / NOT EXISTS subqueries).

No Python-side filtering and no per-person loops: `audience_queryset(...).filter(compile_query(...))`
is one statement that PostgreSQL and SQLite plan as a whole. Segment-membership conditions read
the referenced segment's materialized membership (compose from what is stored, as CEILINGS.md
recommends), so the referenced segments are refreshed first.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThanOrEqual

from contacts.models import Consent, Contact, Interaction, Lead, Opportunity
from segments import catalog
from segments.models import SegmentMembership

TRUE, FALSE = True, False
Node = Q | bool


def audience_model(audience: str) -> type[Contact] | type[Lead]:
    return Contact if audience == "contact" else Lead


def audience_queryset(audience: str) -> QuerySet:
    return audience_model(audience).objects.all()


def compile_query(query: dict[str, Any], *, audience: str, now: datetime.datetime) -> Q:
    """The filter selecting `audience` members of `query` at `now`. The query must be valid."""
    return _as_q(_Compiler(audience, now).group(query))


def _as_q(node: Node) -> Q:
    if node is TRUE:
        return Q()
    if node is FALSE:
        return Q(pk__in=[])
    return node


def _and(nodes: list[Node]) -> Node:
    if any(n is FALSE for n in nodes):
        return FALSE
    parts = [n for n in nodes if n is not TRUE]
    if not parts:
        return TRUE
    result = parts[0]
    for part in parts[1:]:
        result &= part
    return result


def _or(nodes: list[Node]) -> Node:
    if any(n is TRUE for n in nodes):
        return TRUE
    parts = [n for n in nodes if n is not FALSE]
    if not parts:
        return FALSE
    result = parts[0]
    for part in parts[1:]:
        result |= part
    return result


def _not(node: Node) -> Node:
    if isinstance(node, bool):
        return not node
    return ~node


def day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def comparison_q(field: catalog.Field, op: str, value: Any, *, now: datetime.datetime, prefix: str = "") -> Node:
    """One field comparison as a Q on `prefix + field.lookup`. Mirrors evaluator.compare()."""
    lookup = prefix + field.lookup
    is_json_date = field.type == "date" and "attributes__" in lookup

    def q(suffix: str, arg: Any) -> Q:
        return Q(**{f"{lookup}__{suffix}" if suffix else lookup: arg})

    def empty() -> Q:
        return q("isnull", True) | q("", "") if field.type == "text" else q("isnull", True)

    if op == "is_empty":
        return empty()
    if op == "is_not_empty":
        return ~empty()
    # Every comparison is made two-valued (true or false, never SQL NULL) so that "none of" groups
    # negate it exactly as the one-person evaluator does.
    present = q("isnull", False)
    if op == "is_true":
        return q("", True) & present
    if op == "is_false":
        return q("", False) & present
    if field.type == "date":
        return _date_q(q, op, value, now=now, instant=field.datetime, as_text=is_json_date) & present
    simple = {"equals": "", "in": "in", "contains": "icontains", "starts_with": "istartswith",
              "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte", "between": "range"}
    if op in simple:
        return q(simple[op], tuple(value) if op == "between" else value) & present
    negated = {"not_equals": "", "not_in": "in", "not_contains": "icontains"}
    # Missing values match the negative operators: "state is not Texas" includes contacts with no
    # state. Said explicitly, because Django's NULL guard does not cover JSON keys.
    return ~q(negated[op], value) | q("isnull", True)


def _date_q(q, op: str, value: Any, *, now: datetime.datetime, instant: bool, as_text: bool) -> Q:
    today = now.astimezone(datetime.UTC).date()

    def bound(day: datetime.date):
        return day_start(day) if instant else (day.isoformat() if as_text else day)

    def day(text: str) -> datetime.date:
        return datetime.date.fromisoformat(text)

    if op in ("in_last_days", "more_than_days_ago", "in_next_days"):
        delta = datetime.timedelta(days=value)
        if instant:
            return {"in_last_days": q("gte", now - delta) & q("lte", now),
                    "more_than_days_ago": q("lt", now - delta),
                    "in_next_days": q("gte", now) & q("lte", now + delta)}[op]
        return {"in_last_days": q("gte", bound(today - delta)) & q("lte", bound(today)),
                "more_than_days_ago": q("lt", bound(today - delta)),
                "in_next_days": q("gte", bound(today)) & q("lte", bound(today + delta))}[op]
    next_day = datetime.timedelta(days=1)
    if op == "equals":
        start = day(value)
        return (q("gte", bound(start)) & q("lt", bound(start + next_day))) if instant else q("", bound(start))
    if op == "before":
        return q("lt", bound(day(value)))
    if op == "after":
        return q("gte", bound(day(value) + next_day)) if instant else q("gt", bound(day(value)))
    low, high = day(value[0]), day(value[1])
    if instant:
        return q("gte", bound(low)) & q("lt", bound(high + next_day))
    return q("gte", bound(low)) & q("lte", bound(high))


class _Compiler:
    def __init__(self, audience: str, now: datetime.datetime):
        self.audience = audience
        self.now = now
        self.fields = catalog.person_fields(audience)
        self.person_key = audience  # the PersonRef column pointing at this audience

    def group(self, group: dict[str, Any]) -> Node:
        nodes = [self.condition(c) for c in group.get("conditions", [])]
        match = group.get("match", "all")
        if match == "all":
            return _and(nodes)
        if match == "any":
            return _or(nodes)
        return _not(_or(nodes))

    def condition(self, condition: dict[str, Any]) -> Node:
        return getattr(self, condition["type"])(condition)

    def attribute(self, condition: dict[str, Any]) -> Node:
        field = self.fields[condition["field"]]
        return comparison_q(field, condition["op"], condition.get("value"), now=self.now)

    def _where(self, where: list[dict] | None, fields: dict[str, catalog.Field]) -> Node:
        nodes = []
        for item in where or []:
            field = fields.get(item["field"]) or catalog.property_field(item["field"])
            nodes.append(comparison_q(field, item["op"], item.get("value"), now=self.now))
        return _and(nodes)

    def related(self, condition: dict[str, Any]) -> Node:
        where = self._where(condition.get("where"), catalog.related_fields(condition["relation"]))
        if where is FALSE:
            return not condition.get("exists", True)
        rows = Opportunity.objects.filter(Q(contact=OuterRef("pk")) | Q(account=OuterRef("account_id")))
        exists = Exists(rows.filter(_as_q(where)))
        return Q(exists) if condition.get("exists", True) else ~Q(exists)

    def behavior(self, condition: dict[str, Any]) -> Node:
        where = self._where(condition.get("where"), catalog.interaction_fields())
        count = condition.get("count") or {"op": "at_least", "value": 1}
        op, n = count["op"], count["value"]
        if where is FALSE:
            matched = 0  # no interaction can match: the count is zero
            return {"at_least": matched >= n, "at_most": matched <= n, "exactly": matched == n}[op]
        rows = Interaction.objects.filter(**{self.person_key: OuterRef("pk")}, type=condition["interaction"])
        rows = rows.filter(_as_q(where), self._window(condition.get("window")))
        if op == "at_least" and n == 0:
            return TRUE
        if (op == "at_least" and n == 1) or (op in ("at_most", "exactly") and n == 0):
            exists = Q(Exists(rows))
            return exists if op == "at_least" else ~exists
        counted = Coalesce(
            Subquery(rows.order_by().values(self.person_key).annotate(n=Count("pk")).values("n")[:1]), Value(0)
        )
        lookup = {"at_least": GreaterThanOrEqual, "at_most": LessThanOrEqual, "exactly": Exact}[op]
        return Q(lookup(counted, n))

    def _window(self, window: dict[str, Any] | None) -> Q:
        if not window:
            return Q()
        if "last_days" in window:
            return Q(occurred_at__gte=self.now - datetime.timedelta(days=window["last_days"]),
                     occurred_at__lte=self.now)
        q = Q()
        if window.get("from"):
            q &= Q(occurred_at__gte=day_start(datetime.date.fromisoformat(window["from"])))
        if window.get("to"):
            q &= Q(occurred_at__lt=day_start(datetime.date.fromisoformat(window["to"]) + datetime.timedelta(days=1)))
        return q

    def consent(self, condition: dict[str, Any]) -> Node:
        rows = Consent.objects.filter(**{self.person_key: OuterRef("pk")}, channel=condition["channel"])
        topic = condition.get("topic")
        rows = rows.filter(topic__key=topic) if topic else rows.filter(topic__isnull=True)
        state = condition["state"]
        if state == "opted_in":
            return Q(Exists(rows.filter(status="opted_in").exclude(double_opt_in="pending")))
        if state == "opted_out":
            return Q(Exists(rows.filter(status="opted_out")))
        return ~Q(Exists(rows.filter(status__in=["opted_in", "opted_out"])))

    def segment(self, condition: dict[str, Any]) -> Node:
        rows = SegmentMembership.objects.filter(segment_id=condition["segment"], **{self.person_key: OuterRef("pk")})
        exists = Q(Exists(rows))
        return exists if condition.get("op", "in") == "in" else ~exists
