"""Test mode's form: a test person, the entry trigger's payload and a timeline of steps."""

from __future__ import annotations

from typing import Any

from django import forms

from channels.models import Email
from contacts.models import Contact, Lead
from journeys import catalog, triggers
from journeys.forms.common import DURATION_PARTS
from journeys.forms.conditions import trigger_fields
from journeys.models import Journey
from segments.forms import builder

INTERACTIONS = [("opened", "Opens an email"), ("clicked", "Clicks in an email")]
MAX_TEST_STEPS = 20


def email_tile_choices(tiles: dict[str, Any]) -> list[tuple[str, str]]:
    """The send-email tiles as choices, each named by its email ("Send email · Brew guide") or,
    without one, by its key, so several send-email tiles can be told apart."""
    sends = {k: t for k, t in tiles.items() if isinstance(t, dict) and t.get("type") == "send_email"}
    keys = {t.get("email") for t in sends.values() if isinstance(t.get("email"), str) and t.get("email")}
    names = dict(Email.objects.filter(key__in=keys).values_list("key", "name")) if keys else {}
    return [(k, f"{catalog.label(t)} · {names.get(t.get('email')) or k}") for k, t in sends.items()]


class TestRunForm(forms.Form):
    """Test mode: a test person (by email), the entry trigger's payload, and a timeline of steps
    (`step-<i>-…`: when, what happened, which email tile and link, or which trigger)."""

    person = forms.CharField(label="Test contact (email)", widget=forms.TextInput(
        attrs={"autocomplete": "off", "placeholder": "ann@example.com"}))

    def __init__(self, *args: Any, journey: Journey, steps: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.journey = journey
        self.payload_fields = trigger_fields(journey.entry_trigger)
        for path in self.payload_fields:
            name = path.removeprefix("trigger.")
            self.fields[f"payload-{name}"] = forms.CharField(required=False, label=f"Trigger data: {name}")
        tiles = (journey.tiles or {}).get("tiles") or {}
        self.email_tiles = email_tile_choices(tiles)
        posted = self.data.get("steps", "") if self.is_bound else ""
        self.step_count = min(int(posted) if posted.isdigit() else steps, MAX_TEST_STEPS)
        what = [("Email", INTERACTIONS), ("Triggers", [(f"trigger:{t.key}", f"{t.name} ({t.key})")
                                                       for t in triggers.catalog()])]
        for index in range(self.step_count):
            for part, _label in DURATION_PARTS:
                self.fields[f"step-{index}-{part}"] = forms.IntegerField(required=False, min_value=0,
                                                                         label=f"Step {index + 1}: {part}")
            step = f"Step {index + 1}"
            self.fields[f"step-{index}-what"] = forms.ChoiceField(
                choices=what, label=f"{step}: what happens",
                widget=forms.Select(attrs={"aria-label": f"{step}: what happens"}))
            self.fields[f"step-{index}-tile"] = forms.ChoiceField(
                required=False, label=f"{step}: email tile", choices=[("", "Email tile…"), *self.email_tiles],
                widget=forms.Select(attrs={"aria-label": f"{step}: email tile"}))
            self.fields[f"step-{index}-link"] = forms.CharField(required=False, label=f"{step}: link (clicks)")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for index in self.used_steps():
            what = data.get(f"step-{index}-what", "")
            if not what.startswith("trigger:") and not data.get(f"step-{index}-tile"):
                self.add_error(f"step-{index}-tile", f"Step {index + 1}: choose the email tile that is "
                               f"{'opened' if what == 'opened' else 'clicked'}.")
        return data

    def _blank(self, index: int) -> bool:
        """A step left as it was added (no time, no email tile, no link, an email interaction):
        ignored rather than sent, so the default empty step never fails a test run."""
        data = self.cleaned_data
        return (not str(data.get(f"step-{index}-what") or "").startswith("trigger:")
                and not any(data.get(f"step-{index}-{p}") for p, _ in DURATION_PARTS)
                and not data.get(f"step-{index}-tile") and not (data.get(f"step-{index}-link") or "").strip())

    def used_steps(self) -> list[int]:
        return [index for index in range(self.step_count) if not self._blank(index)]

    def clean_person(self) -> Any:
        email = self.cleaned_data["person"].strip()
        model = Contact if self.journey.audience == Journey.Audience.CONTACT else Lead
        person = model.objects.filter(email__iexact=email).first()
        if person is None:
            raise forms.ValidationError(f"No {self.journey.audience} with the email {email!r}.")
        return person

    def rows(self) -> list[dict[str, Any]]:
        return [{"index": i, "parts": [self[f"step-{i}-{p}"] for p, _ in DURATION_PARTS],
                 "what": self[f"step-{i}-what"], "tile": self[f"step-{i}-tile"], "link": self[f"step-{i}-link"]}
                for i in range(self.step_count)]

    def payload_bound(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("payload-")]

    def payload(self) -> dict[str, Any]:
        data = {}
        for path, field in self.payload_fields.items():
            name = path.removeprefix("trigger.")
            value = (self.cleaned_data.get(f"payload-{name}") or "").strip()
            if value:
                data[name] = builder.number(value) if field.type == "number" else value
        return data

    def script(self) -> list[dict[str, Any]]:
        items = []
        for index in self.used_steps():
            after = {p: self.cleaned_data.get(f"step-{index}-{p}") for p, _ in DURATION_PARTS}
            item: dict[str, Any] = {"after": {p: v for p, v in after.items() if v}}
            what = self.cleaned_data.get(f"step-{index}-what", "")
            if what.startswith("trigger:"):
                item.update(trigger=what.removeprefix("trigger:"), payload={})
            else:
                item.update(interaction=what, tile=self.cleaned_data.get(f"step-{index}-tile") or "")
                if what == "clicked" and self.cleaned_data.get(f"step-{index}-link"):
                    item["link"] = self.cleaned_data[f"step-{index}-link"].strip()
            items.append(item)
        return items
