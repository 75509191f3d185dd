"""Choosing A/B winners: per variant, how many people went down it and how many of them opened,
clicked (the variant's email) or reached the journey's goal; the best rate wins once the test's
time or sample size is reached. Set-based: one aggregate query per A/B tile."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q

from contacts.models import Interaction
from journeys.engine.outcomes import duration, iso
from journeys.engine.tiles import INTERACTION_TYPES
from journeys.models import Journey, JourneyVersion, StepLog


def figures(version: JourneyVersion, tile_key: str, tile: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{variant: {"people", "conversions", "rate"}} for one A/B tile of one version."""
    assigned = StepLog.objects.filter(run__version=version, tile_key=tile_key, outcome="next")
    metric = tile.get("metric")
    result: dict[str, dict[str, Any]] = {}
    for variant in tile["variants"]:
        rows = assigned.filter(reason__name=variant["name"])
        if metric == "goal":
            converted = Exists(StepLog.objects.filter(run=OuterRef("run"), tile_key="$goal"))
        else:
            person = Q(contact=OuterRef("run__contact")) if version.journey.audience == "contact" else Q(
                lead=OuterRef("run__lead"))
            converted = Exists(Interaction.objects.filter(
                person, type=INTERACTION_TYPES[metric], journey_id=version.journey_id, tile_key=variant["next"]))
        counts = rows.aggregate(people=Count("run", distinct=True),
                                conversions=Count("run", distinct=True, filter=Q(converted)))
        people, conversions = counts["people"], counts["conversions"]
        result[variant["name"]] = {"people": people, "conversions": conversions,
                                   "rate": round(conversions / people, 4) if people else 0.0}
    return result


def ready(version: JourneyVersion, tile: dict[str, Any], people: int, *, now: datetime.datetime) -> bool:
    if tile.get("decide_after") and now >= version.created_at + duration(tile["decide_after"]):
        return True
    return bool(tile.get("min_sample")) and people >= int(tile["min_sample"])


def decide_winners(*, now: datetime.datetime) -> int:
    """Pick the winner of every undecided A/B tile that is ready; returns how many were decided."""
    decided = 0
    open_versions = JourneyVersion.objects.filter(
        journey__status__in=(Journey.Status.LIVE, Journey.Status.PAUSED)).select_related("journey")
    for version in open_versions:
        tests = {k: t for k, t in version.tiles["tiles"].items()
                 if t.get("type") == "ab_test" and k not in (version.ab_winners or {})}
        for key, tile in tests.items():
            found = figures(version, key, tile)
            if not ready(version, tile, sum(f["people"] for f in found.values()), now=now):
                continue
            best = max(tile["variants"], key=lambda v: (found[v["name"]]["rate"], -tile["variants"].index(v)))
            with transaction.atomic():
                locked = JourneyVersion.objects.select_for_update().get(pk=version.pk)
                if key in locked.ab_winners:
                    continue
                locked.ab_winners[key] = {"variant": best["name"], "decided_at": iso(now), "figures": found}
                locked.save(update_fields=["ab_winners"])
                version.ab_winners = locked.ab_winners
            decided += 1
    return decided
