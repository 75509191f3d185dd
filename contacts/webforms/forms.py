"""The marketer's forms: form settings, the field and consent rows of the designer, landing page
settings and blocks, and the submission search."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from channels.models import Email
from contacts.models import CustomAttribute, FormConsent, FormField, LandingPage, WebForm
from contacts.models.webforms import ATTRIBUTE_PREFIX, PERSON_FIELDS
from contacts.webforms import blocks
from contacts.webforms.public_forms import RESERVED

PERSON_FIELD_LABELS = {
    "email": "Email", "first_name": "First name", "last_name": "Last name", "phone": "Phone",
    "job_title": "Job title", "country": "Country", "state": "State / region", "city": "City",
    "language": "Language", "company": "Company (leads)", "topic": "Topic of interest (leads)",
    "birthday": "Birthday (contacts)",
}


def maps_to_choices() -> list[tuple[str, Any]]:
    attributes = [(f"{ATTRIBUTE_PREFIX}{a.key}", f"{a.label} ({a.get_entity_display().lower()}s)")
                  for a in CustomAttribute.objects.order_by("entity", "label")]
    choices: list[tuple[str, Any]] = [("", "Only on the submission"),
                                      ("Person fields", [(k, PERSON_FIELD_LABELS[k]) for k in PERSON_FIELDS])]
    if attributes:
        choices.append(("Custom attributes", attributes))
    return choices


class WebFormSettingsForm(forms.ModelForm):
    redirect_url = forms.URLField(required=False, assume_scheme="https", label="Redirect URL",
                                  help_text=WebForm._meta.get_field("redirect_url").help_text)

    class Meta:
        model = WebForm
        fields = ["name", "slug", "status", "description", "title", "intro", "submit_label", "success_message",
                  "redirect_url", "matching", "creates", "double_opt_in", "confirmation_email", "brand",
                  "embed_origins"]
        widgets = {"intro": forms.Textarea(attrs={"rows": 2}), "success_message": forms.Textarea(attrs={"rows": 2}),
                   "embed_origins": forms.Textarea(attrs={"rows": 2, "placeholder": "https://www.example.com"})}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["confirmation_email"].queryset = Email.objects.filter(purpose=Email.Purpose.TRANSACTIONAL)
        self.fields["confirmation_email"].help_text = (
            "A published transactional email with a button linking to {{ trigger.confirm_url }}")


class FieldRowForm(forms.ModelForm):
    choices_text = forms.CharField(label="Options", required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                   help_text="Choice fields: one option a line")

    class Meta:
        model = FormField
        fields = ["position", "label", "key", "kind", "maps_to", "required", "help_text", "placeholder",
                  "default_value", "max_length", "min_value", "max_value", "pattern", "pattern_message"]
        labels = {"position": "Order", "maps_to": "Saves to"}
        widgets = {"position": forms.NumberInput(attrs={"min": 0, "class": "input-order"})}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["maps_to"] = forms.ChoiceField(label="Saves to", choices=maps_to_choices(), required=False)
        self.fields["position"].required = False
        if self.instance.pk:
            self.initial["choices_text"] = "\n".join(self.instance.choices)

    def _update_errors(self, errors: ValidationError) -> None:
        if hasattr(errors, "error_dict") and "choices" in errors.error_dict:  # the model's field, typed as lines
            errors.error_dict["choices_text"] = errors.error_dict.pop("choices")
        super()._update_errors(errors)

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if key in RESERVED or key.startswith("consent_") or key.startswith("wm_"):
            raise ValidationError(f"{key!r} is reserved; choose another key.")
        return key

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.instance.choices = [line.strip() for line in cleaned.get("choices_text", "").splitlines() if line.strip()]
        if cleaned.get("position") is None:
            cleaned["position"] = 1000
        return cleaned


class ConsentRowForm(forms.ModelForm):
    class Meta:
        model = FormConsent
        fields = ["position", "channel", "topic", "wording", "required"]
        labels = {"position": "Order", "required": "Must be ticked"}
        widgets = {"wording": forms.Textarea(attrs={"rows": 2}),
                   "position": forms.NumberInput(attrs={"min": 0, "class": "input-order"})}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["position"].required = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("position") is None:
            cleaned["position"] = 1000
        return cleaned


class DesignerFieldFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        live = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        mapped = [f.cleaned_data.get("maps_to") for f in live if f.cleaned_data.get("maps_to")]
        duplicates = sorted({m for m in mapped if mapped.count(m) > 1})
        if duplicates:
            raise ValidationError(f"Two fields save to the same place: {', '.join(duplicates)}.")
        if self.instance.double_opt_in and "email" not in mapped:
            raise ValidationError("Double opt-in sends an email: add a field that saves to Email.")


FieldFormSet = forms.inlineformset_factory(WebForm, FormField, form=FieldRowForm, formset=DesignerFieldFormSet,
                                           extra=1, can_delete=True)
ConsentFormSet = forms.inlineformset_factory(WebForm, FormConsent, form=ConsentRowForm, extra=1, can_delete=True)


class SubmissionSearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200,
                        widget=forms.TextInput(attrs={"placeholder": "Email or any answer", "type": "search"}))


class FormFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200,
                        widget=forms.TextInput(attrs={"placeholder": "Form name", "type": "search"}))
    status = forms.ChoiceField(choices=[("", "Any status"), *WebForm.Status.choices], required=False)


class PrefillLinkForm(forms.Form):
    email = forms.EmailField(label="Email of a contact or lead")


# --- Landing pages ---------------------------------------------------------------------------------
class LandingPageSettingsForm(forms.ModelForm):
    class Meta:
        model = LandingPage
        fields = ["name", "slug", "title", "description", "brand"]


class BlockForm(forms.Form):
    """One landing page block; which inputs matter depends on the type."""

    position = forms.IntegerField(label="Order", required=False, min_value=0,
                                  widget=forms.NumberInput(attrs={"class": "input-order", "placeholder": "last"}))
    type = forms.ChoiceField(choices=[("", "Choose a block…"), *blocks.BLOCK_TYPES.items()], required=False)
    text = forms.CharField(label="Text (heading, button label)", required=False, max_length=200)
    level = forms.TypedChoiceField(label="Heading size", choices=[(1, "Large"), (2, "Medium"), (3, "Small")],
                                   coerce=int, required=False)
    html = forms.CharField(label="Text (paragraphs; basic HTML allowed)", required=False,
                           max_length=blocks.MAX_TEXT, widget=forms.Textarea(attrs={"rows": 4}))
    src = forms.CharField(label="Image address", required=False, max_length=2000)
    alt = forms.CharField(label="Image description (alt text)", required=False, max_length=300)
    href = forms.CharField(label="Link (button, image)", required=False, max_length=2000)
    form = forms.ChoiceField(label="Form", required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["form"].choices = [("", "—"), *WebForm.objects.values_list("slug", "name")]

    def block(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        kind = data.get("type")
        if not kind:
            return None
        keys = {"heading": ["text", "level"], "text": ["html"], "image": ["src", "alt", "href"],
                "button": ["text", "href"], "form": ["form"]}[kind]
        block: dict[str, Any] = {"type": kind}
        for key in keys:
            value = data.get(key)
            if value not in (None, ""):
                block[key] = value
        if kind == "heading":
            block.setdefault("level", 1)
        return block

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        block = self.block()
        if block is not None:
            for problem in blocks.block_errors([block]):
                raise ValidationError(problem.removeprefix("block 1: ").capitalize())
        return cleaned


BlockFormSet = forms.formset_factory(BlockForm, extra=1, can_delete=True)


def blocks_initial(page_blocks: list[dict]) -> list[dict[str, Any]]:
    return [{**block, "position": index + 1} for index, block in enumerate(page_blocks)]


def blocks_from(formset: Any) -> list[dict[str, Any]]:
    """The page's blocks from a valid formset, in the order chosen, deleted and empty rows left out."""
    rows = []
    for index, form in enumerate(formset.forms):
        if not form.cleaned_data or form.cleaned_data.get("DELETE"):
            continue
        block = form.block()
        if block is not None:
            position = form.cleaned_data.get("position")
            rows.append((position if position is not None else 10_000 + index, index, block))
    return [block for _position, _index, block in sorted(rows, key=lambda row: row[:2])]
