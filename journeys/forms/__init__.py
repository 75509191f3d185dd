"""Forms of the journey pages: the list's filters, a new journey and its entry, the journey
settings (governance); each tile's settings (journeys/forms/tiles.py, built from `journeys.catalog`,
so a tile kind added there gets its side-panel form without a change here), conditions
(journeys/forms/conditions.py) and test mode (journeys/forms/testmode.py)."""

from __future__ import annotations

from typing import Any

from django import forms

from journeys.forms.common import (
    DATETIME_WIDGET,
    TIME_WIDGET,
    TYPE_CHOICES,
    ready_segments,
    time_zones,
    trigger_choices,
)
from journeys.forms.conditions import condition_choices, read_conditions, trigger_fields
from journeys.forms.testmode import MAX_TEST_STEPS, TestRunForm
from journeys.forms.tiles import TileForm, read_paths
from journeys.models import Journey

__all__ = [
    "EntryForm", "JourneyFilterForm", "MAX_TEST_STEPS", "SettingsForm", "TestRunForm", "TileForm", "condition_choices",
    "read_conditions", "read_paths", "trigger_choices", "trigger_fields",
]


class JourneyFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", widget=forms.SearchInput(
        attrs={"placeholder": "Journey name or description", "autocomplete": "off"}))
    status = forms.ChoiceField(choices=[("", "Any status"), *Journey.Status.choices], required=False)
    type = forms.ChoiceField(choices=[("", "Any type"), ("trigger", "Trigger-based"), ("segment", "Segment-based")],
                             required=False)

    def filters(self) -> dict[str, Any]:
        return self.cleaned_data if self.is_valid() else {}


class EntryForm(forms.ModelForm):
    """Name, audience and entry: a trigger (conditions come from the condition editor) or a
    segment with its mode. Used to create a journey and, in the side panel, to change its entry."""

    entry_type = forms.ChoiceField(choices=TYPE_CHOICES, widget=forms.RadioSelect, label="How people enter")
    entry_trigger = forms.ChoiceField(required=False, label="Trigger")

    class Meta:
        model = Journey
        fields = ["name", "description", "audience", "entry_trigger", "entry_segment", "entry_mode", "entry_at",
                  "repeat_every", "repeat_unit"]
        widgets = {
            "name": forms.TextInput(attrs={"placeholder": "e.g. Brew Better at Home", "autocomplete": "off"}),
            "description": forms.Textarea(attrs={"rows": 2, "placeholder": "What this journey is for (optional)"}),
            "entry_at": DATETIME_WIDGET,
        }
        labels = {"entry_segment": "Segment", "entry_mode": "Mode", "entry_at": "Enter at",
                  "repeat_every": "Repeat every"}

    def __init__(self, *args: Any, lock_entry: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entry_trigger"].choices = trigger_choices("Choose a trigger…")
        self.fields["entry_segment"].queryset = ready_segments()
        self.fields["entry_segment"].empty_label = "Choose a segment…"
        self.fields["entry_at"].input_formats = ["%Y-%m-%dT%H:%M"]
        self.fields["entry_type"].initial = "segment" if self.instance.entry_segment_id else "trigger"
        if self.instance.pk and self.instance.runs.exists():
            self.fields["audience"].disabled = True
        self.entry_locked = lock_entry
        if lock_entry:  # a live journey: only its name and description may change
            for name, field in self.fields.items():
                field.disabled = field.disabled or name not in ("name", "description")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("entry_type") == "segment":
            data["entry_trigger"] = ""
            segment = data.get("entry_segment")
            if segment is None:
                self.add_error("entry_segment", "Choose the segment whose members enter.")
            elif data.get("audience") and segment.audience != data["audience"]:
                noun = segment.get_audience_display().lower()
                self.add_error("entry_segment", f"“{segment}” is a segment of {noun}.")
            if data.get("entry_mode") == Journey.EntryMode.REPEATING and not data.get("repeat_every"):
                self.add_error("repeat_every", "Say how often members enter again.")
        else:
            data["entry_segment"] = None
            if not data.get("entry_trigger"):
                self.add_error("entry_trigger", "Choose the trigger that starts the journey.")
        return data

    def save(self, commit: bool = True) -> Journey:
        journey = super().save(commit=False)
        if self.cleaned_data.get("entry_type") == "segment":
            journey.entry_trigger, journey.entry_conditions = "", None
        else:
            journey.entry_segment = None
        if commit:
            journey.save()
        return journey


class SettingsForm(forms.ModelForm):
    """The journey's governance: exclusions, suppression, exit, goal, re-entry, schedule, time
    zone, quiet hours, frequency caps and priority."""

    exit_trigger = forms.ChoiceField(required=False, label="Exit when this happens")
    goal_trigger = forms.ChoiceField(required=False, label="Goal: this happens")
    time_zone = forms.ChoiceField(label="Time zone")

    class Meta:
        model = Journey
        fields = ["exclusion_segments", "honor_suppression", "exit_trigger", "exit_segment", "goal_trigger",
                  "goal_segment", "goal_target_percent", "re_entry", "re_entry_days", "starts_at", "ends_at",
                  "time_zone", "use_contact_time_zone", "quiet_hours_start", "quiet_hours_end", "cap_per_day",
                  "cap_per_week", "cap_action", "priority"]
        widgets = {"starts_at": DATETIME_WIDGET, "ends_at": DATETIME_WIDGET, "quiet_hours_start": TIME_WIDGET,
                   "quiet_hours_end": TIME_WIDGET, "exclusion_segments": forms.CheckboxSelectMultiple}
        labels = {
            "exclusion_segments": "Never enter (exclusion segments)", "honor_suppression": "Honour the global "
            "suppression segment", "exit_segment": "Or when they enter this segment", "goal_segment":
            "Or when they are in this segment", "goal_target_percent": "Target (% of people who enter)",
            "re_entry": "Can people enter again?", "re_entry_days": "After how many days", "starts_at": "Start",
            "ends_at": "End", "use_contact_time_zone": "Use the person's own time zone when known",
            "quiet_hours_start": "Quiet hours from", "quiet_hours_end": "Quiet hours until",
            "cap_per_day": "At most per day", "cap_per_week": "At most per week", "cap_action": "Over the cap",
        }
        help_texts = {"honor_suppression": "",
                      "exclusion_segments": "Members never enter, and leave at their next step."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        audience = self.instance.audience
        self.fields["exit_trigger"].choices = trigger_choices("No exit trigger")
        self.fields["goal_trigger"].choices = trigger_choices("No goal trigger")
        self.fields["time_zone"].choices = time_zones()
        for name in ("exclusion_segments", "exit_segment", "goal_segment"):
            self.fields[name].queryset = ready_segments(audience)
        self.fields["exit_segment"].empty_label = self.fields["goal_segment"].empty_label = "None"
        for name in ("starts_at", "ends_at"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("re_entry") == Journey.ReEntry.AFTER_DAYS and not data.get("re_entry_days"):
            self.add_error("re_entry_days", "Say after how many days people may enter again.")
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", "The end must come after the start.")
        if bool(data.get("quiet_hours_start")) != bool(data.get("quiet_hours_end")):
            self.add_error("quiet_hours_end", "Give quiet hours both a start and an end.")
        percent = data.get("goal_target_percent")
        if percent is not None and not 0 < percent <= 100:
            self.add_error("goal_target_percent", "A target is a percentage between 1 and 100.")
        return data
