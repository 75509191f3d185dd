"""The builder page's parts: the toolbar, the canvas and the side panel (overview, palette, a
tile's settings, entry, journey settings, the people at a tile, one person's path, test mode, new
version). `page_context` builds all three for the full page and for every HTMX answer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from contacts.views.shared import HtmxHttpRequest
from journeys import catalog, drafts, queries, services
from journeys.explain import explain
from journeys.forms import EntryForm, SettingsForm, TestRunForm, TileForm, condition_choices
from journeys.models import Journey, JourneyRun
from journeys.views import layout
from journeys.views.render import canvas_context
from journeys.views.state import ENTRY_LOCKED, can_edit, draft_changed, entry_locked, is_live_view, session_history
from segments import sentences
from segments import services as segments
from segments.forms import controls
from segments.query import empty_query

GROUPS = ("Flow", "Messages", "Actions")
NOUNS = {"contact": "contacts", "lead": "leads"}


@dataclass
class EditorRequest:
    """Stands in for `request` in the segment condition editor's buttons, which post to `request.path`."""

    path: str


def query_for(panel: str, extra: dict[str, Any]) -> dict[str, str]:
    """The page's query string that opens `panel` without JavaScript."""
    if panel == "tile":
        return {"tile": extra.get("tile_key", "")}
    if panel == "palette":
        return {"add": f"{extra.get('after', '')}:{extra.get('where', '')}"}
    if panel in ("settings", "entry", "test", "version"):
        return {"panel": panel}
    if panel == "people":
        return {"people": extra.get("tile_key", ""), "view": "live"}
    if panel == "run":
        return {"run": str(extra.get("run_id", "")), "view": "live"}
    return {}


def _from_query(request: HtmxHttpRequest) -> tuple[str, dict[str, Any]]:
    get = request.GET
    if get.get("tile"):
        return "tile", {"tile_key": get["tile"]}
    if get.get("add") is not None and ":" in get.get("add", ""):
        after, where = get["add"].split(":", 1)
        return "palette", {"after": after, "where": where}
    if get.get("people"):
        return "people", {"tile_key": get["people"]}
    if get.get("run", "").isdigit():
        return "run", {"run_id": int(get["run"])}
    if get.get("panel") in ("settings", "entry", "test", "version"):
        return get["panel"], {}
    return "overview", {}


def page_context(request: HtmxHttpRequest, journey: Journey, *, panel: str | None = None, live: bool | None = None,
                 notice: str = "", ok: bool = True, **extra: Any) -> dict[str, Any]:
    if panel is None:
        panel, extra = _from_query(request)
    if live is None:
        live = is_live_view(request, journey)
    editable = can_edit(request, journey) and not live
    path = extra.pop("path", None)
    context = canvas_context(journey, live=live, editable=editable, path=path,
                             selected=extra.get("tile_key", "") if panel in ("tile", "people") else "")
    builder = PANELS.get(panel, overview)
    changed, latest_number = draft_changed(journey)
    context.update(
        draft_changed=changed, latest_number=latest_number, can_clone=request.user.has_perm("journeys.add_journey"),
        governance_live=journey.status in (Journey.Status.LIVE, Journey.Status.PAUSED),
        panel=panel, notice=notice, notice_ok=ok, can_edit=can_edit(request, journey),
        has_versions=latest_number is not None, can_undo=editable and bool(session_history(request, journey).get()),
        nouns=NOUNS[journey.audience], view="live" if live else "edit",
    )
    context.update(builder(request, journey, context, **extra))
    return context


def overview(request, journey, context, **_: Any) -> dict[str, Any]:
    tiles = (journey.tiles or {}).get("tiles") or {}
    problems = []
    if not context["live"]:
        for key, messages in context["errors"].items():
            name = "Journey" if key == "" else catalog.label(tiles[key]) if key in tiles else key
            tile = tiles.get(key) if isinstance(tiles.get(key), dict) else {}
            problems.extend({"tile": key, "name": name, "message": layout.readable_error(tile, m)} for m in messages)
    data: dict[str, Any] = {"problems": problems}
    if context["live"] or context["has_versions"]:
        data["summary"] = queries.summary(journey)
        data["recent_runs"] = queries.recent_runs(journey, limit=10)
    return data


