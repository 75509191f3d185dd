"""The canvas as a tree the template draws top to bottom: from the start tile, following each
tile's ways out (`catalog.outs`). A straight run of tiles is one column; a tile with several ways
out ends its column with the branches side by side. A way out that leads to a tile already drawn
becomes a labelled "go to" chip rather than a second copy, so loops and merges stay readable."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from journeys import catalog
from journeys.drafts import START
from journeys.engine.outcomes import duration
from journeys.models import EXIT
from journeys.queries import TileFigures

ICONS = {
    "wait": "clock", "wait_trigger": "activity", "attribute_branch": "segments", "interaction_branch": "cursor",
    "trigger_branch": "activity", "ab_test": "analytics", "split": "journeys", "send_email": "email",
    "send_sms": "inbox", "send_push": "inbox", "create_task": "tasks", "update_record": "edit",
    "webhook": "globe", "add_to_segment": "segments", "remove_from_segment": "segments", "exit": "check",
}


@dataclass
class Card:
    key: str
    tile: dict[str, Any]
    kind: catalog.TileKind | None
    label: str
    summary: str
    errors: list[str]
    figures: TileFigures | None
    email: Any = None  # channels figures of a send tile, when known
    branches: list[Branch] = field(default_factory=list)
    on_path: bool = False
    url: str = ""

    @property
    def icon(self) -> str:
        return ICONS.get(self.tile.get("type"), "journeys")

    @property
    def named(self) -> bool:
        """The tile has its own name (shown above its kind) rather than just its kind's label."""
        return bool(self.kind and self.label != self.kind.label)


@dataclass
class Step:
    after: str  # the connector into this step: from tile `after` by way `where`
    where: str
    card: Card
    edge_label: str = ""
    add_url: str = ""  # the palette for this connector (HTMX), and the same without JavaScript
    add_href: str = ""


@dataclass
class Column:
    steps: list[Step]
    end_after: str  # the connector at the bottom of the column
    end_where: str
    jump: str = ""  # "go to" this tile key
    jump_label: str = ""
    branched: bool = False  # the last card's ways out continue below as branches
    ended: bool = True  # the path ends here ("exit"), as opposed to a missing target
    closed: bool = False  # the last card ends the path itself (an exit tile)
    end_label: str = ""
    add_url: str = ""
    add_href: str = ""

    @property
    def last(self) -> Card | None:
        return self.steps[-1].card if self.steps else None


@dataclass
class Branch:
    where: str
    label: str
    percent: int | None
    share: int | None
    column: Column


def summarize(tile: dict[str, Any], names: dict[str, str]) -> str:
    """One line under a tile's label: what it does with its settings."""
    kind = tile.get("type")
    if kind == "wait":
        if tile.get("until"):
            return f"until {str(tile['until'])[:16].replace('T', ' ')}"
        return "for " + _duration_text(duration(tile)) if duration(tile).total_seconds() > 0 else "set a duration"
    if kind == "wait_trigger":
        return f"for {tile.get('trigger') or '…'} · up to {_duration_text(duration(tile.get('timeout')))}"
    if kind == "send_email":
        return names.get(tile.get("email") or "", tile.get("email") or "Choose an email")
    if kind == "interaction_branch":
        what = tile.get("interaction") or "…"
        link = f" {tile['link']}" if tile.get("link") else ""
        return f"{what}{link} · after {names.get('tile:' + str(tile.get('tile')), tile.get('tile') or '…')}"
    if kind == "trigger_branch":
        return f"did {tile.get('trigger') or '…'} happen?"
    if kind == "create_task":
        return tile.get("subject") or "Add a subject"
    if kind == "update_record":
        return f"set {tile.get('field') or '…'} = {tile.get('value', '')}"
    if kind in ("add_to_segment", "remove_from_segment"):
        return names.get(f"segment:{tile.get('segment')}", "Choose a segment")
    if kind == "send_sms":
        return (tile.get("message") or "Write the message")[:40]
    if kind == "send_push":
        return tile.get("title") or "Write the title"
    if kind == "webhook":
        return tile.get("endpoint") or "Choose an endpoint"
    if kind == "attribute_branch":
        count = len(tile.get("branches") or [])
        return f"{count} branch{'' if count == 1 else 'es'}, else {tile.get('other_name') or 'Other'}"
    if kind in ("ab_test", "split"):
        items = tile.get("variants" if kind == "ab_test" else "branches") or []
        shares = " · ".join(f"{i.get('name')} {i.get('percent') or 0}%" for i in items if isinstance(i, dict))
        metric = f" · winner by {tile['metric']}" if kind == "ab_test" and tile.get("metric") else ""
        return shares + metric
    spec = catalog.KINDS.get(kind)
    return spec.description if spec else "Unknown tile type"


