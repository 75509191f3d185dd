"""Journeys as code: a journey as a readable JSON or YAML document, and back.

The document names everything outside the journey by a stable key a person can read and another
Waymark can resolve — emails by key, segments, sales queues and webhook endpoints by name, users by
username, triggers by key — never by database id. `export_journey` writes it, `diff` says what
importing it would change, `import_journey` checks it (every problem with its path, like
`tiles.send_guide.email: no email with key 'x'`) and creates or updates a draft journey.
The same functions serve the API, the admin and the `export_journey` / `import_journey` commands.
"""

from __future__ import annotations

import copy
import datetime
import json
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from channels.models import Email
from contacts.models import SalesQueue
from journeys import catalog, triggers
from journeys.models import Journey
from journeys.validation import validate_journey
from segments.models import Segment

FORMAT = "waymark.journey/1"
TOP_KEYS = ("format", "name", "description", "audience", "entry", "governance", "start", "tiles", "canvas")
# Document key -> (model field, kind). Kinds say how a value is written and read.
ENTRY = {"trigger": ("entry_trigger", "trigger"), "conditions": ("entry_conditions", "query"),
         "segment": ("entry_segment", "segment"), "mode": ("entry_mode", "choice"),
         "at": ("entry_at", "datetime"), "repeat_every": ("repeat_every", "int"),
         "repeat_unit": ("repeat_unit", "choice")}
SEGMENT_ENTRY = ("segment", "mode", "at", "repeat_every", "repeat_unit")
GOVERNANCE = {name: (name, kind) for name, kind in (
    ("exclusion_segments", "segments"), ("honor_suppression", "bool"),
    ("exit_trigger", "trigger"), ("exit_segment", "segment"),
    ("goal_trigger", "trigger"), ("goal_segment", "segment"), ("goal_target_percent", "int"),
    ("re_entry", "choice"), ("re_entry_days", "int"), ("starts_at", "datetime"), ("ends_at", "datetime"),
    ("time_zone", "text"), ("use_contact_time_zone", "bool"),
    ("quiet_hours_start", "time"), ("quiet_hours_end", "time"),
    ("cap_per_day", "int"), ("cap_per_week", "int"), ("cap_action", "choice"), ("priority", "int"),
)}
FIELD_PATHS = {"name": "name", "description": "description", "audience": "audience",
               **{f: f"entry.{key}" for key, (f, _) in ENTRY.items()},
               **{f: f"governance.{key}" for key, (f, _) in GOVERNANCE.items()}}
TILE_REFERENCES = {"email", "segment", "user", "queue", "endpoint", "trigger"}  # catalog setting kinds


class DocumentError(ValueError):
    """The text is neither JSON nor YAML, or not a mapping."""


@dataclass
class ImportResult:
    journey: Journey | None = None
    created: bool = False
    dry_run: bool = False
    errors: list[str] = field(default_factory=list)  # "path: message"; nothing is saved when there are any
    changes: list[str] = field(default_factory=list)  # the diff, as shown before importing
    validation: dict[str, list[str]] = field(default_factory=dict)  # what going live would say (tile -> messages)

    @property
    def ok(self) -> bool:
        return not self.errors


# --- Text ------------------------------------------------------------------------------------------
def dumps(doc: dict[str, Any], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False, width=110)


