"""A tile's side panel: its settings (form made from the catalog), the names and percentages of
its paths, a branch's conditions (the segment condition editor), where each way out leads ("go to
tile K") — saved as the marketer types, with the journey's validation shown as they go."""

from __future__ import annotations

import copy

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.views.decorators.http import require_GET, require_http_methods

from contacts.views.shared import HtmxHttpRequest
from journeys import catalog, drafts
from journeys.forms import TileForm, read_conditions, read_paths
from journeys.models import EXIT
from journeys.views.shared import load_journey, respond, save_draft
from segments.forms import builder

EDITOR_VERBS = ("add_condition", "add_group", "remove", "add_where", "remove_where")


@login_required
@permission_required("journeys.view_journey", raise_exception=True)
@require_http_methods(["GET", "POST"])
def tile(request: HtmxHttpRequest, pk: int, key: str) -> HttpResponse:
    journey = load_journey(request, pk)
    if request.method == "GET":
        branch = request.GET.get("branch", "")
        return respond(request, journey, panel="tile", tile_key=key,
                       branch=int(branch) if branch.isdigit() else None)
    if not request.user.has_perm("journeys.change_journey"):
        return respond(request, journey, panel="tile", tile_key=key, notice="You may not edit journeys.",
                       ok=False, status=403)
    return _update(request, journey, key)


def _update(request: HtmxHttpRequest, journey, key: str) -> HttpResponse:
    doc = drafts.normalized(journey.tiles)
    current = doc["tiles"].get(key)
    if not isinstance(current, dict) or current.get("type") not in catalog.KINDS:
        return respond(request, journey, notice="That tile is no longer in the draft.", ok=False)
    action = request.POST.get("action", "update")
    kind = catalog.KINDS[current["type"]]
    form = TileForm(request.POST, tile=current, journey=journey, key=key)
    updated = form.to_tile() if form.is_valid() else copy.deepcopy(current)
    problems: list[str] = []
    if kind.list_outs:
        updated, problems = read_paths(request.POST, updated)
    shown = _int(request.POST.get("branch"))
    if kind.type == "attribute_branch" and shown is not None and shown < len(updated.get("branches") or []):
        branch = updated["branches"][shown]
        query = copy.deepcopy(branch.get("conditions") or {"version": 1, "match": "all", "conditions": []})
        read_conditions(request.POST, query, journey=journey)
        if action.partition(":")[0] in EDITOR_VERBS:
            builder.apply(query, action, audience=journey.audience)
        branch["conditions"] = query
    doc = drafts.replace_tile(doc, key, updated)
    notice, structural = "", False
    try:
        doc, notice, structural = _structural(request, doc, key, action)
    except drafts.DraftError as exc:
        notice = str(exc)
    doc, dropped = _go_to(request, doc, key)
    if doc != drafts.normalized(journey.tiles):
        changed = structural or dropped or action.partition(":")[0] in EDITOR_VERBS
        save_draft(request, journey, doc, action=f"{action}:{key}" if changed else f"edit:{key}")
    if dropped:
        notice = f"Path changed; {len(dropped)} tile{'' if len(dropped) == 1 else 's'} no longer reached "\
                 "were removed (Undo brings them back)."
    main = "panel"
    if request.headers.get("HX-Target") == "conditions":
        main = "conditions"
    elif action == "update" and not dropped:
        main = "problems"
    return respond(request, journey, panel="tile", tile_key=key, form=form, form_problems=problems,
                   branch=_branch_to_show(action, shown), notice=notice, ok=not notice or structural,
                   main=main, live=False)


def _int(value) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _branch_to_show(action: str, shown: int | None) -> int | None:
    verb, _, rest = action.partition(":")
    return int(rest) if verb == "show_branch" and rest.isdigit() else shown


def _structural(request: HtmxHttpRequest, doc, key: str, action: str):
    verb, _, rest = action.partition(":")
    if verb == "add_path":
        return drafts.add_path(doc, key), "Path added.", True
    if verb == "remove_path" and rest.isdigit():
        doc, removed = drafts.remove_path(doc, key, int(rest))
        extra = f" with {len(removed)} tile{'' if len(removed) == 1 else 's'}" if removed else ""
        return doc, f"Path removed{extra}.", True
    return doc, "", False


def _go_to(request: HtmxHttpRequest, doc, key: str):
    """Apply the "then" selects: a way out pointed at the end or another tile."""
    dropped: list[str] = []
    tile = doc["tiles"].get(key)
    for way in catalog.outs(tile) if isinstance(tile, dict) else []:
        chosen = request.POST.get(f"goto-{way.where}")
        if chosen is None or chosen == (way.target or "") or chosen == "":
            continue
        if chosen != EXIT and chosen not in doc["tiles"]:
            continue
        doc, removed = drafts.retarget(doc, after=key, where=way.where, target=chosen)
        dropped.extend(removed)
    return doc, dropped


@login_required
@permission_required("journeys.view_journey", raise_exception=True)
@require_GET
def tile_people(request: HtmxHttpRequest, pk: int, key: str) -> HttpResponse:
    journey = load_journey(request, pk)
    return respond(request, journey, panel="people", tile_key=key, live=True)


@login_required
@permission_required("journeys.view_journey", raise_exception=True)
@require_GET
def run_path(request: HtmxHttpRequest, pk: int, run_id: int) -> HttpResponse:
    journey = load_journey(request, pk)
    return respond(request, journey, panel="run", run_id=run_id, live=journey.versions.exists())