def palette(request, journey, context, *, after: str = "", where: str = "", **_: Any) -> dict[str, Any]:
    try:
        current = drafts.target_of(drafts.normalized(journey.tiles), after, where)
    except drafts.DraftError:
        current = None
    groups = [(group, [{"kind": k, "icon": layout.ICONS.get(k.type, "journeys")} for k in catalog.KINDS.values()
                       if k.group == group]) for group in GROUPS]
    tiles = (journey.tiles or {}).get("tiles") or {}
    return {"after": after, "where": where, "groups": groups, "connector_ok": current is not None,
            "at_end": current in ("", "exit"), "after_label": layout.connector_label(tiles, after, where)}


def tile_panel(request, journey, context, *, tile_key: str = "", form: TileForm | None = None,
               branch: int | None = None, form_problems: list[str] | None = None, **_: Any) -> dict[str, Any]:
    doc = context["version"].tiles if context["live"] and context["version"] else drafts.normalized(journey.tiles)
    tile = doc["tiles"].get(tile_key)
    if not isinstance(tile, dict) or tile.get("type") not in catalog.KINDS:
        return {"panel": "missing", "tile_key": tile_key}
    kind = catalog.KINDS[tile["type"]]
    errors = [] if context["live"] else [layout.readable_error(tile, e) for e in context["errors"].get(tile_key, [])]
    data: dict[str, Any] = {
        "tile_key": tile_key, "tile": tile, "kind": kind, "tile_label": catalog.label(tile),
        "form": form or TileForm(tile=tile, journey=journey, key=tile_key),
        "tile_errors": errors, "form_problems": form_problems or [],
        "tile_url": reverse("journeys:tile", args=[journey.pk, tile_key]),
        "ways": _ways(doc, tile_key, tile),
    }
    if kind.list_outs:
        items = tile.get(kind.list_outs) or []
        data["paths"] = [{"index": i, "name": item.get("name", ""), "percent": item.get("percent"),
                          "sentence": _sentence(item.get("conditions"), journey) if kind.type == "attribute_branch"
                          else ""} for i, item in enumerate(items) if isinstance(item, dict)]
        data["has_percent"] = kind.type != "attribute_branch"
        data["other_name"] = tile.get("other_name") or "Other"
    if kind.type == "attribute_branch" and tile.get("branches"):
        index = branch if branch is not None and 0 <= branch < len(tile["branches"]) else 0
        data["branch_index"] = index
        data["branch_name"] = tile["branches"][index].get("name") or f"Branch {index + 1}"
        data.update(condition_editor(journey, tile["branches"][index].get("conditions"),
                                     url=data["tile_url"]))
    if context["live"]:
        data["figures"] = queries.tile_figures(journey, doc["tiles"]).get(tile_key)
        data["people"] = queries.people_at(journey, tile_key)
    return data


def _ways(doc: dict[str, Any], key: str, tile: dict[str, Any]) -> list[dict[str, Any]]:
    """Each way out with where it leads and the "go to" choices (end, or any other tile)."""
    others = [(k, catalog.label(t)) for k, t in doc["tiles"].items() if k != key and isinstance(t, dict)]
    return [{"where": way.where, "label": way.label, "target": way.target if isinstance(way.target, str) else "",
             "choices": others} for way in catalog.outs(tile)]


def _sentence(query: Any, journey: Journey) -> str:
    try:
        return sentences.describe(query, journey.audience)
    except Exception:  # a hand-edited query the describer cannot read: say so rather than fail the panel
        return "Conditions that cannot be shown in words."