def loads(text: str | bytes) -> dict[str, Any]:
    """A document from JSON or YAML text (JSON first: it is the stricter reading)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")
    try:
        doc = json.loads(text)
    except ValueError:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise DocumentError(f"The document is neither JSON nor YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise DocumentError("The document must be a mapping with a name and tiles.")
    return doc


# --- Export ----------------------------------------------------------------------------------------
def export_journey(journey: Journey) -> dict[str, Any]:
    """The journey (its draft tiles) as a document: stable keys, references by name or key."""
    names = _Names()
    entry: dict[str, Any] = {}
    if journey.entry_trigger:
        entry["trigger"] = journey.entry_trigger
        entry["conditions"] = _map_query(journey.entry_conditions, names.segment_in_query)
    if journey.entry_segment_id:
        entry.update(segment=names.segment(journey.entry_segment_id), mode=journey.entry_mode,
                     at=_iso(journey.entry_at), repeat_every=journey.repeat_every, repeat_unit=journey.repeat_unit)
    governance: dict[str, Any] = {}
    for key, (name, kind) in GOVERNANCE.items():
        if kind == "segments":
            governance[key] = sorted(s.name for s in journey.exclusion_segments.all())
        elif kind == "segment":
            governance[key] = names.segment(getattr(journey, f"{name}_id"))
        else:
            governance[key] = _written(getattr(journey, name), kind)
    stored = journey.tiles or {}
    tiles = {key: _map_tile(tile, names.tile_value) for key, tile in (stored.get("tiles") or {}).items()}
    doc = {"format": FORMAT, "name": journey.name, "description": journey.description,
           "audience": journey.audience, "entry": entry, "governance": governance,
           "start": stored.get("start") or None, "tiles": _ordered_tiles(stored.get("start"), tiles)}
    canvas = {k: v for k, v in stored.items() if k not in ("start", "tiles")}
    if canvas:
        doc["canvas"] = canvas
    return doc


class _Names:
    """Database ids to the names a document uses (each looked up once)."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, Any], Any] = {}

    def _get(self, kind: str, pk: Any, find: Callable[[Any], Any]) -> Any:
        if (kind, pk) not in self.cache:
            self.cache[kind, pk] = find(pk)
        return self.cache[kind, pk]

    def segment(self, pk: int | None) -> str | None:
        if pk is None:
            return None
        return self._get("segment", pk, lambda v: Segment.objects.filter(pk=v).values_list("name", flat=True).first()
                         or v)

    def segment_in_query(self, value: Any, path: str) -> Any:
        return self.segment(value) if isinstance(value, int) else value

    def tile_value(self, kind: str, value: Any, path: str) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            return value  # already a key or name (emails, triggers), or missing
        if kind == "segment":
            return self.segment(value)
        if kind == "user":
            model, name = get_user_model(), get_user_model().USERNAME_FIELD
        elif kind == "queue":
            model, name = SalesQueue, "name"
        elif kind == "endpoint" and _endpoint_model() is not None:
            model, name = _endpoint_model(), "name"
        else:
            return value
        return self._get(kind, value, lambda v: model.objects.filter(pk=v).values_list(name, flat=True).first() or v)


def _endpoint_model():
    """Webhook endpoints, where the channels app has them."""
    try:
        return apps.get_model("channels", "WebhookEndpoint")
    except LookupError:
        return None


def _iso(value: datetime.datetime | None) -> str | None:
    return value.astimezone(datetime.UTC).isoformat() if value is not None else None


def _written(value: Any, kind: str) -> Any:
    if kind == "datetime":
        return _iso(value)
    if kind == "time":
        return value.strftime("%H:%M:%S" if value.second else "%H:%M") if value is not None else None
    if kind == "trigger":
        return value or None
    return value


def _map_query(query: Any, segment: Callable[[Any, str], Any], path: str = "") -> Any:
    """A copy of a segment query with every segment reference passed through `segment`."""
    if not isinstance(query, dict):
        return copy.deepcopy(query)
    mapped = copy.deepcopy(query)
    for index, condition in enumerate(mapped.get("conditions") or []):
        here = f"{path}.conditions[{index}]" if path else f"conditions[{index}]"
        if not isinstance(condition, dict):
            continue
        if condition.get("type") == "segment" and "segment" in condition:
            condition["segment"] = segment(condition["segment"], f"{here}.segment")
        elif condition.get("type") == "group":
            mapped["conditions"][index] = _map_query(condition, segment, here)
    return mapped


