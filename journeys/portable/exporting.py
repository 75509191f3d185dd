"""Exporting a journey: its draft tiles, entry and governance, with every database id replaced by the
name or key another Waymark can resolve."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model

from channels.models import WebhookEndpoint
from contacts.models import SalesQueue
from journeys.models import Journey, JourneyVersion
from journeys.portable.document import FORMAT, GOVERNANCE, iso, map_query, map_tile, ordered_tiles, written
from segments.models import Segment


# --- Export ----------------------------------------------------------------------------------------
def export_journey(journey: Journey, *, version: JourneyVersion | None = None) -> dict[str, Any]:
    """The journey as a document: stable keys, references by name or key. The tiles are the draft
    (what the builder shows and the next version freezes), or those frozen in `version`."""
    names = _Names()
    entry: dict[str, Any] = {}
    if journey.entry_trigger:
        entry["trigger"] = journey.entry_trigger
        entry["conditions"] = map_query(journey.entry_conditions, names.segment_in_query)
    if journey.entry_segment_id:
        entry.update(segment=names.segment(journey.entry_segment_id), mode=journey.entry_mode,
                     at=iso(journey.entry_at), repeat_every=journey.repeat_every, repeat_unit=journey.repeat_unit)
    governance: dict[str, Any] = {}
    for key, (name, kind) in GOVERNANCE.items():
        if kind == "segments":
            governance[key] = sorted(s.name for s in journey.exclusion_segments.all())
        elif kind == "segment":
            governance[key] = names.segment(getattr(journey, f"{name}_id"))
        else:
            governance[key] = written(getattr(journey, name), kind)
    stored = (version.tiles if version is not None else journey.tiles) or {}
    tiles = {key: map_tile(tile, names.tile_value) for key, tile in (stored.get("tiles") or {}).items()}
    doc = {"format": FORMAT, "name": journey.name, "description": journey.description,
           "audience": journey.audience, "entry": entry, "governance": governance,
           "start": stored.get("start") or None, "tiles": ordered_tiles(stored.get("start"), tiles)}
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
        elif kind == "endpoint":
            model, name = WebhookEndpoint, "name"
        else:
            return value
        return self._get(kind, value, lambda v: model.objects.filter(pk=v).values_list(name, flat=True).first() or v)
