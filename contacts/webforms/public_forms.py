"""The Django form a visitor fills in, built from a WebForm's fields and consent checkboxes.

Every field has a size limit (the designer's, else a default per kind); values come out as plain
JSON values (dates as YYYY-MM-DD, numbers as int/float), the way submissions and triggers store them.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import RegexValidator

from contacts.models import FormConsent, FormField, WebForm

HONEYPOT = "homepage_url"
TOKEN = "wm_token"
PREFILL = "wm_prefill"
PAGE = "wm_page"
RESERVED = {HONEYPOT, TOKEN, PREFILL, PAGE, "csrfmiddlewaretoken"}
DEFAULT_MAX = {FormField.Kind.TEXTAREA: 5000, FormField.Kind.EMAIL: 254, FormField.Kind.PHONE: 40}
TEXT_MAX = 255
PHONE = re.compile(r"^\+?[0-9 ().\-/]{5,40}$")
K = FormField.Kind


def consent_name(consent: FormConsent) -> str:
    return f"consent_{consent.pk}"


def _max_length(field: FormField) -> int:
    return field.max_length or DEFAULT_MAX.get(field.kind, TEXT_MAX)


def _phone(value: str) -> None:
    if not PHONE.match(value) or sum(ch.isdigit() for ch in value) < 5:
        raise forms.ValidationError("Enter a phone number, like +1 206 555 0100.")


def build_field(field: FormField) -> forms.Field:
    """The Django form field for one designed field."""
    common: dict[str, Any] = {"label": field.label, "required": field.required, "help_text": field.help_text}
    attrs = {"placeholder": field.placeholder} if field.placeholder else {}
    validators = []
    if field.pattern:
        validators.append(RegexValidator(field.pattern, field.pattern_message or "Enter a valid value."))
    kind = field.kind
    if kind == K.EMAIL:
        return forms.EmailField(max_length=_max_length(field), validators=validators,
                                widget=forms.EmailInput(attrs={**attrs, "autocomplete": "email"}), **common)
    if kind == K.PHONE:
        return forms.CharField(max_length=_max_length(field), validators=[_phone, *validators],
                               widget=forms.TextInput(attrs={**attrs, "type": "tel", "autocomplete": "tel"}),
                               **common)
    if kind == K.NUMBER:
        return forms.DecimalField(min_value=field.min_value, max_value=field.max_value, max_digits=18,
                                  decimal_places=6, widget=forms.NumberInput(attrs=attrs), **common)
    if kind == K.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={**attrs, "type": "date"}, format="%Y-%m-%d"), **common)
    if kind == K.CHOICE:
        options = [("", "Choose…")] + [(c, c) for c in field.choices]
        return forms.ChoiceField(choices=options, **common)
    if kind == K.MULTI_CHOICE:
        return forms.MultipleChoiceField(choices=[(c, c) for c in field.choices],
                                         widget=forms.CheckboxSelectMultiple, **common)
    if kind == K.CHECKBOX:
        return forms.BooleanField(**common)
    if kind == K.HIDDEN:
        return forms.CharField(max_length=_max_length(field), widget=forms.HiddenInput, **common)
    widget = forms.Textarea(attrs={**attrs, "rows": 5}) if kind == K.TEXTAREA else forms.TextInput(attrs=attrs)
    autocomplete = {"first_name": "given-name", "last_name": "family-name", "company": "organization"}
    if field.maps_to in autocomplete:
        widget.attrs["autocomplete"] = autocomplete[field.maps_to]
    return forms.CharField(max_length=_max_length(field), validators=validators, widget=widget, **common)


def json_value(value: Any) -> Any:
    """A cleaned value as stored on the submission and sent in the trigger payload."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [json_value(v) for v in value]
    return value


class PublicForm(forms.Form):
    """A visitor's view of a WebForm: its fields in order, then its consent checkboxes."""

    def __init__(self, webform: WebForm, *args: Any, fields: list[FormField] | None = None,
                 consents: list[FormConsent] | None = None, api: bool = False, **kwargs: Any):
        kwargs.setdefault("auto_id", f"wm-{webform.slug}-%s")  # several forms may share a landing page
        super().__init__(*args, **kwargs)
        self.webform = webform
        self.designed = fields if fields is not None else list(webform.fields.all())
        self.consent_boxes = consents if consents is not None else list(webform.consents.select_related("topic"))
        for field in self.designed:
            self.fields[field.key] = build_field(field)
            if field.default_value and field.key not in self.initial:
                self.initial[field.key] = field.default_value
        for consent in self.consent_boxes:
            self.fields[consent_name(consent)] = forms.BooleanField(
                label=consent.wording, required=consent.required,
                error_messages={"required": "Please tick this box to continue."},
            )
        if api:  # server to server: an authenticated caller, no browser defences
            return
        # Never shown to people (off-screen, no tab stop); bots fill every field they find.
        self.fields[HONEYPOT] = forms.CharField(required=False, max_length=200, label="Leave this empty")
        self.fields[TOKEN] = forms.CharField(widget=forms.HiddenInput, max_length=2000)
        self.fields[PREFILL] = forms.CharField(widget=forms.HiddenInput, required=False, max_length=500)
        self.fields[PAGE] = forms.CharField(widget=forms.HiddenInput, required=False, max_length=2000)

    @property
    def visible_designed(self) -> list[forms.BoundField]:
        return [self[f.key] for f in self.designed if f.kind != K.HIDDEN]

    @property
    def hidden_designed(self) -> list[forms.BoundField]:
        return [self[f.key] for f in self.designed if f.kind == K.HIDDEN]

    @property
    def consent_fields(self) -> list[forms.BoundField]:
        return [self[consent_name(c)] for c in self.consent_boxes]

    def is_spam(self) -> bool:
        return bool(self.data.get(HONEYPOT))

    def field_values(self) -> dict[str, Any]:
        """Every designed field's cleaned value (empty optional fields included, as "" / None / [])."""
        return {f.key: json_value(self.cleaned_data.get(f.key)) for f in self.designed}

    def consents_given(self) -> dict[int, bool]:
        return {c.pk: bool(self.cleaned_data.get(consent_name(c))) for c in self.consent_boxes}


def prefill_initial(webform: WebForm, person: Any) -> dict[str, Any]:
    """Initial values for a known person: each field mapped to something they have."""
    initial: dict[str, Any] = {}
    for field in webform.fields.all():
        target = field.maps_to
        if not target:
            continue
        if target.startswith("attributes."):
            value = (person.attributes or {}).get(target.removeprefix("attributes."))
        else:
            value = getattr(person, target, None)
        if value not in (None, ""):
            initial[field.key] = value
    return initial