def _map_tile(tile: Any, value: Callable[[str, Any, str], Any], path: str = "") -> Any:
    """A copy of a tile with its references (emails, segments, users…) passed through `value`,
    and any date or time YAML parsed written back as ISO text."""
    if not isinstance(tile, dict):
        return tile
    mapped = _plain(tile)
    kind = catalog.KINDS.get(tile.get("type"))
    for setting in kind.settings if kind else ():
        if setting.kind in TILE_REFERENCES and mapped.get(setting.name) not in (None, ""):
            mapped[setting.name] = value(setting.kind, mapped[setting.name], f"{path}.{setting.name}")
        if setting.kind == "branches" and isinstance(mapped.get(setting.name), list):
            for index, branch in enumerate(mapped[setting.name]):
                if isinstance(branch, dict) and "conditions" in branch:
                    branch["conditions"] = _map_query(
                        branch["conditions"], lambda v, p: value("segment", v, p),
                        f"{path}.{setting.name}[{index}].conditions")
    first = [k for k in ("type", "name") if k in mapped]
    return {k: mapped[k] for k in first + sorted(k for k in mapped if k not in first)}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value


def _ordered_tiles(start: Any, tiles: dict[str, Any]) -> dict[str, Any]:
    """Tiles in the order a reader follows them: from the start, each tile's ways out in canvas
    order; tiles no path reaches last, by key."""
    order: list[str] = []
    queue = [start] if start in tiles else []
    while queue:
        key = queue.pop(0)
        if key in order:
            continue
        order.append(key)
        queue.extend(o.target for o in catalog.outs(tiles[key]) if isinstance(o.target, str) and o.target in tiles)
    order.extend(sorted(k for k in tiles if k not in order))
    return {key: tiles[key] for key in order}


