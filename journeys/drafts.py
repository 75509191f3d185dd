"""Editing a journey's draft tiles as a graph: insert a tile on a connector, delete one and
reconnect the flow, point a way out at another tile, and the undo history.

Pure functions over the draft document `{"start": <key>, "tiles": {<key>: tile}}` (see
journeys/catalog.py): they return a new document and never touch the database, so the builder's
views, the API and tests share them. The first way out of an inserted tile takes over the
connector's old target; its other ways out end the journey until the marketer adds tiles there.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from journeys import catalog
from journeys.models.journeys import EXIT

Doc = dict[str, Any]
START = ""  # the `after` of the connector into the first tile
HISTORY_LIMIT = 20
_KEY_PART = re.compile(r"[^a-z0-9]+")


class DraftError(ValueError):
    """An edit that cannot be made (unknown tile, unknown way out, a kind that cannot go there)."""


def normalized(doc: Any) -> Doc:
    """A copy of `doc` with the shape the editor expects (anything unreadable becomes empty)."""
    doc = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    tiles = doc.get("tiles") if isinstance(doc.get("tiles"), dict) else {}
    start = doc.get("start") if isinstance(doc.get("start"), str) else ""
    return {**doc, "start": start, "tiles": tiles}


def new_key(doc: Doc, kind: str) -> str:
    """A readable key that is free in `doc`: "send_email", "send_email_2", …"""
    base = _KEY_PART.sub("_", kind.lower()).strip("_") or "tile"
    taken = set(doc["tiles"])
    if base not in taken and base != EXIT:
        return base
    number = 2
    while f"{base}_{number}" in taken:
        number += 1
    return f"{base}_{number}"


def default_tile(kind: str) -> dict[str, Any]:
    """A new tile of `kind` with the settings a marketer would start from; every way out ends."""
    spec = catalog.KINDS.get(kind)
    if spec is None:
        raise DraftError(f"Unknown tile type {kind!r}")
    tile: dict[str, Any] = {"type": kind}
    if kind == "wait":
        tile["days"] = 1
    elif kind == "wait_trigger":
        tile["timeout"] = {"days": 3}
    elif kind == "interaction_branch":
        tile.update(interaction="opened", within={"days": 3})
    elif kind == "attribute_branch":
        tile["branches"] = [{"name": "Branch 1", "conditions": {"version": 1, "match": "all", "conditions": []},
                             "next": EXIT}]
    elif kind == "ab_test":
        tile.update(metric="opened", variants=[{"name": "A", "percent": 50, "next": EXIT},
                                               {"name": "B", "percent": 50, "next": EXIT}])
    elif kind == "split":
        tile["branches"] = [{"name": "Path 1", "percent": 50, "next": EXIT},
                            {"name": "Path 2", "percent": 50, "next": EXIT}]
    elif kind == "update_record":
        tile["target"] = "person"
    for out in catalog.outs(tile):
        catalog.set_out(tile, out.where, EXIT)
    return tile


def target_of(doc: Doc, after: str, where: str) -> str:
    """Where the connector (`after`, `where`) leads now: a tile key, "exit" or ""."""
    if after == START:
        return doc["start"]
    tile = doc["tiles"].get(after)
    if tile is None:
        raise DraftError(f"No tile {after!r} in this journey")
    for out in catalog.outs(tile):
        if out.where == where:
            return out.target if isinstance(out.target, str) else ""
    raise DraftError(f"Tile {after!r} has no way out {where!r}")


def _point(doc: Doc, after: str, where: str, target: str) -> None:
    if after == START:
        doc["start"] = "" if target == EXIT else target
    else:
        catalog.set_out(doc["tiles"][after], where, target)


def insert(doc: Any, *, after: str, where: str, kind: str) -> tuple[Doc, str]:
    """Insert a new tile of `kind` on the connector leaving `after` by `where` (`after=START` for
    the connector into the first tile). Returns the new document and the new tile's key."""
    doc = normalized(doc)
    old = target_of(doc, after, where) or EXIT
    tile = default_tile(kind)
    ways = catalog.outs(tile)
    if not ways and old != EXIT:
        raise DraftError(f"A {catalog.KINDS[kind].label.lower()} tile ends the path, so it can only go at "
                         "the end of one")
    key = new_key(doc, kind)
    if ways:
        catalog.set_out(tile, ways[0].where, old)
    doc["tiles"][key] = tile
    _point(doc, after, where, key)
    return doc, key


def reachable(doc: Doc) -> set[str]:
    """Every tile key a person can reach from the start."""
    tiles, start = doc["tiles"], doc["start"]
    if start not in tiles:
        return set()
    seen, stack = {start}, [start]
    while stack:
        for out in catalog.outs(tiles[stack.pop()]):
            if isinstance(out.target, str) and out.target in tiles and out.target not in seen:
                seen.add(out.target)
                stack.append(out.target)
    return seen


