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

    record_field = forms.ChoiceField(
        required=False, label="Record field", help_text="A field of the chosen table",
        choices=[("", "---------"), *[(CustomTrigger.Table(table).label, [(f, f) for f in fields])
                                      for table, fields in BINDABLE_FIELDS.items()]])
    attribute_errors: list[str] = []

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