# --- Reading a document ----------------------------------------------------------------------------
def normalize(doc: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The document in the shape `export_journey` writes (defaults filled in, dates as ISO text),
    and every problem with its shape. References stay names: nothing is looked up."""
    errors: list[str] = []
    if not isinstance(doc, dict):
        return {}, ["the document must be a mapping"]
    errors += [f"{k}: unknown key; expected one of {', '.join(TOP_KEYS)}" for k in doc if k not in TOP_KEYS]
    if doc.get("format", FORMAT) != FORMAT:
        errors.append(f"format: expected {FORMAT!r}, not {doc.get('format')!r}")
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append("name: give the journey a name")
    description = doc.get("description") or ""
    if not isinstance(description, str):
        errors.append("description: must be text")
    governance_in = _mapping(doc, "governance", errors)
    zone = _zone(governance_in.get("time_zone"))
    entry_in = _mapping(doc, "entry", errors)
    entry = {}
    keys = ["trigger", "conditions"] if "trigger" in entry_in else []
    keys += list(SEGMENT_ENTRY) if "segment" in entry_in else []
    errors += [f"entry.{k}: unknown key; expected one of {', '.join(ENTRY)}" for k in entry_in if k not in ENTRY]
    errors += [f"entry.{k}: only for a segment entry; give entry.segment too" for k in SEGMENT_ENTRY[1:]
               if k in entry_in and "segment" not in entry_in]
    errors += ["entry.conditions: only for a trigger entry; give entry.trigger too"
               for k in ("conditions",) if k in entry_in and "trigger" not in entry_in]
    for key in keys:
        name_, kind = ENTRY[key]
        entry[key] = _read(entry_in.get(key, _default(name_, kind)), kind, f"entry.{key}", zone, errors)
    governance = {}
    errors += [f"governance.{k}: unknown setting; expected one of {', '.join(GOVERNANCE)}"
               for k in governance_in if k not in GOVERNANCE]
    for key, (name_, kind) in GOVERNANCE.items():
        governance[key] = _read(governance_in.get(key, _default(name_, kind)), kind, f"governance.{key}", zone, errors)
    if isinstance(governance["time_zone"], str) and _zone(governance["time_zone"]) is datetime.UTC \
            and governance["time_zone"] != "UTC":
        errors.append(f"governance.time_zone: unknown time zone {governance['time_zone']!r}; "
                      "give an IANA name like Europe/Stockholm")
    start = doc.get("start")
    if start is not None and not isinstance(start, str):
        errors.append("start: give the key of the first tile")
    tiles_in = doc.get("tiles") if doc.get("tiles") is not None else {}
    tiles = {}
    if not isinstance(tiles_in, dict):
        errors.append("tiles: must be a mapping of tile key to tile")
        tiles_in = {}
    for key, tile in tiles_in.items():
        if not isinstance(tile, dict):
            errors.append(f"tiles.{key}: a tile must be a mapping with a type")
        elif tile.get("type") not in catalog.KINDS:
            errors.append(f"tiles.{key}.type: unknown tile type {tile.get('type')!r}; "
                          f"expected one of {', '.join(catalog.KINDS)}")
        tiles[str(key)] = _map_tile(tile, lambda kind, v, p: v)
    canvas = doc.get("canvas") or {}
    if not isinstance(canvas, dict):
        errors.append("canvas: must be a mapping")
    result = {"format": FORMAT, "name": name.strip() if isinstance(name, str) else name,
              "description": description, "audience": doc.get("audience", Journey.Audience.CONTACT),
              "entry": entry, "governance": governance, "start": start or None,
              "tiles": _ordered_tiles(start, tiles)}
    if canvas and isinstance(canvas, dict):
        result["canvas"] = _plain(canvas)
    return result, errors


def _mapping(doc: dict[str, Any], key: str, errors: list[str]) -> dict[str, Any]:
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(f"{key}: must be a mapping")
        return {}
    return value


def _default(name: str, kind: str) -> Any:
    if kind == "segments":
        return []
    return _written(Journey._meta.get_field(name).get_default(), kind)


def _zone(value: Any) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(value) if isinstance(value, str) and value else datetime.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def _read(value: Any, kind: str, path: str, zone: datetime.tzinfo, errors: list[str]) -> Any:
    """One value in its written form; a wrong type is an error and the value is kept as given."""
    if value is None or (value == "" and kind != "text"):
        return [] if kind == "segments" else None
    problem = None
    if kind == "bool" and not isinstance(value, bool):
        problem = "must be true or false"
    elif kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        problem = "must be a whole number"
    elif kind in ("text", "trigger", "choice", "segment") and not isinstance(value, str):
        problem = "must be text" if kind != "segment" else "give the segment's name"
    elif kind == "segments":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problem = "give a list of segment names"
    elif kind == "query" and not isinstance(value, dict):
        problem = "must be a segment query (a mapping with conditions)"
    elif kind == "datetime":
        return _read_datetime(value, path, zone, errors)
    elif kind == "time":
        return _read_time(value, path, errors)
    if problem:
        errors.append(f"{path}: {problem}")
        return value
    return _plain(value)


def _read_datetime(value: Any, path: str, zone: datetime.tzinfo, errors: list[str]) -> Any:
    """ISO 8601 text (or a YAML timestamp); without an offset it is in the journey's time zone."""
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            errors.append(f"{path}: not a date and time; write it like 2026-11-02T09:00:00+01:00")
            return value
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time())
    if not isinstance(value, datetime.datetime):
        errors.append(f"{path}: not a date and time; write it like 2026-11-02T09:00:00+01:00")
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return _iso(value)


def _read_time(value: Any, path: str, errors: list[str]) -> Any:
    # YAML 1.1 reads an unquoted 21:00 as the base-60 number 1260, which is minutes after midnight.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return f"{value // 60:02d}:{value % 60:02d}"
    if isinstance(value, str):
        try:
            return _written(datetime.time.fromisoformat(value), "time")
        except ValueError:
            pass
    errors.append(f"{path}: not a time of day; write it like \"21:00\"")
    return value


