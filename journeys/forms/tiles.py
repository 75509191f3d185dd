"""A tile's settings in the side panel, made from its kind's catalog entry, and the names and
percentages of its paths."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.http import QueryDict

from channels.models import Email, WebhookEndpoint
from contacts.models import SalesQueue
from journeys import catalog
from journeys.forms.common import DATETIME_WIDGET, DURATION_PARTS, ID_KINDS, trigger_choices
from journeys.models import Journey
from segments.models import Segment


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
