"""What importing a document would change, one readable line per change."""

from __future__ import annotations

import json
from typing import Any

from journeys import catalog
from journeys.models import Journey
from journeys.portable.document import normalize
from journeys.portable.exporting import export_journey


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