def condition_editor(journey: Journey, query: Any, *, url: str) -> dict[str, Any]:
    """The segment condition editor's tree for `query` (trigger fields included), its problems
    placed beside the conditions, and the URL its buttons post to."""
    if not isinstance(query, dict) or not isinstance(query.get("conditions"), list):
        query = {"version": 1, "match": "all", "conditions": []}
    errors = segments.check_query(query, audience=journey.audience, allow_trigger=True)
    problems = controls.place(errors, query)
    return {"tree": controls.tree(query, choices=condition_choices(journey), problems=problems),
            "condition_problems": problems, "editor_request": EditorRequest(url),
            "noun": journey.audience, "sentence": _sentence(query, journey)}


def entry(request, journey, context, *, form: EntryForm | None = None, entry_query: dict | None = None,
          **_: Any) -> dict[str, Any]:
    """The entry form; a live or paused journey's entry is read-only (only its name and
    description change). `entry_query`: conditions being edited but not saved (a field was wrong)."""
    locked = entry_locked(journey)
    data: dict[str, Any] = {"entry_form": form or EntryForm(instance=journey, lock_entry=locked),
                            "entry_url": reverse("journeys:entry", args=[journey.pk]), "entry_locked": locked,
                            "entry_locked_text": ENTRY_LOCKED}
    query = entry_query if entry_query is not None else journey.entry_conditions
    if journey.entry_trigger and locked:
        data["sentence"] = _sentence(query, journey) if (query or {}).get("conditions") else ""
    elif journey.entry_trigger:
        data.update(condition_editor(journey, query, url=data["entry_url"]))
        data["entry_query_json"] = json.dumps(query or empty_query())
        data["entry_unsaved"] = entry_query is not None and _conditions(entry_query) != _conditions(
            journey.entry_conditions)
    return data


def _conditions(query: Any) -> list[Any]:
    return query.get("conditions") or [] if isinstance(query, dict) else []


def settings_panel(request, journey, context, *, form: SettingsForm | None = None, **_: Any) -> dict[str, Any]:
    return {"settings_form": form or SettingsForm(instance=journey)}


def people(request, journey, context, *, tile_key: str = "", **_: Any) -> dict[str, Any]:
    doc = context["version"].tiles if context["version"] else drafts.normalized(journey.tiles)
    tile = doc["tiles"].get(tile_key) or {}
    return {"tile_key": tile_key, "tile_label": catalog.label(tile) if tile else tile_key,
            "people": queries.people_at(journey, tile_key)}


def run_panel(request, journey, context, *, run_id: int = 0, **_: Any) -> dict[str, Any]:
    run = (JourneyRun.objects.filter(journey=journey, pk=run_id).select_related("contact", "lead", "journey")
           .first())
    if run is None:
        return {"panel": "missing"}
    tiles = run.version.tiles.get("tiles", {})
    path = explain(run)
    for step in path:
        step["label"] = catalog.label(tiles[step["tile"]]) if step["tile"] in tiles else ""
    context.update(_highlight(context, journey, [s["tile"] for s in path]))
    return {"run": run, "path": path}


def _highlight(context, journey, keys: list[str]) -> dict[str, Any]:
    return canvas_context(journey, live=context["live"], editable=context["editable"], path=keys)


def version_panel(request, journey, context, **_: Any) -> dict[str, Any]:
    """Where the people inside stand, and whether the draft keeps their tile."""
    preview = services.version_preview(journey)
    return {"preview": preview, "inside": sum(row["count"] for row in preview),
            "stranded": sum(row["count"] for row in preview if not row["in_new_version"])}


def test_panel(request, journey, context, *, test_form: TestRunForm | None = None, result: dict | None = None,
               test_problems: list[str] | None = None, **_: Any) -> dict[str, Any]:
    return {"test_form": test_form or TestRunForm(journey=journey, steps=1), "result": result,
            "test_problems": test_problems or []}


PANELS = {
    "overview": overview, "palette": palette, "tile": tile_panel, "entry": entry, "settings": settings_panel,
    "people": people, "run": run_panel, "version": version_panel, "test": test_panel,
}
