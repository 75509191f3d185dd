"""Forms of the marketer pages: list filters, person profiles, consent, CSV import."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from contacts import queries
from contacts.models import (
    Account,
    Channel,
    ConsentStatus,
    Contact,
    CustomAttribute,
    ImportJob,
    Lead,
    Topic,
)

ATTRIBUTE_PREFIX = "attr_"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


# --- List filters -------------------------------------------------------------------------------
class ContactFilterForm(forms.Form):
    """GET filters of the contact list (shared with the CSV export).

    Menu fields validate as plain text so the HTMX rows request need not load the menus;
    the full page passes `options` to fill them.
    """

    q = forms.CharField(required=False, label="Search", widget=forms.SearchInput(
        attrs={"placeholder": "Name, email or company", "autocomplete": "off"}))
    country = forms.CharField(required=False, label="Country", widget=forms.Select)
    state = forms.CharField(required=False, label="State / region", widget=forms.Select)
    industry = forms.CharField(required=False, label="Industry", widget=forms.Select)
    empty_labels = {"country": "Any country", "state": "Any state", "industry": "Any industry"}
    owner = forms.ModelChoiceField(queryset=queries.active_users(), required=False, empty_label="Any owner")
    created_from = forms.DateField(required=False, label="Created from", widget=DateInput)
    created_to = forms.DateField(required=False, label="Created to", widget=DateInput)

    def __init__(self, *args: Any, options: dict[str, list[str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].label_from_instance = lambda user: user.get_full_name() or user.get_username()
        for name, values in (options or {}).items():
            self.fields[name].widget.choices = [("", self.empty_labels[name])] + [(v, v) for v in values]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", "Must be on or after the start date.")
        return data

    def filters(self) -> dict[str, Any]:
        """The valid filters (an invalid filter form filters nothing rather than failing)."""
        return self.cleaned_data if self.is_valid() else {}


class LeadFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", widget=forms.SearchInput(
        attrs={"placeholder": "Name, email or company", "autocomplete": "off"}))
    status = forms.ChoiceField(choices=[("", "Any status"), *Lead.Status.choices], required=False)

    def filters(self) -> dict[str, Any]:
        return self.cleaned_data if self.is_valid() else {}


class AccountFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", widget=forms.SearchInput(
        attrs={"placeholder": "Name, city or website", "autocomplete": "off"}))
    industry = forms.CharField(required=False, widget=forms.Select)

    def __init__(self, *args: Any, industries: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["industry"].widget.choices = [("", "Any industry")] + [(v, v) for v in industries or []]

    def filters(self) -> dict[str, Any]:
        return self.cleaned_data if self.is_valid() else {}


# --- Profiles ---------------------------------------------------------------------------------
def attribute_field(definition: CustomAttribute) -> forms.Field:
    """A typed form field for one custom attribute definition."""
    common = {"label": definition.label, "help_text": definition.help_text, "required": definition.required}
    kind = definition.type
    if kind == CustomAttribute.Type.NUMBER:
        return forms.DecimalField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if kind == CustomAttribute.Type.DATE:
        return forms.DateField(widget=DateInput, **common)
    if kind == CustomAttribute.Type.BOOLEAN:
        # Unticked means "no", a real answer, so the box itself is never required.
        return forms.BooleanField(**{**common, "required": False})
    if kind == CustomAttribute.Type.CHOICE:
        return forms.ChoiceField(choices=[("", "—")] + [(c, c) for c in definition.choices], **common)
    return forms.CharField(max_length=500, **common)


class PersonForm(forms.ModelForm):
    """A contact or lead profile, with one typed input per custom attribute.

    The custom inputs are merged into `attributes` in clean(); the model's clean() validates
    them (and the time zone) as every other write path does, and its per-key messages are
    shown next to the matching input.
    """

    entity = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = queries.active_users()
        self.fields["owner"].empty_label = "Unassigned"
        self.fields["owner"].label_from_instance = lambda user: user.get_full_name() or user.get_username()
        self.definitions = {
            a.key: a for a in CustomAttribute.objects.filter(entity=self.entity).order_by("label")
        }
        stored = self.instance.attributes or {}
        for key, definition in self.definitions.items():
            field = attribute_field(definition)
            field.initial = stored.get(key)
            self.fields[ATTRIBUTE_PREFIX + key] = field

    def attribute_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(ATTRIBUTE_PREFIX)]

    def profile_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if not name.startswith(ATTRIBUTE_PREFIX)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # Only defined attributes are kept: the model rejects unknown keys, so a value whose
        # definition was deleted would otherwise make the person uneditable.
        attributes: dict[str, Any] = {}
        for key in self.definitions:
            name = ATTRIBUTE_PREFIX + key
            if name in data:
                attributes[key] = data[name]
            elif key in (self.instance.attributes or {}):
                attributes[key] = self.instance.attributes[key]  # invalid input: its own error shows
        self.instance.attributes = attributes
        return data

    def add_error(self, field: str | None, error: Any) -> None:
        # The model reports attribute problems as {"attributes": ["key: reason", ...]}; put each
        # beside its input (unless that input already has an error of its own).
        if field is None and isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            messages = error.error_dict.pop("attributes", [])
            for message in ValidationError(messages).messages:
                key, _, reason = message.partition(": ")
                name = ATTRIBUTE_PREFIX + key
                if name in self.fields:
                    if name not in self.errors:
                        super().add_error(name, reason.capitalize())
                else:
                    super().add_error(None, message)
            if not error.error_dict:
                return
        super().add_error(field, error)


class ContactForm(PersonForm):
    entity = CustomAttribute.Entity.CONTACT

    class Meta:
        model = Contact
        fields = [
            "first_name", "last_name", "email", "phone", "job_title", "account", "owner",
            "country", "state", "city", "time_zone", "language", "birthday",
        ]
        widgets = {
            "birthday": DateInput,
            "time_zone": forms.TextInput(attrs={"placeholder": "Europe/Stockholm", "list": "time-zones"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.order_by("name")
        self.fields["account"].empty_label = "No account"

    def clean_email(self) -> str | None:
        # The database's case-insensitive unique constraint would only say "constraint violated".
        email = self.cleaned_data.get("email") or None
        if email and Contact.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise ValidationError("Another contact already has this email address.")
        return email


class LeadForm(PersonForm):
    entity = CustomAttribute.Entity.LEAD

    class Meta:
        model = Lead
        fields = [
            "first_name", "last_name", "email", "phone", "job_title", "company", "topic", "status",
            "source", "owner", "country", "state", "city", "time_zone", "language",
        ]
        widgets = {"time_zone": forms.TextInput(attrs={"placeholder": "Europe/Stockholm", "list": "time-zones"})}


# --- Consent ------------------------------------------------------------------------------------
class ConsentForm(forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices)
    topic = forms.ModelChoiceField(
        queryset=Topic.objects.all(), required=False, empty_label="Whole channel"
    )
    status = forms.ChoiceField(choices=ConsentStatus.choices, initial=ConsentStatus.OPTED_IN)
    double_opt_in = forms.BooleanField(
        required=False, label="Ask for double opt-in",
        help_text="The opt-in counts only after the person confirms it.",
    )
    note = forms.CharField(
        required=False, max_length=300, label="Note",
        widget=forms.TextInput(attrs={"placeholder": "e.g. asked at the booth, wording shown"}),
    )


# --- CSV import -----------------------------------------------------------------------------------
class ImportForm(forms.Form):
    """The upload and, once the header is known, one target per CSV column."""

    file = forms.FileField(label="CSV file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))
    on_duplicate = forms.ChoiceField(
        choices=ImportJob.OnDuplicate.choices, initial=ImportJob.OnDuplicate.UPDATE,
        widget=forms.RadioSelect, label="When a row's email already exists",
    )

    def __init__(self, *args: Any, targets: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.targets = targets or {}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        columns = self.data.getlist("column") if self.data else []
        chosen = self.data.getlist("target") if self.data else []
        unknown = [t for t in chosen if t and t not in self.targets]
        if unknown:
            raise ValidationError(f"Unknown field {unknown[0]!r}; reload the page and map again.")
        # No mapping posted (the preview never ran): the importer suggests one from the header.
        data["mapping"] = dict(zip(columns, chosen, strict=False)) if columns else None
        return data
