"""Validating a journey before it goes live, with every error pinned to its tile ("" = the journey)."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model

from channels.models import EmailVersion
from contacts.models import CustomAttribute, SalesQueue
from contacts.validation import is_valid_time_zone
from journeys import catalog, triggers
from journeys.engine.outcomes import duration
from journeys.engine.tiles import INTERACTION_TYPES, TILES
from journeys.models import EXIT, Journey
from segments import services as segments
from segments.models import Segment

Errors = dict[str, list[str]]


def tile_targets(tile: dict[str, Any]) -> list[tuple[str, Any]]:
    """(where, target) for every way out of a tile; the target may be missing (None)."""
    return [(out.where, out.target) for out in catalog.outs(tile)]


def _seconds(spec: Any) -> float:
    """A duration setting in seconds; anything malformed counts as not positive."""
    if spec is not None and not isinstance(spec, dict):
        return -1
    try:
        return duration(spec).total_seconds()
    except (TypeError, ValueError, OverflowError):
        return -1


def validate_journey(journey: Journey) -> Errors:
    errors: Errors = {}

    def add(where: str, message: str) -> None:
        errors.setdefault(where, []).append(message)

    _check_journey(journey, add)
    tiles = (journey.tiles or {}).get("tiles") or {}
    start = (journey.tiles or {}).get("start")
    if start not in tiles:
        add("", f"the start tile {start!r} does not exist" if start else "choose the first tile")
    published = _published_emails(tiles)
    for key, tile in tiles.items():
        if key == EXIT or key.startswith("$"):
            add(key, f"{key!r} is reserved; give this tile another key")
        if not isinstance(tile, dict) or tile.get("type") not in TILES:
            add(key, f"unknown tile type {tile.get('type') if isinstance(tile, dict) else tile!r}; "
                f"expected one of {', '.join(TILES)}")
            continue
        for where, target in tile_targets(tile):
            if target is None or target == "":
                add(key, f"{where}: this path does not end; choose the next tile or exit")
            elif target != EXIT and target not in tiles:
                add(key, f"{where}: goes to unknown tile {target!r}")
        if tile["type"] == "send_email" and not tile.get("email"):
            add(key, "choose the email to send")
        elif tile["type"] == "send_email" and tile["email"] not in published:
            add(key, f"email {tile['email']!r} does not exist or is not published")
        CHECKS.get(tile["type"], lambda *a: None)(key, tile, tiles, journey, add)
    if start in tiles:
        reached = _reachable(start, tiles)
        for key in tiles:
            if key not in reached:
                add(key, "unreachable: no path leads to this tile")
        for key in _loops_without_wait(start, tiles):
            add(key, "this loop has no wait: a person would go round it forever")
    return errors


def _check_journey(journey: Journey, add) -> None:
    if bool(journey.entry_trigger) == bool(journey.entry_segment_id):
        add("", "choose exactly one entry: a trigger or a segment")
    if journey.entry_segment_id and journey.entry_mode == Journey.EntryMode.REPEATING and not journey.repeat_every:
        add("", "a repeating journey needs an interval: every how many days or weeks")
    if journey.starts_at and journey.ends_at and journey.ends_at <= journey.starts_at:
        add("", "the end date must be after the start date")
    if journey.re_entry == Journey.ReEntry.AFTER_DAYS and not journey.re_entry_days:
        add("", "re-entry after N days needs N")
    if (journey.quiet_hours_start is None) != (journey.quiet_hours_end is None):
        add("", "quiet hours need both a start and an end")
    if not is_valid_time_zone(journey.time_zone or ""):
        add("", f"unknown time zone {journey.time_zone!r}")
    if journey.goal_target_percent is not None and not 0 < journey.goal_target_percent <= 100:
        add("", "the goal target is a percentage between 1 and 100")
    if journey.goal_target_percent and not (journey.goal_trigger or journey.goal_segment_id):
        add("", "a goal target needs a goal: a trigger or a segment")
    for label, key in (("entry", journey.entry_trigger), ("exit", journey.exit_trigger),
                       ("goal", journey.goal_trigger)):
        if key and not triggers.is_registered(key):
            add("", f"{label} trigger {key!r} is not a known trigger")
    if journey.entry_conditions:
        for problem in segments.check_query(journey.entry_conditions, audience=journey.audience, allow_trigger=True):
            add("", f"entry conditions: {problem}")
    named = [("entry", journey.entry_segment), ("exit", journey.exit_segment), ("goal", journey.goal_segment)]
    named += [("exclusion", segment) for segment in journey.exclusion_segments.all()] if journey.pk else []
    for label, segment in named:
        if segment is None:
            continue
        if segment.status != Segment.Status.READY:
            add("", f"{label} segment {segment.name!r} is not ready")
        if segment.audience != journey.audience:
            add("", f"{label} segment {segment.name!r} is a {segment.audience} segment")


def _check_wait(key, tile, tiles, journey, add) -> None:
    if tile.get("until"):
        try:
            datetime.datetime.fromisoformat(str(tile["until"]))
        except ValueError:
            add(key, f"{tile['until']!r} is not a date and time (YYYY-MM-DDTHH:MM)")
    elif _seconds(tile) <= 0:
        add(key, "a wait must be positive")


def _check_trigger(key, tile, add) -> None:
    if not tile.get("trigger"):
        add(key, "choose the trigger")
    elif not triggers.is_registered(tile["trigger"]):
        add(key, f"unknown trigger {tile['trigger']!r}")


def _check_wait_trigger(key, tile, tiles, journey, add) -> None:
    _check_trigger(key, tile, add)
    if _seconds(tile.get("timeout")) <= 0:
        add(key, "the timeout must be positive")


def _check_attribute_branch(key, tile, tiles, journey, add) -> None:
    branches = tile.get("branches") or []
    if not branches:
        add(key, "add at least one branch")
    for index, branch in enumerate(branches):
        conditions = branch.get("conditions") if isinstance(branch, dict) else None
        for problem in segments.check_query(conditions, audience=journey.audience, allow_trigger=True):
            add(key, f"branches[{index}]: {problem}")


def _check_interaction_branch(key, tile, tiles, journey, add) -> None:
    source = tiles.get(tile.get("tile"))
    if not tile.get("tile"):
        add(key, "choose the send-email tile whose email is checked")
    elif not isinstance(source, dict) or source.get("type") != "send_email":
        add(key, f"tile {tile.get('tile')!r} is not a send-email tile of this journey")
    if tile.get("interaction") not in INTERACTION_TYPES:
        add(key, f"interaction must be one of {', '.join(INTERACTION_TYPES)}")
    if tile.get("within") is not None and _seconds(tile["within"]) <= 0:
        add(key, "the time window must be positive")


def _published_emails(tiles: dict) -> set[str]:
    """The published email keys among the journey's send tiles (one query per validation)."""
    keys = {t.get("email") for t in tiles.values()
            if isinstance(t, dict) and t.get("type") == "send_email" and isinstance(t.get("email"), str)}
    return set(EmailVersion.objects.filter(email__key__in=keys).values_list("email__key", flat=True)) if keys else set()


