"""Read models of journeys for the builder and the live view: list counts, per-tile figures, the
journey summary and the people standing at a tile. Set-based: one grouped query per figure,
however many runs a journey has."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from journeys import catalog
from journeys.models import Journey, JourneyRun, JourneyVersion, StepLog

OPEN = JourneyRun.OPEN_STATES
State = JourneyRun.State
EXIT_REASONS = {
    "exit_trigger": "Exit trigger", "exit_segment": "Entered the exit segment", "stopped": "Journey stopped",
    "suppressed": "Suppressed", "excluded": "Excluded", "unsubscribed": "Unsubscribed",
}


def journey_list(filters: dict[str, Any]) -> QuerySet[Journey]:
    """Journeys matching the list's filters, each with entered / active / completed run counts
    (one grouped query for the page, not one per journey)."""
    journeys = Journey.objects.annotate(
        entered=Count("runs"),
        active=Count("runs", filter=Q(runs__state__in=OPEN)),
        completed=Count("runs", filter=Q(runs__state=State.DONE)),
    ).order_by("-updated_at", "-id")
    for term in (filters.get("q") or "").split()[:5]:
        journeys = journeys.filter(Q(name__icontains=term) | Q(description__icontains=term))
    if filters.get("status"):
        journeys = journeys.filter(status=filters["status"])
    if filters.get("type") == "trigger":
        journeys = journeys.exclude(entry_trigger="")
    elif filters.get("type") == "segment":
        journeys = journeys.filter(entry_segment__isnull=False)
    return journeys


@dataclass
class TileFigures:
    entered: int = 0
    waiting: int = 0
    passed: int = 0
    exited: int = 0
    failed: int = 0
    outs: dict[str, int] = field(default_factory=dict)  # Out.where -> people who went that way

    def share(self, where: str) -> int | None:
        """Percent of the people who left this tile that took way `where`."""
        total = sum(self.outs.values())
        return round(100 * self.outs.get(where, 0) / total) if total else None


def tile_figures(journey: Journey, tiles: dict[str, Any]) -> dict[str, TileFigures]:
    """Per tile key: entered (= passed + standing there), waiting there, passed, exited early
    there, failed there, and how many took each way out of a branch."""
    figures: dict[str, TileFigures] = {key: TileFigures() for key in tiles}
    steps = (StepLog.objects.filter(run__journey=journey).exclude(tile_key__startswith="$").order_by()
             .values("tile_key", "reason__code", "reason__name", "reason__answer").annotate(n=Count("id")))
    for row in steps:
        tile = tiles.get(row["tile_key"])
        if tile is None:
            continue
        entry = figures[row["tile_key"]]
        entry.passed += row["n"]
        where = _way_taken(tile, row)
        if where:
            entry.outs[where] = entry.outs.get(where, 0) + row["n"]
    standing = (JourneyRun.objects.filter(journey=journey).exclude(state=State.DONE).order_by()
                .values("tile_key", "state").annotate(n=Count("id")))
    for row in standing:
        entry = figures.get(row["tile_key"])
        if entry is None:
            continue
        if row["state"] in OPEN:
            entry.waiting += row["n"]
        elif row["state"] == State.EXITED:
            entry.exited += row["n"]
        else:
            entry.failed += row["n"]
    for entry in figures.values():
        entry.entered = entry.passed + entry.waiting + entry.exited + entry.failed
    return figures


def _way_taken(tile: dict[str, Any], row: dict[str, Any]) -> str | None:
    """Which way out a logged branch step took, read from its reason (data, see engine/tiles.py)."""
    ways = catalog.outs(tile)
    if len(ways) < 2 or row["reason__code"] not in ("branch", "variant", "split"):
        return None
    answer, name = row["reason__answer"], row["reason__name"]
    kind = catalog.KINDS[tile["type"]]
    if answer in ("yes", "no") and not kind.list_outs:
        return answer
    if answer == "other" and kind.other_out:
        return kind.other_out
    for way in ways:
        if way.label == name and way.where != kind.other_out:
            return way.where
    return None


@dataclass
class Summary:
    entered: int
    active: int
    completed: int
    exited: int
    failed: int
    goal_reached: int
    exits: list[tuple[str, int]]

    @property
    def goal_percent(self) -> float | None:
        return 100 * self.goal_reached / self.entered if self.entered else None


def summary(journey: Journey) -> Summary:
    """Entered, active, completed, exited (by reason), failed and goal reached, in two queries."""
    runs = JourneyRun.objects.filter(journey=journey).order_by()
    goal = StepLog.objects.filter(run=OuterRef("pk"), outcome="goal")
    totals = runs.aggregate(
        entered=Count("id"), active=Count("id", filter=Q(state__in=OPEN)),
        completed=Count("id", filter=Q(state=State.DONE)), exited=Count("id", filter=Q(state=State.EXITED)),
        failed=Count("id", filter=Q(state=State.FAILED)),
        goal_reached=Count("id", filter=Q(Exists(goal))),
    )
    reasons = (runs.filter(state=State.EXITED).values("exit_reason__code").annotate(n=Count("id"))
               .order_by("-n"))
    exits = [(EXIT_REASONS.get(row["exit_reason__code"], str(row["exit_reason__code"] or "Unknown")), row["n"])
             for row in reasons]
    return Summary(exits=exits, **totals)


def people_at(journey: Journey, tile_key: str, *, limit: int = 50) -> list[JourneyRun]:
    """The runs standing at a tile now (waiting or about to run it), oldest arrival first."""
    return list(JourneyRun.objects.filter(journey=journey, tile_key=tile_key, state__in=OPEN)
                .select_related("contact", "lead").order_by("entered_at", "id")[:limit])


def recent_runs(journey: Journey, *, limit: int = 20) -> list[JourneyRun]:
    return list(JourneyRun.objects.filter(journey=journey).select_related("contact", "lead")
                .order_by("-entered_at", "-id")[:limit])


def live_version(journey: Journey) -> JourneyVersion | None:
    return journey.versions.order_by("-number").first()
