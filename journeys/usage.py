"""Where journeys use a segment or a trigger key, so neither is deleted from under a journey.

`segment_usage` is registered with `segments.hooks.register_usage` (in `JourneysConfig.ready`):
segments refuses to delete a segment in use without importing journeys. Tiles are read from each
journey's draft and from every version of a journey that is live or paused (its runs may still
follow an older version)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from journeys.models import Journey, JourneySettings, JourneyVersion
from segments.models import Segment

SEGMENT_FIELDS = {"entry_segment": "entry segment", "exit_segment": "exit segment", "goal_segment": "goal segment"}
TRIGGER_FIELDS = {"entry_trigger": "entry trigger", "exit_trigger": "exit trigger", "goal_trigger": "goal trigger"}
SEGMENT_TILES = ("add_to_segment", "remove_from_segment")
TRIGGER_TILES = ("wait_trigger", "trigger_branch")
RUNNING = (Journey.Status.LIVE, Journey.Status.PAUSED)


def _tiles(kinds: tuple[str, ...]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(journey name, where, tile key, tile) for each tile of `kinds` in drafts and running versions."""
    drafts = Journey.objects.order_by("name", "pk").values_list("name", "tiles")
    versions = (JourneyVersion.objects.filter(journey__status__in=RUNNING)
                .order_by("journey__name", "journey_id", "number").values_list("journey__name", "number", "tiles"))
    sources = [(name, "the draft", tiles) for name, tiles in drafts]
    sources += [(name, f"version {number}", tiles) for name, number, tiles in versions]
    for name, where, tiles in sources:
        found = (tiles or {}).get("tiles") if isinstance(tiles, dict) else None
        for key, tile in (found or {}).items():
            if isinstance(tile, dict) and tile.get("type") in kinds:
                yield name, where, key, tile


def _tile_use(name: str, where: str, key: str, tile: dict[str, Any]) -> str:
    return f"journey “{name}” (tile “{tile.get('name') or key}” in {where})"


def segment_usage(segment: Segment) -> list[str]:
    """Each journey use of `segment`: entry, exit, goal, exclusion, a segment tile; and the journey
    settings' suppression segment."""
    uses = []
    for field, role in SEGMENT_FIELDS.items():
        for name in Journey.objects.filter(**{field: segment}).order_by("name").values_list("name", flat=True):
            uses.append(f"journey “{name}” ({role})")
    for name in Journey.objects.filter(exclusion_segments=segment).order_by("name").values_list("name", flat=True):
        uses.append(f"journey “{name}” (exclusion segment)")
    uses += [_tile_use(*found) for found in _tiles(SEGMENT_TILES) if str(found[3].get("segment")) == str(segment.pk)]
    if JourneySettings.objects.filter(suppression_segment=segment).exists():
        uses.append("journey settings (global suppression segment)")
    return list(dict.fromkeys(uses))


def trigger_usage(key: str) -> list[str]:
    """Each journey use of the trigger `key`: entry, exit or goal trigger, or a wait-for-trigger or
    trigger branch tile."""
    uses = []
    for field, role in TRIGGER_FIELDS.items():
        for name in Journey.objects.filter(**{field: key}).order_by("name").values_list("name", flat=True):
            uses.append(f"journey “{name}” ({role})")
    uses += [_tile_use(*found) for found in _tiles(TRIGGER_TILES) if found[3].get("trigger") == key]
    return list(dict.fromkeys(uses))
