"""Forms of the journey pages: the list's filters, a new journey and its entry, the journey
settings (governance), and each tile's settings — built from `journeys.catalog`, so a tile kind
added there gets its side-panel form without a change here."""

from __future__ import annotations

import datetime
import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.http import QueryDict

from channels.models import Email, WebhookEndpoint
from contacts.models import Contact, Lead, SalesQueue
from journeys import catalog, triggers
from journeys.models import Journey
from segments import catalog as segment_catalog
from segments.forms import builder, builder_choices
from segments.forms.controls import Choices
from segments.models import Segment

TYPE_CHOICES = [("trigger", "Trigger-based: starts when something happens"),
                ("segment", "Segment-based: members of a segment enter")]
DURATION_PARTS = (("days", "days"), ("hours", "hours"), ("minutes", "minutes"))
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
ID_KINDS = ("user", "queue", "segment", "endpoint")  # settings stored as a row's id


@cache
def time_zones() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def trigger_choices(blank: str = "") -> list[tuple[str, Any]]:
    """Every trigger, grouped by category ("Records", "Interactions"…), as "Name (key)"."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for trigger in triggers.catalog():
        category = triggers.CATEGORIES.get(trigger.category, "Other")
        groups.setdefault(category, []).append((trigger.key, f"{trigger.name} ({trigger.key})"))
    grouped = list(groups.items())
    return [("", blank), *grouped] if blank else grouped


def ready_segments(audience: str | None = None):
    segments = Segment.objects.filter(status=Segment.Status.READY).order_by("name")
    return segments.filter(audience=audience) if audience else segments


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entry_trigger"].choices = trigger_choices("Choose a trigger…")
        self.fields["entry_segment"].queryset = ready_segments()
        self.fields["entry_segment"].empty_label = "Choose a segment…"
        self.fields["entry_at"].input_formats = ["%Y-%m-%dT%H:%M"]
        self.fields["entry_type"].initial = "segment" if self.instance.entry_segment_id else "trigger"
        if self.instance.pk and self.instance.runs.exists():
            self.fields["audience"].disabled = True

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


# --- Tile settings ----------------------------------------------------------------------------------
class TileForm(forms.Form):
    """One tile's settings, fields made from its kind's catalog entry (prefix "t")."""

    def __init__(self, *args: Any, tile: dict[str, Any], journey: Journey, key: str, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "t")
        super().__init__(*args, **kwargs)
        self.tile, self.journey, self.key = tile, journey, key
        self.kind = catalog.KINDS[tile["type"]]
        self.durations: list[catalog.Setting] = []
        self.settings = list(self.kind.settings)
        if not any(s.name == "name" for s in self.settings) and self.kind.type != "exit":
            # Every tile may have a name (its label on the canvas), whether or not its kind lists one.
            self.settings.insert(0, catalog.Setting("name", "text", "Label", required=False,
                                                    help="Shown on the canvas instead of the tile type"))
        for setting in self.settings:
            if setting.kind == "duration":
                self.durations.append(setting)
                for part, label in DURATION_PARTS:
                    self.fields[f"{setting.name}_{part}"] = forms.IntegerField(
                        required=False, min_value=0, label=f"{setting.label} ({label})",
                        initial=(tile.get(setting.name) or {}).get(part))
                continue
            made = self._field(setting)
            if made is not None:
                made.initial = self._initial(setting)
                self.fields[setting.name] = made

    def _field(self, setting: catalog.Setting) -> forms.Field | None:
        common = {"label": setting.label, "required": False, "help_text": setting.help}
        choices = self._choices(setting)
        if choices is not None:
            return forms.ChoiceField(choices=[("", "Choose…"), *choices], **common)
        if setting.kind == "number":
            return forms.IntegerField(min_value=0, **common)
        if setting.kind == "datetime":
            return forms.DateTimeField(widget=DATETIME_WIDGET, input_formats=["%Y-%m-%dT%H:%M"], **common)
        if setting.kind == "text":
            long = setting.name in ("description", "message", "body")
            return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}) if long else forms.TextInput, **common)
        return None  # branches, variants, query and json are edited by their own controls

    def _choices(self, setting: catalog.Setting) -> list[tuple[Any, str]] | None:
        if setting.kind == "choice":
            return list(setting.choices)
        if setting.kind == "trigger":
            return trigger_choices()
        if setting.kind == "email":
            published = Email.objects.filter(versions__isnull=False).distinct().order_by("name")
            return list(published.values_list("key", "name"))
        if setting.kind == "segment":
            static = Segment.objects.filter(kind=Segment.Kind.STATIC, audience=self.journey.audience)
            return [(str(pk), name) for pk, name in static.order_by("name").values_list("pk", "name")]
        if setting.kind == "user":
            users = get_user_model().objects.filter(is_active=True).order_by("username")
            return [(str(u.pk), u.get_full_name() or u.username) for u in users]
        if setting.kind == "queue":
            return [(str(pk), name) for pk, name in SalesQueue.objects.values_list("pk", "name")]
        if setting.kind == "endpoint":
            active = WebhookEndpoint.objects.filter(active=True).order_by("name")
            return [(str(pk), f"{name} ({url})") for pk, name, url in active.values_list("pk", "name", "url")]
        if setting.kind == "tile":
            tiles = (self.journey.tiles or {}).get("tiles") or {}
            return [(k, catalog.label(t)) for k, t in tiles.items()
                    if isinstance(t, dict) and t.get("type") == "send_email" and k != self.key]
        return None

    def _initial(self, setting: catalog.Setting) -> Any:
        value = self.tile.get(setting.name)
        if setting.kind == "datetime" and isinstance(value, str):
            try:
                return datetime.datetime.fromisoformat(value)
            except ValueError:
                return None
        return "" if value is None else (str(value) if setting.kind in ID_KINDS else value)

    def to_tile(self) -> dict[str, Any]:
        """The tile with the cleaned settings laid over it (its ways out and paths unchanged)."""
        tile = dict(self.tile)
        for setting in self.settings:
            if setting.kind == "duration":
                parts = {p: self.cleaned_data.get(f"{setting.name}_{p}") for p, _ in DURATION_PARTS}
                parts = {p: v for p, v in parts.items() if v}
                _store(tile, setting.name, parts or None)
            elif setting.name in self.fields:
                value = self.cleaned_data.get(setting.name)
                if setting.kind in ID_KINDS and value:
                    value = int(value)
                elif setting.kind == "datetime" and value:
                    value = value.isoformat()
                _store(tile, setting.name, value)
        return tile

    def duration_rows(self) -> list[dict[str, Any]]:
        """The duration settings as rows of three inputs (days, hours, minutes) for the template."""
        return [{"setting": s, "fields": [self[f"{s.name}_{p}"] for p, _ in DURATION_PARTS]} for s in self.durations]

    def plain_fields(self) -> list[forms.BoundField]:
        durations = {f"{s.name}_{p}" for s in self.durations for p, _ in DURATION_PARTS}
        return [self[name] for name in self.fields if name not in durations]


def _store(tile: dict[str, Any], name: str, value: Any) -> None:
    if value in (None, "", {}):
        tile.pop(name, None)
    else:
        tile[name] = value


def read_paths(data: QueryDict, tile: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Names (and percentages) of a branch, A/B or split tile's paths as posted (`path-<i>-name`,
    `path-<i>-percent`); returns the tile and the problems found."""
    kind = catalog.KINDS[tile["type"]]
    tile = dict(tile)
    items = [dict(item) for item in tile.get(kind.list_outs) or []]
    problems = []
    for index, item in enumerate(items):
        name = data.get(f"path-{index}-name")
        if name is not None:
            item["name"] = name.strip() or item.get("name") or f"Path {index + 1}"
        percent = data.get(f"path-{index}-percent")
        if percent is not None and kind.type != "attribute_branch":
            try:
                item["percent"] = max(0, min(100, int(percent)))
            except ValueError:
                problems.append(f"{item.get('name', f'Path {index + 1}')}: the percentage must be a whole number.")
    if kind.other_out and data.get("other_name") is not None:
        tile["other_name"] = data["other_name"].strip() or "Other"
    tile[kind.list_outs] = items
    if kind.type != "attribute_branch" and items:
        total = sum(int(item.get("percent") or 0) for item in items)
        if total != 100:
            problems.append(f"The percentages add up to {total}%; they must add up to 100%.")
    return tile, problems


