"""Forms of the segment pages: the list's search, a segment's settings, refresh mode, static
members. The builder's query controls live in `segments.forms.builder` (reading what was posted)
and `segments.forms.controls` (what the template draws)."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from contacts.models import Topic
from segments import catalog
from segments.forms.controls import Choices
from segments.models import Segment

MAX_PASTED_EMAILS = 5000
_SEPARATORS = re.compile(r"[\s,;]+")


class SegmentFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", widget=forms.SearchInput(
        attrs={"placeholder": "Segment name or description", "autocomplete": "off"}))
    kind = forms.ChoiceField(choices=[("", "Any kind"), *Segment.Kind.choices], required=False)
    audience = forms.ChoiceField(choices=[("", "Contacts and leads"), *Segment.Audience.choices], required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *Segment.Status.choices], required=False)

    def filters(self) -> dict[str, Any]:
        return self.cleaned_data if self.is_valid() else {}


class SegmentForm(forms.ModelForm):
    """A segment's name, description and (dynamic segments) refresh mode; the query comes from
    the builder, kind and audience are chosen when the segment is created."""

    class Meta:
        model = Segment
        fields = ["name", "description", "refresh_mode"]
        widgets = {
            "name": forms.TextInput(attrs={"placeholder": "e.g. Texas cold brew buyers", "autocomplete": "off"}),
            "description": forms.Textarea(attrs={"rows": 2, "placeholder": "What this audience is for (optional)"}),
        }
        help_texts = {"refresh_mode": ""}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance.is_dynamic:
            del self.fields["refresh_mode"]


class RefreshModeForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["refresh_mode"]


class AddMembersForm(forms.Form):
    emails = forms.CharField(
        label="Email addresses",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "ada@example.com\ngrace@example.com"}),
        help_text="One per line, or separated by commas. People are matched by email.",
    )

    def clean_emails(self) -> list[str]:
        emails = [e for e in _SEPARATORS.split(self.cleaned_data["emails"]) if e]
        if not emails:
            raise forms.ValidationError("Paste at least one email address.")
        if len(emails) > MAX_PASTED_EMAILS:
            raise forms.ValidationError(f"Paste at most {MAX_PASTED_EMAILS:,} addresses at a time.")
        return emails


class FreezeForm(forms.Form):
    """Add, once, everyone currently in another segment of the same audience."""

    source = forms.ModelChoiceField(queryset=Segment.objects.none(), label="Segment", empty_label="Choose a segment")

    def __init__(self, *args: Any, segment: Segment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = (Segment.objects.filter(audience=segment.audience, status=Segment.Status.READY)
                                          .exclude(pk=segment.pk).order_by("name"))


class MemberSearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search members", widget=forms.SearchInput(
        attrs={"placeholder": "Name or email", "autocomplete": "off"}))


def builder_choices(segment: Segment) -> Choices:
    """What the builder's selects offer for `segment`: its audience's fields (custom attributes
    included), the other segments of that audience, and the consent topics."""
    others = Segment.objects.filter(audience=segment.audience).exclude(pk=segment.pk).order_by("name")
    return Choices(
        fields=catalog.person_fields(segment.audience),
        segments=[(pk, name + (" (draft)" if status == Segment.Status.DRAFT else ""))
                  for pk, name, status in others.values_list("pk", "name", "status")],
        topics=list(Topic.objects.order_by("name").values_list("key", "name")),
        audience=segment.audience,
    )