# --- Import ----------------------------------------------------------------------------------------
def import_journey(doc: dict[str, Any] | str | bytes, *, now: datetime.datetime, user=None, dry_run: bool = False,
                   journey: Journey | None = None) -> ImportResult:
    """Check a document, resolve its references and create a draft journey (or overwrite the draft
    `journey`); with `dry_run`, only say what would change. Nothing is saved when there are errors.
    `now` is when the import happens (kept for the services' shape: drafts record no times)."""
    result = ImportResult(dry_run=dry_run, created=journey is None)
    try:
        raw = loads(doc) if isinstance(doc, str | bytes) else doc
    except DocumentError as exc:
        result.errors.append(str(exc))
        return result
    canonical, result.errors = normalize(raw)
    if not canonical:
        return result
    if journey is not None and journey.status != Journey.Status.DRAFT:
        result.errors.insert(0, f"journey {journey.name!r} is {journey.get_status_display().lower()}: only a draft "
                                "can be overwritten; create a new version instead")
    result.changes = diff(canonical, journey)
    target = Journey.objects.get(pk=journey.pk) if journey is not None else Journey(created_by=user)
    exclusions = _apply(canonical, target, result.errors) if not result.errors else []
    if result.errors:
        return result
    result.validation = validate_journey(target)
    if dry_run:
        result.journey = journey
        return result
    with transaction.atomic():
        if journey is not None:
            locked = Journey.objects.select_for_update().get(pk=journey.pk)
            if locked.status != Journey.Status.DRAFT:
                result.errors.append(f"journey {journey.name!r} went {locked.status} meanwhile; "
                                     "create a new version instead")
                return result
        target.save()
        target.exclusion_segments.set(exclusions)
    result.journey = target
    return result