_LIST_ITEM = re.compile(r"^(branches|variants)\[(\d+)\]:\s*")
_CONDITION = re.compile(r"conditions\[(\d+)\]")


def readable_error(tile: dict[str, Any], message: str) -> str:
    """A validation message with list positions in the marketer's words: "Won: condition 2.value: …"."""
    found = _LIST_ITEM.match(message)
    if found:
        items = tile.get(found.group(1)) or []
        index = int(found.group(2))
        name = items[index].get("name") if index < len(items) and isinstance(items[index], dict) else None
        message = f"{name or f'Path {index + 1}'}: " + message[found.end():]
    return _CONDITION.sub(lambda m: f"condition {int(m.group(1)) + 1}", message)


def _duration_text(delta) -> str:
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "…"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in ((days, "day"), (hours, "hour"),
                                                                   (minutes, "minute")) if n]
    return " ".join(parts)


def connector_label(tiles: dict[str, Any], after: str, where: str) -> str:
    """Where a connector is, in words: "at the start", "after Wait", "after Opened?, path Yes"."""
    if after == START:
        return "at the start"
    source = tiles.get(after) if isinstance(tiles.get(after), dict) else {}
    ways = catalog.outs(source)
    way = next((w.label for w in ways if w.where == where), "")
    return f"after {catalog.label(source)}" + (f", path {way}" if way and len(ways) > 1 else "")


def layout(doc: dict[str, Any], *, errors: dict[str, list[str]], names: dict[str, str],
           figures: dict[str, TileFigures] | None = None, email: dict[str, Any] | None = None,
           path: set[str] | None = None) -> Column:
    """The whole canvas: the column from the start, its branches nested inside."""
    tiles = doc.get("tiles") if isinstance(doc.get("tiles"), dict) else {}
    names = {**names, **{f"tile:{key}": catalog.label(tile) for key, tile in tiles.items() if isinstance(tile, dict)}}
    drawn: set[str] = set()

    def card(key: str) -> Card:
        tile = tiles[key] if isinstance(tiles[key], dict) else {}
        return Card(key=key, tile=tile, kind=catalog.KINDS.get(tile.get("type")), label=catalog.label(tile),
                    summary=summarize(tile, names), errors=[readable_error(tile, e) for e in errors.get(key, [])],
                    figures=figures.get(key) if figures is not None else None,
                    email=(email or {}).get(key), on_path=bool(path and key in path))

    def edge_label(after: str, where: str) -> str:
        return connector_label(tiles, after, where)

    def column(after: str, where: str, target: Any) -> Column:
        steps: list[Step] = []
        while True:
            if not isinstance(target, str) or target == EXIT or target == "" or target not in tiles:
                return Column(steps, after, where, ended=target == EXIT or (after == START and not target),
                              end_label=edge_label(after, where))
            if target in drawn:
                return Column(steps, after, where, jump=target, jump_label=catalog.label(tiles[target]),
                              end_label=edge_label(after, where))
            drawn.add(target)
            current = card(target)
            steps.append(Step(after, where, current, edge_label(after, where)))
            ways = catalog.outs(current.tile)
            if len(ways) == 1:
                after, where, target = target, ways[0].where, ways[0].target
                continue
            column_done = Column(steps, target, "", branched=bool(ways), closed=not ways)
            for way in ways:
                percent = way.extra.get("percent") if way.extra else None
                share = current.figures.share(way.where) if current.figures else None
                current.branches.append(Branch(way.where, way.label, percent, share,
                                               column(target, way.where, way.target)))
            return column_done

    return column(START, "", doc.get("start") or EXIT)


def unreachable(doc: dict[str, Any], drawn_from: Column) -> list[str]:
    """Tile keys the canvas does not draw (no path reaches them)."""
    seen: set[str] = set()

    def walk(col: Column) -> None:
        for step in col.steps:
            seen.add(step.card.key)
            for branch in step.card.branches:
                walk(branch.column)

    walk(drawn_from)
    return [key for key in (doc.get("tiles") or {}) if key not in seen]
