"""Forms of the email pages: an email's settings, sender and brand profiles, content blocks, list
filters, the test send, and one small form per block type of the designer.

Block forms only shape what was typed into a block (numbers, JSON, lists); whether the block
makes a valid email is `channels.compose`'s and `services.check_email`'s call, made after the
block is saved, so a half-finished draft is never refused.
"""

from __future__ import annotations

import json
import re
from typing import Any

import dkim.crypto
from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from channels import compose, templating
from channels.models import BrandProfile, ContentBlock, Email, SenderProfile, WebhookDelivery, WebhookEndpoint
from contacts.models import Contact, Lead

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
TOKEN_HELP = 'Personalize with tokens such as {{ contact.first_name | default: "there" }}.'


def _check_tokens(text: str) -> str:
    try:
        templating.parse(text)
    except templating.TemplateError as exc:
        raise ValidationError(str(exc)) from None
    return text


# --- Settings pages ----------------------------------------------------------------------------------
class EmailForm(forms.ModelForm):
    class Meta:
        model = Email
        fields = ["name", "key", "subject", "preheader", "sender", "brand", "purpose", "topic"]
        help_texts = {
            "key": "Recorded on opens and clicks; segments and journeys refer to it. Leave empty to derive it "
                   "from the name.",
            "subject": TOKEN_HELP,
            "preheader": "The preview line most inboxes show after the subject.",
            "purpose": "Commercial email needs consent and carries an unsubscribe link; transactional does not.",
            "topic": "Commercial email on a topic reaches only people who did not opt out of it.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key"].required = False
        self.fields["sender"].empty_label = "Choose a sender profile"
        self.fields["brand"].empty_label = "Choose a brand profile"
        self.fields["topic"].empty_label = "No topic"
        if self.instance.pk and self.instance.versions.exists():
            self.fields["key"].disabled = True
            self.fields["key"].help_text = "Fixed once published: interactions, segments and journeys refer to it."

    def clean_subject(self) -> str:
        return _check_tokens(self.cleaned_data["subject"])

    def clean_preheader(self) -> str:
        return _check_tokens(self.cleaned_data["preheader"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("key") and data.get("name"):
            data["key"] = self.instance.key or self._free_key(slugify(data["name"])[:90] or "email")
        return data

    def _free_key(self, base: str) -> str:
        taken = set(Email.objects.filter(key__startswith=base).exclude(pk=self.instance.pk)
                    .values_list("key", flat=True))
        key, n = base, 2
        while key in taken:
            key, n = f"{base}-{n}", n + 1
        return key


class SenderProfileForm(forms.ModelForm):
    """The DKIM key is write-only: never rendered back; empty keeps the stored key."""

    remove_key = forms.BooleanField(required=False, label="Remove the DKIM key (stop signing)")

    class Meta:
        model = SenderProfile
        fields = ["name", "from_name", "from_email", "reply_to", "dkim_selector", "dkim_private_key"]
        widgets = {"dkim_private_key": forms.Textarea(attrs={
            "rows": 5, "spellcheck": "false", "autocomplete": "off", "class": "mono",
            "placeholder": "-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----"})}
        labels = {"dkim_private_key": "DKIM private key (PEM)", "dkim_selector": "DKIM selector"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_is_set = bool(self.instance.pk and self.instance.dkim_private_key)
        self.initial["dkim_private_key"] = ""
        if self.key_is_set:
            self.fields["dkim_private_key"].help_text = (
                "A key is set. Paste a new key to replace it; leave empty to keep it.")
        else:
            del self.fields["remove_key"]

    def clean_dkim_private_key(self) -> str:
        pem = self.cleaned_data["dkim_private_key"].strip()
        if not pem:
            return "" if self.cleaned_data.get("remove_key") else (self.instance.dkim_private_key or "")
        try:
            dkim.crypto.parse_pem_private_key(pem.encode())
        except (dkim.crypto.UnparsableKeyError, ValueError, IndexError):
            raise ValidationError("This is not a PEM private key (RSA or Ed25519).") from None
        return pem + "\n"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.cleaned_data.get("remove_key"):
            data["dkim_private_key"] = ""
        if data.get("dkim_private_key") and not data.get("dkim_selector"):
            self.add_error("dkim_selector", "A DKIM key needs the selector its public key is published under.")
        return data


class HttpsURLField(forms.URLField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(assume_scheme="https", **kwargs)


class BrandProfileForm(forms.ModelForm):
    class Meta:
        model = BrandProfile
        fields = ["name", "logo_url", "primary_color", "text_color", "background_color", "font_family",
                  "footer_text", "postal_address"]
        widgets = {name: forms.TextInput(attrs={"type": "color"})
                   for name in ("primary_color", "text_color", "background_color")}
        widgets["footer_text"] = forms.Textarea(attrs={"rows": 3})
        field_classes = {"logo_url": HttpsURLField}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("primary_color", "text_color", "background_color"):
            if data.get(name) and not HEX_COLOR.match(data[name]):
                self.add_error(name, "Use a colour like #4f46e5.")
        return data


class ContentBlockForm(forms.ModelForm):
    class Meta:
        model = ContentBlock
        fields = ["name", "key"]
        help_texts = {"key": "Emails include the block by this key (renaming it breaks them); changes to the "
                             "block reach them at their next publish."}


# --- Filters and actions ------------------------------------------------------------------------------
class EmailFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", widget=forms.SearchInput(
        attrs={"placeholder": "Name, key or subject", "autocomplete": "off"}))
    status = forms.ChoiceField(choices=[("", "Any status"), *Email.Status.choices], required=False)

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        return {"search": self.cleaned_data["q"].strip(), "status": self.cleaned_data["status"]}


class DeliverySearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search by address", widget=forms.SearchInput(
        attrs={"placeholder": "name@example.com", "autocomplete": "off"}))