def _apply(doc: dict[str, Any], journey: Journey, errors: list[str]) -> list[int]:
    """Resolve references and set the journey's fields (unsaved); return the exclusion segment ids."""
    refs = _References(doc["audience"], errors)
    journey.name, journey.description, journey.audience = doc["name"], doc["description"], doc["audience"]
    entry = doc["entry"]
    for key, (name, kind) in ENTRY.items():
        value = entry.get(key, _default(name, kind))
        if kind == "query":
            value = _map_query(value, refs.segment_id, f"entry.{key}") if value is not None else None
        setattr(journey, name, refs.value(kind, value, f"entry.{key}"))
    exclusions = [refs.segment_id(n, f"governance.exclusion_segments[{i}]")
                  for i, n in enumerate(doc["governance"]["exclusion_segments"])]
    for key, (name, kind) in GOVERNANCE.items():
        if kind != "segments":
            setattr(journey, name, refs.value(kind, doc["governance"][key], f"governance.{key}"))
    tiles = {key: _map_tile(tile, refs.tile_value, f"tiles.{key}") for key, tile in doc["tiles"].items()}
    journey.tiles = {**doc.get("canvas", {}), "start": doc["start"] or "", "tiles": tiles}
    try:
        journey.full_clean(exclude=["tiles", "created_by", "next_entry_at", "status"], validate_unique=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.extend(f"{FIELD_PATHS.get(name, name)}: {m}" for m in messages)
    return exclusions


class _References:
    """Names in a document to the rows they stand for; each problem is recorded with its path."""

    def __init__(self, audience: str, errors: list[str]) -> None:
        self.audience, self.errors = audience, errors

    def value(self, kind: str, value: Any, path: str) -> Any:
        if kind == "segment":
            return self.segment(value, path) if value else None
        if kind == "trigger":
            return self.trigger(value, path) or ""
        if kind == "datetime":
            return datetime.datetime.fromisoformat(value) if value else None
        if kind == "time":
            return datetime.time.fromisoformat(value) if value else None
        return value

    def segment(self, name: Any, path: str) -> Segment | None:
        if not isinstance(name, str):
            self.errors.append(f"{path}: give the segment's name, not {name!r}")
            return None
        return self._one(list(Segment.objects.filter(name=name)[:2]), path, f"segment named {name!r}")

    def segment_id(self, name: Any, path: str) -> int | None:
        segment = self.segment(name, path)
        return segment.pk if segment is not None else None

    def trigger(self, key: str | None, path: str) -> str | None:
        if key and not triggers.is_registered(key):
            self.errors.append(f"{path}: no trigger with key {key!r}")
        return key

    def tile_value(self, kind: str, value: Any, path: str) -> Any:
        if kind == "trigger":
            return self.trigger(value, path)
        if kind == "email":
            if not isinstance(value, str) or not Email.objects.filter(key=value).exists():
                self.errors.append(f"{path}: no email with key {value!r}")
            return value
        if kind == "segment":
            return self.segment_id(value, path)
        if not isinstance(value, str):
            self.errors.append(f"{path}: give a name, not {value!r}")
            return value
        if kind == "user":
            user_model = get_user_model()
            found = list(user_model.objects.filter(**{user_model.USERNAME_FIELD: value}).values_list("pk", flat=True))
            return self._one(found, path, f"user with username {value!r}")
        if kind == "queue":
            return self._one(list(SalesQueue.objects.filter(name=value).values_list("pk", flat=True)), path,
                             f"sales queue named {value!r}")
        model = _endpoint_model()
        if model is None:
            self.errors.append(f"{path}: webhook endpoints are not available in this Waymark")
            return value
        return self._one(list(model.objects.filter(name=value).values_list("pk", flat=True)[:3]), path,
                         f"webhook endpoint named {value!r}")

    def _one(self, found: list[Any], path: str, what: str) -> Any:
        if not found:
            self.errors.append(f"{path}: no {what}")
            return None
        if len(found) > 1:
            self.errors.append(f"{path}: more than one {what}; rename one so the name is unique")
            return None
        return found[0]


# --- Diff ------------------------------------------------------------------------------------------
def diff(doc: dict[str, Any], journey: Journey | None) -> list[str]:
    """What importing `doc` over `journey` (None: as a new journey) would change, one line each:
    `~ path: old → new`, `+ tile k (Kind)`, `- tile k (Kind)`, `~ tile k (Kind): field old → new, …`."""
    new, _errors = normalize(doc)
    if journey is None:
        return [f"+ new journey {_show(new.get('name'))}"] + [
            f"+ tile {key} ({_kind(tile)})" for key, tile in new["tiles"].items()]
    old = export_journey(journey)
    lines = []
    for key in ("name", "description", "audience", "start"):
        if old.get(key) != new.get(key):
            lines.append(f"~ {key}: {_show(old.get(key))} → {_show(new.get(key))}")
    for section in ("entry", "governance", "canvas"):
        lines += _changed_fields(old.get(section) or {}, new.get(section) or {}, f"{section}.")
    old_tiles, new_tiles = old["tiles"], new["tiles"]
    for key, tile in new_tiles.items():
        if key not in old_tiles:
            lines.append(f"+ tile {key} ({_kind(tile)})")
        elif old_tiles[key] != tile:
            fields = [f"{path} {_show(a)} → {_show(b)}" for path, a, b in _differences(old_tiles[key], tile)]
            lines.append(f"~ tile {key} ({_kind(tile)}): " + ", ".join(fields))
    lines += [f"- tile {key} ({_kind(tile)})" for key, tile in old_tiles.items() if key not in new_tiles]
    return lines


def _changed_fields(old: dict[str, Any], new: dict[str, Any], prefix: str) -> list[str]:
    lines = []
    for key in list(old) + [k for k in new if k not in old]:
        if key not in new:
            lines.append(f"- {prefix}{key}: {_show(old[key])}")
        elif key not in old:
            lines.append(f"+ {prefix}{key}: {_show(new[key])}")
        else:
            lines += [f"~ {prefix}{path}: {_show(a)} → {_show(b)}"
                      for path, a, b in _differences(old[key], new[key], key)]
    return lines


def _differences(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, old, new) for each changed value, down into mappings and same-length lists, so that a
    changed branch target reads `branches[0].next`, not the whole list."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        return [change for key in list(old) + [k for k in new if k not in old]
                for change in _differences(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [change for index, (a, b) in enumerate(zip(old, new, strict=True))
                for change in _differences(a, b, f"{path}[{index}]")]
    return [(path, old, new)]


def _show(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind(tile: Any) -> str:
    kind = catalog.KINDS.get(tile.get("type")) if isinstance(tile, dict) else None
    return kind.label if kind else str(tile.get("type") if isinstance(tile, dict) else tile)