# --- Conditions (the segment condition editor, with the entry trigger's payload fields) ------------
def trigger_fields(trigger: str) -> dict[str, segment_catalog.Field]:
    """The entry trigger's payload fields, offered as `trigger.<field>` in conditions."""
    if not triggers.is_registered(trigger or ""):
        return {}
    properties = triggers.schema_for(trigger).get("properties") or {}
    fields = {}
    for name, schema in properties.items():
        kind = schema.get("type")
        kind = kind[0] if isinstance(kind, list) else kind
        if kind in ("object", "array"):
            continue
        path = f"trigger.{name}"
        fields[path] = segment_catalog.Field(path, f"Trigger: {name}", "number" if kind in ("number", "integer")
                                             else "text", path)
    return fields


def condition_choices(journey: Journey) -> Choices:
    """What the condition editor offers in a journey: the audience's fields plus the trigger's."""
    choices = builder_choices(Segment(audience=journey.audience))
    choices.fields = {**trigger_fields(journey.entry_trigger), **choices.fields}
    return choices


def read_conditions(data: QueryDict, query: dict[str, Any], *, journey: Journey) -> dict[str, Any]:
    """Lay the posted condition controls over `query` (in place), trigger fields included. The
    segment builder's reader only knows the audience's fields, so it is given the trigger's too."""
    reader = builder._Reader(data, journey.audience)
    extra = trigger_fields(journey.entry_trigger)
    reader.fields = {**extra, **reader.fields}
    reader.group(query, builder.ROOT)
    _mark_value_types(query, extra)
    return query


def _mark_value_types(group: dict[str, Any], fields: dict[str, segment_catalog.Field]) -> None:
    for condition in group.get("conditions") or []:
        if not isinstance(condition, dict):
            continue
        if condition.get("type") == "group":
            _mark_value_types(condition, fields)
        elif condition.get("field") in fields:
            if fields[condition["field"]].type == "number":
                condition["value_type"] = "number"
            else:
                condition.pop("value_type", None)


# --- Test mode --------------------------------------------------------------------------------------
INTERACTIONS = [("opened", "Opens an email"), ("clicked", "Clicks in an email")]
MAX_TEST_STEPS = 20


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
        self.email_tiles = [(k, catalog.label(t)) for k, t in tiles.items()
                            if isinstance(t, dict) and t.get("type") == "send_email"]
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
        for index in range(self.step_count):
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