def _prune(doc: Doc, keep: set[str]) -> list[str]:
    """Drop tiles no path reaches any more (except `keep`); returns the dropped keys."""
    alive = reachable(doc) | keep
    dropped = [key for key in doc["tiles"] if key not in alive]
    for key in dropped:
        del doc["tiles"][key]
    return dropped


def delete(doc: Any, key: str) -> tuple[Doc, list[str]]:
    """Delete tile `key`; whatever led to it now leads where its first way out led. The paths of
    its other ways out (for a branch: every branch but the first) go with it. Returns the new
    document and every key removed (`key` first)."""
    doc = normalized(doc)
    tile = doc["tiles"].get(key)
    if tile is None:
        raise DraftError(f"No tile {key!r} in this journey")
    ways = catalog.outs(tile)
    follow = ways[0].target if ways and isinstance(ways[0].target, str) and ways[0].target != key else EXIT
    if follow not in doc["tiles"]:
        follow = EXIT
    orphans_before = set(doc["tiles"]) - reachable(doc)
    if doc["start"] == key:
        doc["start"] = "" if follow == EXIT else follow
    for other in doc["tiles"].values():
        for out in catalog.outs(other):
            if out.target == key:
                catalog.set_out(other, out.where, follow)
    del doc["tiles"][key]
    return doc, [key, *_prune(doc, keep=orphans_before)]


def retarget(doc: Any, *, after: str, where: str, target: str) -> tuple[Doc, list[str]]:
    """Point one way out at another tile ("go to tile K") or at "exit". The path it led to before
    is removed when nothing else reaches it. Returns the new document and the removed keys."""
    doc = normalized(doc)
    if target != EXIT and target not in doc["tiles"]:
        raise DraftError(f"No tile {target!r} in this journey")
    target_of(doc, after, where)  # raises for an unknown connector
    orphans_before = set(doc["tiles"]) - reachable(doc)
    _point(doc, after, where, target)
    return doc, _prune(doc, keep=orphans_before)


def add_path(doc: Any, key: str) -> Doc:
    """Add one more branch (attribute branch) or variant (A/B test, split) to tile `key`."""
    doc = normalized(doc)
    tile = doc["tiles"].get(key)
    spec = catalog.KINDS.get(tile.get("type")) if isinstance(tile, dict) else None
    if spec is None or not spec.list_outs:
        raise DraftError("Only branch, A/B test and split tiles have paths to add")
    items = tile.setdefault(spec.list_outs, [])
    number = len(items) + 1
    if spec.type == "attribute_branch":
        items.append({"name": f"Branch {number}", "conditions": {"version": 1, "match": "all", "conditions": []},
                      "next": EXIT})
    else:
        items.append({"name": chr(ord("A") + number - 1) if spec.type == "ab_test" and number <= 26
                      else f"Path {number}", "percent": 0, "next": EXIT})
    return doc


def remove_path(doc: Any, key: str, index: int) -> tuple[Doc, list[str]]:
    """Remove branch or variant `index` of tile `key`, with the tiles only it led to."""
    doc = normalized(doc)
    tile = doc["tiles"].get(key)
    spec = catalog.KINDS.get(tile.get("type")) if isinstance(tile, dict) else None
    items = tile.get(spec.list_outs) if spec and spec.list_outs else None
    if not isinstance(items, list) or not 0 <= index < len(items):
        raise DraftError("No such path")
    if len(items) == 1:
        raise DraftError("A branch tile needs at least one path; delete the tile instead")
    orphans_before = set(doc["tiles"]) - reachable(doc)
    del items[index]
    return doc, _prune(doc, keep=orphans_before)


def replace_tile(doc: Any, key: str, tile: dict[str, Any]) -> Doc:
    """Store new settings for tile `key`, keeping where its ways out lead."""
    doc = normalized(doc)
    if key not in doc["tiles"]:
        raise DraftError(f"No tile {key!r} in this journey")
    doc["tiles"][key] = copy.deepcopy(tile)
    return doc


# --- Undo -------------------------------------------------------------------------------------------
def remember(history: list[Any], doc: Any, *, limit: int = HISTORY_LIMIT) -> list[Any]:
    """The history with `doc` (the state before a change) on top, at most `limit` deep."""
    return [*history, copy.deepcopy(doc)][-limit:]


def undo(history: list[Any]) -> tuple[Doc | None, list[Any]]:
    """The state before the last change (None when there is nothing to undo) and the rest."""
    if not history:
        return None, []
    return normalized(history[-1]), history[:-1]
