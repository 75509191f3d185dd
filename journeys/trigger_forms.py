"""Forms of the trigger pages: the custom trigger designer (with its typed attributes), the event
filter and "fire a test event"."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.db.models.functions import Lower

from contacts.models import Contact, Lead
from journeys import triggers
from journeys.models import CustomTrigger
from journeys.models.triggers import ATTRIBUTE_SCHEMAS, BINDABLE_FIELDS

ATTRIBUTE_TYPES = [(name, name.capitalize()) for name in ATTRIBUTE_SCHEMAS]


class CustomTriggerForm(forms.ModelForm):
    class Meta:
        model = CustomTrigger
        fields = ["name", "key", "description", "kind", "person_field", "identifies", "when_unmatched",
                  "record_table", "record_field", "condition", "value", "rate_limit_per_minute", "active"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "kind": forms.RadioSelect,
            "key": forms.TextInput(attrs={"placeholder": "cart.abandoned", "autocomplete": "off"}),
        }

    # Grouped by table, each value naming its table ("lead.email"): the same field name exists on
    # several tables, and the page shows only the chosen table's group (see designer.html).
    # The model checks the field against the table (its message names the allowed fields); a bare
    # field name ("status") is read as well.
    record_field = forms.CharField(
        required=False, label="Record field", help_text="A field of the chosen table",
        widget=forms.Select(choices=[("", "---------"), *[
            (CustomTrigger.Table(table).label, [(f"{table}.{f}", f) for f in fields])
            for table, fields in BINDABLE_FIELDS.items()]]))
    attribute_errors: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.record_table and self.instance.record_field:
            self.initial["record_field"] = f"{self.instance.record_table}.{self.instance.record_field}"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        table, _, field = (data.get("record_field") or "").strip().rpartition(".")
        if table and data.get("record_table") and table != data["record_table"]:
            label = CustomTrigger.Table(data["record_table"]).label
            self.add_error("record_field", f"Choose a field of the {label} table.")
        if "record_field" in data:
            data["record_field"] = field
        return data

    def add_error(self, field: str | None, error: Any) -> None:
        """The model's attribute problems belong to the attributes table, which is a formset."""
        if isinstance(error, forms.ValidationError) and hasattr(error, "error_dict"):
            problems = error.error_dict.pop("attributes", [])
            self.attribute_errors = [message for problem in problems for message in problem.messages]
            if self.attribute_errors:
                super().add_error(None, "The attributes need fixing: see the attributes table.")
        super().add_error(field, error)


class AttributeForm(forms.Form):
    name = forms.CharField(max_length=60, required=False, widget=forms.TextInput(attrs={"placeholder": "name"}))
    type = forms.ChoiceField(choices=ATTRIBUTE_TYPES, initial="text")
    required = forms.BooleanField(required=False)


AttributeFormSet = forms.formset_factory(AttributeForm, extra=3, can_delete=True)


def attributes_of(formset: Any) -> list[dict[str, Any]]:
    """The typed attributes a valid formset describes (blank and deleted rows left out)."""
    rows = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE") or not data.get("name"):
            continue
        rows.append({"name": data["name"].strip(), "type": data["type"], "required": bool(data.get("required"))})
    return rows


# Example values for the test-event payload and the curl example, by payload field name: what a
# real event of a trigger carries (a form key, a product, a country), rather than "text".
SAMPLE_VALUES: dict[str, Any] = {
    "form": "brew-guide", "form_name": "Brew guide download", "email": "ada@example.com", "first_name": "Ada",
    "last_name": "Lovelace", "company": "Contoso Coffee", "status": "open", "stage": "propose",
    "previous_stage": "qualify", "source": "website", "name": "Cold brew kit", "industry": "Retail",
    "country": "Sweden", "email_key": "brew-guide", "tile_key": "send_email", "link": "https://contoso.test/grinders",
    "reason": "Mailbox full", "order": "A-1001", "amount": 42.5, "currency": "USD", "products": ["Cold brew kit"],
    "channel": "email", "topic": "newsletter", "old_status": "unknown", "new_status": "opted_in",
    "double_opt_in": "confirmed", "journey": "Brew Better at Home", "goal": "purchase.completed",
    "fields": ["country"], "items": ["Cold brew kit", "Ethiopia beans"], "close_date": "2026-11-30",
    "estimated_revenue": 1200.0, "sku": "CB-KIT-1", "url": "https://contoso.test/cart", "total": 42.5,
}
TYPE_SAMPLES: dict[str, Any] = {"string": "example", "number": 19.9, "integer": 1, "boolean": True, "object": {},
                                "array": ["Cold brew kit", "Ethiopia beans"], "null": None}


def sample_value(name: str, spec: dict[str, Any]) -> Any:
    """A realistic value of payload field `name` that passes `spec`: the schema's own example or
    enum first, then a value by the field's name, then one by its type."""
    kinds = spec.get("type", "string")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    kind = next((k for k in kinds if k != "null"), "null")
    if spec.get("examples"):
        return spec["examples"][0]
    if "enum" in spec:
        return spec["enum"][0]
    if spec.get("format") == "date":
        return "2026-11-23"
    if spec.get("format") == "date-time":
        return "2026-11-23T09:00:00Z"
    if kind == "object" and name == "fields":
        return {"email": "ada@example.com", "interest": "Cold brew"}
    value = SAMPLE_VALUES.get(name)
    fits = {"string": str, "number": (int, float), "integer": int, "boolean": bool, "array": list, "object": dict}
    if value is not None and isinstance(value, fits.get(kind, object)) and not (kind == "integer"
                                                                               and isinstance(value, bool)):
        return value
    return TYPE_SAMPLES.get(kind, "example")


class EventFilterForm(forms.Form):
    key = forms.ChoiceField(required=False, label="Trigger")
    email = forms.CharField(required=False, label="Person's email",
                            widget=forms.TextInput(attrs={"placeholder": "ada@example.com", "autocomplete": "off"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = [("", "All triggers"), *[(k, k) for k in triggers.trigger_keys()]]


class FireTestForm(forms.Form):
    key = forms.ChoiceField(label="Trigger")
    email = forms.EmailField(label="Person's email", help_text="A contact or lead already in Waymark")
    payload = forms.CharField(widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"}),
                              help_text="JSON, checked against the trigger's schema")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = [(k, k) for k in triggers.trigger_keys()]

    def clean_email(self) -> Contact | Lead:
        email = self.cleaned_data["email"].strip().lower()
        person = (Contact.objects.alias(email_key=Lower("email")).filter(email_key=email).first()
                  or Lead.objects.filter(email=email).order_by("pk").first())
        if person is None:
            raise forms.ValidationError("No contact or lead has this email.")
        return person

    def clean_payload(self) -> dict[str, Any]:
        try:
            payload = json.loads(self.cleaned_data["payload"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from exc
        if not isinstance(payload, dict):
            raise forms.ValidationError("Give a JSON object, like {\"items\": [\"Cold brew kit\"]}.")
        return payload

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "key" in data and "payload" in data:
            for path, message in triggers.field_errors(triggers.schema_for(data["key"]), data["payload"]):
                self.add_error("payload", f"{path}: {message}")
        return data
