"""The canvas, rendered on the server: the draft (with validation problems pinned to tiles) or the
live version (with per-tile figures), laid out by journeys/views/layout.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse

from channels import queries as channel_queries
from channels.models import Email
from journeys import catalog, drafts, queries
from journeys.validation import validate_journey
from journeys.views import layout
from segments.models import Segment


def names_for(doc: dict[str, Any]) -> dict[str, str]:
    """Display names of what tiles refer to: emails by key, segments as "segment:<id>"."""
    tiles = [t for t in (doc.get("tiles") or {}).values() if isinstance(t, dict)]
    keys = {t.get("email") for t in tiles if t.get("email")}
    segment_ids = {t.get("segment") for t in tiles if isinstance(t.get("segment"), int)}
    names = dict(Email.objects.filter(key__in=keys).values_list("key", "name")) if keys else {}
    if segment_ids:
        names.update({f"segment:{pk}": name for pk, name in
                      Segment.objects.filter(pk__in=segment_ids).values_list("pk", "name")})
    return names


def canvas_context(journey, *, live: bool = False, editable: bool = False, path: list[str] | None = None,
                   selected: str = "") -> dict[str, Any]:
    """What the canvas template draws: the draft (or, live, the running version with figures)."""
    version = queries.live_version(journey) if live else None
    doc = version.tiles if version is not None else drafts.normalized(journey.tiles)
    errors = {} if live else validate_journey(journey)
    figures = queries.tile_figures(journey, doc.get("tiles") or {}) if live else None
    email = channel_queries.totals_by_tile(journey.pk) if live else None
    root = layout.layout(doc, errors=errors, names=names_for(doc), figures=figures, email=email,
                         path=set(path or ()))
    _add_urls(journey, root, view="live" if live else "edit")
    return {
        "journey": journey, "root": root, "live": live, "editable": editable and not live, "selected": selected,
        "orphans": [(key, catalog.label(doc["tiles"][key]), errors.get(key, []))
                    for key in layout.unreachable(doc, root)],
        "journey_errors": errors.get("", []), "error_count": sum(len(v) for v in errors.values()),
        "version": version, "test_path": path or [], "icons": static("img/icons.svg"), "errors": errors,
    }


def _add_urls(journey, root: layout.Column, *, view: str) -> None:
    """Each card's panel URL and each connector's palette URL, computed once here (a 60-tile
    canvas would otherwise spend a good part of its render in {% url %})."""
    tile_url = reverse("journeys:tile", args=[journey.pk, "KEY"])
    palette_url = reverse("journeys:palette", args=[journey.pk])

    def connector(after: str, where: str) -> tuple[str, str]:
        query = urlencode({"after": after, "where": where})
        return f"{palette_url}?{query}", "?" + urlencode({"add": f"{after}:{where}"})

    def walk(column: layout.Column) -> None:
        for step in column.steps:
            step.add_url, step.add_href = connector(step.after, step.where)
            step.card.url = tile_url.replace("/KEY/", f"/{quote(step.card.key)}/") + f"?view={view}"
            for branch in step.card.branches:
                walk(branch.column)
        column.add_url, column.add_href = connector(column.end_after, column.end_where)

    walk(root)


def render_canvas(journey, *, live: bool = False, editable: bool = True, path: list[str] | None = None) -> str:
    """The canvas HTML of a journey, rendered on the server (the builder page embeds it; `bench
    journeys` times it). `live=True` draws the running version with its per-tile figures."""
    return render_to_string("journeys/partials/canvas.html",
                            canvas_context(journey, live=live, editable=editable, path=path))