class TestSendForm(forms.Form):
    to = forms.EmailField(label="Send a test to", widget=forms.EmailInput(attrs={"placeholder": "you@example.com"}))


# --- Webhooks ----------------------------------------------------------------------------------------
class WebhookEndpointForm(forms.ModelForm):
    """The URL is checked by the SSRF guard in the model's clean(): public http(s) addresses only."""

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "active", "timeout_seconds", "description"]
        field_classes = {"url": HttpsURLField}
        widgets = {"url": forms.URLInput(attrs={"placeholder": "https://hooks.example.com/waymark"}),
                   "description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"name": "Internal name, e.g. “CRM sync”; journeys' webhook tiles show it.",
                      "active": "Deactivated endpoints receive nothing: their messages fail until retried."}


class WebhookTestForm(forms.Form):
    person = forms.EmailField(label="About the person", widget=forms.EmailInput(
        attrs={"placeholder": "name@example.com", "autocomplete": "off"}),
        help_text="The contact or lead with this address is the test event's person.")

    def clean_person(self) -> Contact | Lead:
        address = self.cleaned_data["person"]
        person = (Contact.objects.filter(email__iexact=address).first()
                  or Lead.objects.filter(email__iexact=address).first())
        if person is None:
            raise ValidationError("No contact or lead has this email address.")
        return person


class WebhookLogFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *WebhookDelivery.Status.choices], required=False)

    def status_value(self) -> str:
        return self.cleaned_data["status"] if self.is_valid() else ""


# --- The block designer ---------------------------------------------------------------------------------
def _json(text: str, *, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") \
            from None


class BlockForm(forms.Form):
    """The fields of one block; `to_block()` gives the block as stored in `Email.blocks`."""

    block_type = ""
    field_names: tuple[str, ...] = ()
    condition = forms.CharField(
        required=False, label="Show only to people who match",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono",
                                     "placeholder": '{"version": 1, "match": "all", "conditions": [...]}'}),
        help_text="A segment query as JSON (trigger.<field> reads the journey's event). Empty: everyone.")

    def __init__(self, *args: Any, block: dict | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("initial", self.initial_from(block or {}))
        super().__init__(*args, **kwargs)
        self.fields["condition"] = self.fields.pop("condition")  # last, after the block's own fields

    def initial_from(self, block: dict) -> dict[str, Any]:
        initial = {name: block.get(name, "") for name in self.field_names}
        if block.get("condition"):
            initial["condition"] = json.dumps(block["condition"], indent=2)
        return initial

    def content_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name != "condition"]

    def clean_condition(self) -> dict | None:
        text = self.cleaned_data["condition"].strip()
        if not text:
            return None
        value = _json(text, what="The condition")
        if not isinstance(value, dict):
            raise ValidationError('A condition is a segment query: a JSON object like {"version": 1, …}.')
        return value

    def content(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.field_names}

    def to_block(self) -> dict[str, Any]:
        block = {"type": self.block_type, **self.content()}
        if self.cleaned_data.get("condition"):
            block["condition"] = self.cleaned_data["condition"]
        return block


class HeadingForm(BlockForm):
    block_type, field_names = "heading", ("text", "level")
    text = forms.CharField(required=False, max_length=300, help_text=TOKEN_HELP)
    level = forms.TypedChoiceField(choices=[(1, "Large (H1)"), (2, "Medium (H2)"), (3, "Small (H3)")],
                                   coerce=int, initial=1, label="Size")


class TextForm(BlockForm):
    block_type, field_names = "text", ("html",)
    html = forms.CharField(required=False, label="Text", widget=forms.Textarea(attrs={"rows": 6}),
                           help_text="HTML: <p>, <b>, <i>, <a href>, lists. " + TOKEN_HELP)


class HtmlForm(BlockForm):
    block_type, field_names = "html", ("html",)
    html = forms.CharField(required=False, label="HTML", widget=forms.Textarea(attrs={"rows": 8, "class": "mono"}),
                           help_text="Sanitized when the email is built: scripts, forms and styles sheets are removed.")


