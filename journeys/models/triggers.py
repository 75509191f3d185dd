"""Custom triggers: a marketer's own trigger, fired by an integration or bound to a record change."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from journeys import triggers as registry

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")

# Attribute type -> its JSON Schema.
ATTRIBUTE_SCHEMAS: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "number": {"type": "number"},
    "integer": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
    "datetime": {"type": "string", "format": "date-time"},
    "list": {"type": "array", "items": {"type": "string"}},
    "object": {"type": "object"},
}

# Fields a record binding may watch, per table (the values the change is compared against are text).
BINDABLE_FIELDS: dict[str, list[str]] = {
    "contact": ["email", "first_name", "last_name", "phone", "job_title", "country", "state", "city",
                "language", "account", "owner", "birthday"],
    "lead": ["status", "email", "company", "topic", "source", "country", "state", "city", "owner"],
    "opportunity": ["status", "stage", "estimated_revenue", "close_date", "owner", "name"],
    "account": ["industry", "name", "country", "region", "city", "size", "annual_revenue", "website", "owner"],
}


class CustomTrigger(models.Model):
    """A trigger defined as a row. Either an integration fires it (`POST /api/triggers/<key>/fire`),
    or it is bound to a record change and Waymark fires it when that change commits."""

    class Kind(models.TextChoices):
        API = "api", "Fired by an integration"
        RECORD = "record", "Bound to a record change"

    class Identifies(models.TextChoices):
        CONTACT_ID = "contact_id", "Contact id"
        LEAD_ID = "lead_id", "Lead id"
        EMAIL = "email", "Email address"

    class WhenUnmatched(models.TextChoices):
        REJECT = "reject", "Reject the event"
        CREATE_LEAD = "create_lead", "Create a lead"

    class Table(models.TextChoices):
        CONTACT = "contact", "Contact"
        LEAD = "lead", "Lead"
        OPPORTUNITY = "opportunity", "Opportunity"
        ACCOUNT = "account", "Account"

    class Condition(models.TextChoices):
        CHANGED = "changed", "changes"
        CHANGED_TO = "changed_to", "changes to"

    name = models.CharField(max_length=200)
    key = models.CharField(max_length=100, unique=True,
                           help_text="Dotted noun.past_verb, lower case, e.g. cart.abandoned")
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.API)
    # Fired by an integration: who the event is about, and what to do when nobody matches.
    person_field = models.CharField(max_length=60, blank=True, default="email",
                                    help_text="The payload field that identifies the person")
    identifies = models.CharField(max_length=12, choices=Identifies.choices, default=Identifies.EMAIL)
    when_unmatched = models.CharField(max_length=12, choices=WhenUnmatched.choices, default=WhenUnmatched.REJECT)
    attributes = models.JSONField(default=list, blank=True,
                                  help_text='[{"name": "items", "type": "list", "required": true}]')
    # Bound to a record change.
    record_table = models.CharField(max_length=12, choices=Table.choices, blank=True)
    record_field = models.CharField(max_length=60, blank=True)
    condition = models.CharField(max_length=12, choices=Condition.choices, default=Condition.CHANGED)
    value = models.CharField(max_length=200, blank=True, help_text="For 'changes to': the new value")
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Fair-use limit of API-fired events (empty = the default)")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["kind", "record_table", "active"], name="custom_trigger_binding")]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"

    def get_absolute_url(self) -> str:
        return reverse("triggers:custom_edit", args=[self.pk])

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if not KEY_PATTERN.match(self.key or ""):
            errors.setdefault("key", []).append(
                "Use a dotted noun.past_verb in lower case letters, digits and _, like cart.abandoned.")
        elif registry.is_built_in(self.key):
            errors.setdefault("key", []).append(f"{self.key} is a built-in trigger; choose another key.")
        errors.update(attribute_errors(self.attributes))
        if self.kind == self.Kind.API:
            if not ATTRIBUTE_NAME.match(self.person_field or ""):
                errors.setdefault("person_field", []).append("Name the payload field that identifies the person.")
        else:
            if self.record_table not in self.Table.values:
                errors.setdefault("record_table", []).append("Choose the table whose change fires this trigger.")
            elif self.record_field not in BINDABLE_FIELDS[self.record_table]:
                allowed = ", ".join(BINDABLE_FIELDS[self.record_table])
                errors.setdefault("record_field", []).append(f"Choose one of: {allowed}.")
            if self.condition == self.Condition.CHANGED_TO and not self.value.strip():
                errors.setdefault("value", []).append("Give the value the field changes to.")
        if errors:
            raise ValidationError(errors)

    def schema(self) -> dict[str, Any]:
        """The payload's JSON Schema, from the typed attributes (and the person field)."""
        properties: dict[str, Any] = {}
        required: list[str] = []
        if self.kind == self.Kind.RECORD:
            properties.update({"record": {"type": "integer"}, "table": {"type": "string"},
                               "field": {"type": "string"}, "value": {}, "previous": {}})
            required += ["record", "field"]
        elif self.person_field:
            person_type = {"type": "string"} if self.identifies == self.Identifies.EMAIL else {"type": "integer"}
            properties[self.person_field] = person_type
            required.append(self.person_field)
        for attribute in self.attributes or []:
            properties[attribute["name"]] = dict(ATTRIBUTE_SCHEMAS[attribute["type"]])
            if attribute.get("required") and attribute["name"] not in required:
                required.append(attribute["name"])
        return {"type": "object", "properties": properties, "required": required}

    @property
    def binding_sentence(self) -> str:
        if self.kind != self.Kind.RECORD:
            return ""
        table = self.Table(self.record_table).label if self.record_table in self.Table.values else self.record_table
        if self.condition == self.Condition.CHANGED_TO:
            return f"{table} {self.record_field} changes to {self.value}"
        return f"{table} {self.record_field} changes"


def attribute_errors(attributes: Any) -> dict[str, list[str]]:
    """Problems with a list of typed attributes, as {"attributes": [...]}."""
    if not isinstance(attributes, list):
        return {"attributes": ["Give a list of attributes, each with a name and a type."]}
    problems = []
    seen: set[str] = set()
    for number, attribute in enumerate(attributes, start=1):
        if not isinstance(attribute, dict):
            problems.append(f"Attribute {number}: give a name and a type.")
            continue
        name, kind = attribute.get("name"), attribute.get("type")
        if not isinstance(name, str) or not ATTRIBUTE_NAME.match(name):
            problems.append(f"Attribute {number}: the name must be lower case letters, digits and _ "
                            "(starting with a letter).")
        elif name in seen:
            problems.append(f"Attribute {number}: {name} appears twice.")
        else:
            seen.add(name)
        if kind not in ATTRIBUTE_SCHEMAS:
            problems.append(f"Attribute {number}: the type must be one of {', '.join(ATTRIBUTE_SCHEMAS)}.")
        if not isinstance(attribute.get("required", False), bool):
            problems.append(f"Attribute {number}: 'required' is true or false.")
    return {"attributes": problems} if problems else {}
