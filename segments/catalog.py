"""What a segment condition can talk about: fields by audience, their types, and operators by type.

The compiler (SQL), the evaluator (one person, in Python), the validator and the builder UI all
read this one catalog, so a field added here is offered, validated, compiled and evaluated alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from contacts.models import Channel, CustomAttribute, InteractionType

# Operators by value type. Relative-date operators take a whole number of days.
OPERATORS: dict[str, list[str]] = {
    "text": ["equals", "not_equals", "in", "not_in", "contains", "not_contains", "starts_with",
             "is_empty", "is_not_empty"],
    "choice": ["equals", "not_equals", "in", "not_in", "is_empty", "is_not_empty"],
    "number": ["equals", "not_equals", "gt", "gte", "lt", "lte", "between", "is_empty", "is_not_empty"],
    "boolean": ["is_true", "is_false", "is_empty", "is_not_empty"],
    "date": ["equals", "before", "after", "between", "in_last_days", "more_than_days_ago", "in_next_days",
             "is_empty", "is_not_empty"],
}
OPERATOR_LABELS = {
    "equals": "is", "not_equals": "is not", "in": "is one of", "not_in": "is none of",
    "contains": "contains", "not_contains": "does not contain", "starts_with": "starts with",
    "is_empty": "is empty", "is_not_empty": "is not empty", "gt": "is greater than",
    "gte": "is at least", "lt": "is less than", "lte": "is at most", "between": "is between",
    "is_true": "is yes", "is_false": "is no", "before": "is before", "after": "is after",
    "in_last_days": "is in the last", "more_than_days_ago": "is more than", "in_next_days": "is in the next",
}
NO_VALUE = {"is_empty", "is_not_empty", "is_true", "is_false"}
LIST_VALUE = {"in", "not_in"}
PAIR_VALUE = {"between"}
DAYS_VALUE = {"in_last_days", "more_than_days_ago", "in_next_days"}
COUNT_OPERATORS = ["at_least", "at_most", "exactly"]
GROUP_MATCHES = ["all", "any", "none"]


@dataclass(frozen=True)
class Field:
    path: str  # as written in a query: "state", "account.industry", "attributes.loyalty_member"
    label: str
    type: str
    lookup: str  # the ORM path from the person (or the related/interaction row)
    choices: tuple[str, ...] = ()
    datetime: bool = False  # a date type stored as a datetime (compared by instant)


def _text(path: str, label: str, lookup: str | None = None) -> Field:
    return Field(path, label, "text", lookup or path.replace(".", "__"))


PERSON_FIELDS = [
    _text("first_name", "First name"), _text("last_name", "Last name"), _text("email", "Email"),
    _text("phone", "Phone"), _text("job_title", "Job title"), _text("country", "Country"),
    _text("state", "State / region"), _text("city", "City"), _text("language", "Language"),
    _text("time_zone", "Time zone"),
    Field("created_at", "Created", "date", "created_at", datetime=True),
]
CONTACT_FIELDS = [
    *PERSON_FIELDS,
    Field("birthday", "Birthday", "date", "birthday"),
    _text("account.name", "Account name"), _text("account.industry", "Account industry"),
    _text("account.country", "Account country"), _text("account.region", "Account region"),
    Field("account.size", "Account size", "choice", "account__size", ("small", "medium", "large", "enterprise")),
]
LEAD_FIELDS = [
    *PERSON_FIELDS,
    _text("company", "Company"), _text("topic", "Topic"), _text("source", "Source"),
    Field("status", "Status", "choice", "status", ("new", "contacted", "qualified", "disqualified")),
    _text("account.name", "Account name"), _text("account.industry", "Account industry"),
]
OPPORTUNITY_FIELDS = [
    _text("name", "Name"),
    Field("status", "Status", "choice", "status", ("open", "won", "lost")),
    Field("stage", "Stage", "choice", "stage", ("qualify", "develop", "propose", "close")),
    Field("estimated_revenue", "Estimated revenue", "number", "estimated_revenue"),
    Field("close_date", "Close date", "date", "close_date"),
    Field("created_at", "Created", "date", "created_at", datetime=True),
]
INTERACTION_FIELDS = [
    _text("email_key", "Email"), _text("link", "Link"), _text("product", "Product"),
    Field("amount", "Amount", "number", "amount"), _text("source", "Source"), _text("name", "Name"),
    _text("tile_key", "Journey tile"), Field("journey_id", "Journey", "number", "journey_id"),
]
RELATIONS = {"contact": {"opportunities": "Opportunities"}, "lead": {}}
INTERACTION_TYPES = dict(InteractionType.choices)
CONSENT_CHANNELS = dict(Channel.choices)
CONSENT_STATES = ["opted_in", "opted_out", "not_set"]


def _attribute_field(attribute: CustomAttribute) -> Field:
    return Field(
        f"attributes.{attribute.key}", attribute.label, attribute.type, f"attributes__{attribute.key}",
        tuple(attribute.choices or ()),
    )


# Custom attribute definitions change rarely and are read for every one-person evaluation (a
# journey branch per run): kept for a moment per process, dropped at once here when one changes.
_ATTRIBUTES_TTL_S = 2.0
_attributes: dict[str, tuple[float, list[Field]]] = {}


@receiver([post_save, post_delete], sender=CustomAttribute)
def _forget_attributes(**_kwargs) -> None:
    _attributes.clear()


def _attribute_fields(audience: str) -> list[Field]:
    cached = _attributes.get(audience)
    if cached is None or time.monotonic() - cached[0] > _ATTRIBUTES_TTL_S:
        cached = (time.monotonic(), [_attribute_field(a) for a in CustomAttribute.objects.filter(entity=audience)])
        _attributes[audience] = cached
    return cached[1]


def person_fields(audience: str) -> dict[str, Field]:
    """Every field of `audience` ("contact" or "lead") by path, custom attributes included."""
    base = CONTACT_FIELDS if audience == "contact" else LEAD_FIELDS
    fields = {f.path: f for f in base}
    for field in _attribute_fields(audience):
        fields[field.path] = field
    return fields


def related_fields(relation: str) -> dict[str, Field]:
    return {f.path: f for f in OPPORTUNITY_FIELDS} if relation == "opportunities" else {}


def interaction_fields() -> dict[str, Field]:
    return {f.path: f for f in INTERACTION_FIELDS}


def property_field(path: str) -> Field:
    """A free-form interaction property ("properties.color"): compared as text."""
    return Field(path, path.removeprefix("properties."), "text", path.replace(".", "__"))