def _check_create_task(key, tile, tiles, journey, add) -> None:
    if not tile.get("subject"):
        add(key, "a task needs a subject")
    user, queue = tile.get("user"), tile.get("queue")
    if bool(user) == bool(queue):
        add(key, "assign the task to a user or a sales queue")
    elif user and not (_pk(user) and get_user_model().objects.filter(pk=_pk(user)).exists()):
        add(key, f"no user with id {user!r}")
    elif queue and not (_pk(queue) and SalesQueue.objects.filter(pk=_pk(queue)).exists()):
        add(key, f"no sales queue with id {queue!r}")


def _check_trigger_branch(key, tile, tiles, journey, add) -> None:
    _check_trigger(key, tile, add)
    if tile.get("within") is not None and _seconds(tile["within"]) <= 0:
        add(key, "the time window must be positive")


def _check_percentages(key, items, add, *, what: str) -> None:
    if not isinstance(items, list) or len(items) < 2:
        add(key, f"add at least two {what}")
        return
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    if any(not name for name in names) or len(set(names)) != len(names):
        add(key, f"every {what[:-1]} needs its own name")
    try:
        percents = [float(item.get("percent")) for item in items]
    except (AttributeError, TypeError, ValueError):
        add(key, f"every {what[:-1]} needs a percentage")
        return
    if any(p <= 0 for p in percents):
        add(key, "percentages must be positive")
    if abs(sum(percents) - 100) > 1e-9:
        add(key, f"percentages add up to {sum(percents):g}, not 100")


def _check_ab_test(key, tile, tiles, journey, add) -> None:
    _check_percentages(key, tile.get("variants"), add, what="variants")
    if tile.get("metric") not in ("opened", "clicked", "goal"):
        add(key, "the winner metric must be opened, clicked or goal")
    if tile.get("metric") in INTERACTION_TYPES:
        for variant in tile.get("variants") or []:
            target = tiles.get(variant.get("next")) if isinstance(variant, dict) else None
            if not isinstance(target, dict) or target.get("type") != "send_email":
                add(key, f"variant {variant.get('name') if isinstance(variant, dict) else variant!r}: "
                    "an opens or clicks winner needs each variant to start with a send-email tile")
    if tile.get("metric") == "goal" and not (journey.goal_trigger or journey.goal_segment_id):
        add(key, "the goal metric needs a journey goal")
    if not tile.get("decide_after") and not tile.get("min_sample"):
        add(key, "say when to pick the winner: after a time, a sample size, or both")
    if tile.get("decide_after") and _seconds(tile["decide_after"]) <= 0:
        add(key, "the time before picking a winner must be positive")


