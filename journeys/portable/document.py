"""The journey document: its format, reading and writing it as text, and its shape — `normalize`
checks a document and puts it in the form `export_journey` writes (defaults filled in, times as ISO
text) without looking anything up. References stay names here; `importing` resolves them."""

from __future__ import annotations

import copy
import datetime
import json
import zoneinfo
from collections.abc import Callable
from typing import Any

import yaml

from journeys import catalog
from journeys.models import Journey

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


# --- Text ------------------------------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):
    """Safe YAML, with text of several lines (descriptions, SMS bodies) as readable `|` blocks."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and value == value.strip(" ") and "\t" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dumps(doc: dict[str, Any], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=110)


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

def iso(value: datetime.datetime | None) -> str | None:
    return value.astimezone(datetime.UTC).isoformat() if value is not None else None


def written(value: Any, kind: str) -> Any:
    if kind == "datetime":
        return iso(value)
    if kind == "time":
        return value.strftime("%H:%M:%S" if value.second else "%H:%M") if value is not None else None
    if kind == "trigger":
        return value or None
    return value


def map_query(query: Any, segment: Callable[[Any, str], Any], path: str = "") -> Any:
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
            mapped["conditions"][index] = map_query(condition, segment, here)
    return mapped


def map_tile(tile: Any, value: Callable[[str, Any, str], Any], path: str = "") -> Any:
    """A copy of a tile with its references (emails, segments, users…) passed through `value`,
    and any date or time YAML parsed written back as ISO text."""
    if not isinstance(tile, dict):
        return tile
    mapped = plain(tile)
    kind = catalog.KINDS.get(tile.get("type"))
    for setting in kind.settings if kind else ():
        if setting.kind in TILE_REFERENCES and mapped.get(setting.name) not in (None, ""):
            mapped[setting.name] = value(setting.kind, mapped[setting.name], f"{path}.{setting.name}")
        if setting.kind == "branches" and isinstance(mapped.get(setting.name), list):
            for index, branch in enumerate(mapped[setting.name]):
                if isinstance(branch, dict) and "conditions" in branch:
                    branch["conditions"] = map_query(
                        branch["conditions"], lambda v, p: value("segment", v, p),
                        f"{path}.{setting.name}[{index}].conditions")
    first = [k for k in ("type", "name") if k in mapped]
    return {k: mapped[k] for k in first + sorted(k for k in mapped if k not in first)}


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value


def ordered_tiles(start: Any, tiles: dict[str, Any]) -> dict[str, Any]:
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
        entry[key] = _read(entry_in.get(key, default(name_, kind)), kind, f"entry.{key}", zone, errors)
    governance = {}
    errors += [f"governance.{k}: unknown setting; expected one of {', '.join(GOVERNANCE)}"
               for k in governance_in if k not in GOVERNANCE]
    for key, (name_, kind) in GOVERNANCE.items():
        governance[key] = _read(governance_in.get(key, default(name_, kind)), kind, f"governance.{key}", zone, errors)
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
        tiles[str(key)] = map_tile(tile, lambda kind, v, p: v)
    canvas = doc.get("canvas") or {}
    if not isinstance(canvas, dict):
        errors.append("canvas: must be a mapping")
    result = {"format": FORMAT, "name": name.strip() if isinstance(name, str) else name,
              "description": description, "audience": doc.get("audience", Journey.Audience.CONTACT),
              "entry": entry, "governance": governance, "start": start or None,
              "tiles": ordered_tiles(start, tiles)}
    if canvas and isinstance(canvas, dict):
        result["canvas"] = plain(canvas)
    return result, errors


def _mapping(doc: dict[str, Any], key: str, errors: list[str]) -> dict[str, Any]:
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(f"{key}: must be a mapping")
        return {}
    return value


def default(name: str, kind: str) -> Any:
    if kind == "segments":
        return []
    return written(Journey._meta.get_field(name).get_default(), kind)


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
    return plain(value)


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
    return iso(value)


def _read_time(value: Any, path: str, errors: list[str]) -> Any:
    # YAML 1.1 reads an unquoted 21:00 as the base-60 number 1260, which is minutes after midnight.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return f"{value // 60:02d}:{value % 60:02d}"
    if isinstance(value, str):
        try:
            return written(datetime.time.fromisoformat(value), "time")
        except ValueError:
            pass
    errors.append(f"{path}: not a time of day; write it like \"21:00\"")
    return value