class ImageForm(BlockForm):
    block_type, field_names = "image", ("src", "alt", "href")
    src = forms.CharField(required=False, label="Image address", widget=forms.URLInput(
        attrs={"placeholder": "https://…/image.png"}))
    alt = forms.CharField(required=False, label="Alternative text", max_length=200)
    href = forms.CharField(required=False, label="Link (optional)", widget=forms.URLInput(
        attrs={"placeholder": "https://…"}))

    def content(self) -> dict[str, Any]:
        content = super().content()
        return {name: value for name, value in content.items() if value or name != "href"}


class ButtonForm(BlockForm):
    block_type, field_names = "button", ("text", "href", "color")
    text = forms.CharField(required=False, max_length=100, label="Label")
    href = forms.CharField(required=False, label="Link", widget=forms.URLInput(attrs={"placeholder": "https://…"}))
    color = forms.CharField(required=False, label="Colour", max_length=7, help_text="Empty: the brand's colour.",
                            widget=forms.TextInput(attrs={"placeholder": "#4f46e5"}))

    def clean_color(self) -> str:
        color = self.cleaned_data["color"].strip()
        if color and not HEX_COLOR.match(color):
            raise ValidationError("Use a colour like #4f46e5, or leave it empty.")
        return color

    def content(self) -> dict[str, Any]:
        content = super().content()
        return {name: value for name, value in content.items() if value or name != "color"}


class DividerForm(BlockForm):
    block_type = "divider"


class SpacerForm(BlockForm):
    block_type, field_names = "spacer", ("height",)
    height = forms.IntegerField(min_value=1, max_value=200, initial=20, label="Height (pixels)")


class ColumnsForm(BlockForm):
    """Each column holds blocks, edited as JSON (the same block format as the email)."""

    block_type = "columns"
    count = forms.TypedChoiceField(choices=[(n, f"{n} column{'s' if n > 1 else ''}") for n in range(1, 5)],
                                   coerce=int, label="Columns")
    column_help = 'Blocks as JSON, e.g. [{"type": "text", "html": "<p>…</p>"}]'

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for n in range(1, 5):
            self.fields[f"column_{n}"] = forms.CharField(
                required=False, label=f"Column {n}", help_text=self.column_help,
                widget=forms.Textarea(attrs={"rows": 4, "class": "mono", "spellcheck": "false"}))
        self.fields["condition"] = self.fields.pop("condition")

    def initial_from(self, block: dict) -> dict[str, Any]:
        initial = super().initial_from(block)
        columns = block.get("columns") if isinstance(block.get("columns"), list) else []
        initial["count"] = len(columns) or 2
        for n, column in enumerate(columns[:4], start=1):
            initial[f"column_{n}"] = json.dumps(column, indent=2)
        return initial

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"column_{n}"] for n in range(1, 5)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        columns = []
        for n in range(1, (data.get("count") or 0) + 1):
            text = (data.get(f"column_{n}") or "").strip() or "[]"
            try:
                value = _json(text, what=f"Column {n}")
            except ValidationError as exc:
                self.add_error(f"column_{n}", exc)
                continue
            if not isinstance(value, list):
                self.add_error(f"column_{n}", "A column is a JSON list of blocks: [ … ].")
            columns.append(value)
        data["columns"] = columns
        return data

    def content(self) -> dict[str, Any]:
        return {"columns": self.cleaned_data["columns"]}


class SocialForm(BlockForm):
    block_type = "social"
    links = forms.CharField(
        required=False, label="Links", widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="One per line: network and address, e.g. linkedin https://linkedin.com/company/contoso. "
                  f"Networks: {', '.join(sorted(compose.SOCIAL_NETWORKS))}.")

    def initial_from(self, block: dict) -> dict[str, Any]:
        initial = super().initial_from(block)
        links = block.get("links") if isinstance(block.get("links"), list) else []
        initial["links"] = "\n".join(f"{link.get('name', '')} {link.get('href', '')}".strip()
                                     for link in links if isinstance(link, dict))
        return initial

    def content(self) -> dict[str, Any]:
        links = []
        for line in self.cleaned_data["links"].splitlines():
            name, _, href = line.strip().partition(" ")
            if name:
                links.append({"name": name.lower(), "href": href.strip()})
        return {"links": links}


class ContentBlockRefForm(BlockForm):
    block_type, field_names = "content_block", ("key",)
    key = forms.ChoiceField(label="Content block", choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = [("", "Choose a content block")] + list(
            ContentBlock.objects.order_by("name").values_list("key", "name"))


BLOCK_FORMS: dict[str, type[BlockForm]] = {form.block_type: form for form in (
    HeadingForm, TextForm, ImageForm, ButtonForm, DividerForm, SpacerForm, ColumnsForm, SocialForm, HtmlForm,
    ContentBlockRefForm,
)}