def _check_split(key, tile, tiles, journey, add) -> None:
    _check_percentages(key, tile.get("branches"), add, what="paths")


def _not_configured(key, tile, tiles, journey, add) -> None:
    channel = {"send_sms": "SMS", "send_push": "push"}[tile["type"]]
    add(key, f"channel not configured: {channel} sending is not available in this Waymark yet")


def _carries_opportunity(trigger: str) -> bool:
    try:
        return "opportunity" in (triggers.schema_for(trigger).get("properties") or {})
    except ValueError:
        return False


def _check_update_record(key, tile, tiles, journey, add) -> None:
    from journeys.engine.tiles import UPDATABLE

    target = tile.get("target") or "person"
    field = tile.get("field") or ""
    if target not in UPDATABLE:
        add(key, "the record must be the person or the trigger's opportunity")
    elif not field:
        add(key, "choose the field to set")
    elif target == "opportunity" and field not in UPDATABLE["opportunity"]:
        add(key, f"an opportunity's {field!r} cannot be set; one of {', '.join(sorted(UPDATABLE['opportunity']))} can")
    elif target == "opportunity" and not _carries_opportunity(journey.entry_trigger):
        add(key, "the entry trigger carries no opportunity")
    elif target == "person" and field not in UPDATABLE["person"] and not CustomAttribute.objects.filter(
            key=field, entity=journey.audience).exists():
        add(key, f"{field!r} is neither a field that can be set nor a custom attribute")


def _pk(value: Any) -> int | None:
    """A reference to a row by id, as given in a tile (a number, or digits); None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    return None


def _check_webhook(key, tile, tiles, journey, add) -> None:
    from channels.models import WebhookEndpoint

    pk = _pk(tile.get("endpoint"))
    if pk is None:
        add(key, "choose the webhook endpoint")
    elif not WebhookEndpoint.objects.filter(pk=pk, active=True).exists():
        add(key, f"webhook endpoint {tile.get('endpoint')!r} does not exist or is not active")


def _check_static_segment(key, tile, tiles, journey, add) -> None:
    pk = _pk(tile.get("segment"))
    segment = Segment.objects.filter(pk=pk).first() if pk is not None else None
    if pk is None:
        add(key, "choose the static segment")
    elif segment is None:
        add(key, f"segment {tile.get('segment')!r} does not exist")
    elif segment.kind != Segment.Kind.STATIC:
        add(key, f"segment {segment.name!r} is dynamic; people can only be added to a static segment")
    elif segment.audience != journey.audience:
        add(key, f"segment {segment.name!r} is a {segment.audience} segment")


CHECKS = {
    "wait": _check_wait, "wait_trigger": _check_wait_trigger, "attribute_branch": _check_attribute_branch,
    "interaction_branch": _check_interaction_branch,
    "create_task": _check_create_task, "trigger_branch": _check_trigger_branch, "ab_test": _check_ab_test,
    "split": _check_split, "send_sms": _not_configured, "send_push": _not_configured,
    "update_record": _check_update_record, "webhook": _check_webhook, "add_to_segment": _check_static_segment,
    "remove_from_segment": _check_static_segment,
}


def _next_keys(tile: Any, tiles: dict) -> list[str]:
    if not isinstance(tile, dict):
        return []
    return [t for _w, t in tile_targets(tile) if isinstance(t, str) and t in tiles]


def _reachable(start: str, tiles: dict) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for target in _next_keys(tiles[stack.pop()], tiles):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _loops_without_wait(start: str, tiles: dict) -> set[str]:
    """Tiles on a cycle that passes no wait tile (the engine would spin)."""
    instant = {k for k, t in tiles.items() if isinstance(t, dict) and t.get("type") not in catalog.WAIT_TYPES}
    on_loop: set[str] = set()
    for origin in instant:
        stack, seen = [origin], set()
        while stack:
            for target in _next_keys(tiles[stack.pop()], tiles):
                if target == origin:
                    on_loop.add(origin)
                elif target in instant and target not in seen:
                    seen.add(target)
                    stack.append(target)
    return on_loop
