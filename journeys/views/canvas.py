"""The journey canvas: the page, its server render (`render_canvas`), and the edits made on it —
insert a tile from the palette, delete one, undo. Tile settings live in journeys/views/tiles.py.

Server-owned state: every edit is written to the draft (`journey.tiles`) at once, the previous
draft is kept in the session for undo, and the canvas, the side panel and the toolbar are sent
back as out-of-band swaps (without JavaScript the page simply reloads)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from contacts.views.shared import HtmxHttpRequest, wants_fragment
from journeys import catalog, drafts
from journeys.views import panels
from journeys.views.render import render_canvas
from journeys.views.shared import load_journey, respond, save_draft, session_history

__all__ = ["render_canvas"]


@login_required
@permission_required("journeys.view_journey", raise_exception=True)
@require_GET
def journey_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The canvas page: the draft to edit, or (?view=live, the default once live) the live view.
    `?tile=K`, `?add=after:where`, `?panel=settings|entry|test` open the side panel without JS."""
    journey = load_journey(request, pk)
    context = panels.page_context(request, journey)
    if wants_fragment(request):
        context["main"] = "panel"
        return render(request, "journeys/partials/update.html", context)
    return render(request, "journeys/detail.html", context)


@login_required
@permission_required("journeys.change_journey", raise_exception=True)
@require_GET
def palette(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    journey = load_journey(request, pk)
    after, where = request.GET.get("after", ""), request.GET.get("where", "")
    return respond(request, journey, panel="palette", after=after, where=where, live=False)


@login_required
@permission_required("journeys.change_journey", raise_exception=True)
@require_POST
def tile_add(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    journey = load_journey(request, pk)
    kind = request.POST.get("kind", "")
    try:
        doc, key = drafts.insert(journey.tiles, after=request.POST.get("after", ""),
                                 where=request.POST.get("where", ""), kind=kind)
    except drafts.DraftError as exc:
        return respond(request, journey, panel="palette", after=request.POST.get("after", ""),
                       where=request.POST.get("where", ""), notice=str(exc), ok=False, live=False)
    save_draft(request, journey, doc, action=f"add:{key}")
    return respond(request, journey, panel="tile", tile_key=key, live=False,
                   notice=f"{catalog.KINDS[kind].label} tile added.")


@login_required
@permission_required("journeys.change_journey", raise_exception=True)
@require_POST
def tile_delete(request: HtmxHttpRequest, pk: int, key: str) -> HttpResponse:
    journey = load_journey(request, pk)
    try:
        doc, removed = drafts.delete(journey.tiles, key)
    except drafts.DraftError as exc:
        return respond(request, journey, notice=str(exc), ok=False, live=False)
    label = catalog.label(journey.tiles["tiles"][key])
    save_draft(request, journey, doc, action=f"delete:{key}")
    extra = f" (with {len(removed) - 1} tile{'' if len(removed) == 2 else 's'} on its other paths)" \
        if len(removed) > 1 else ""
    return respond(request, journey, live=False,
                   notice=f"“{label}” deleted{extra}; the flow reconnected. Undo brings it back.")


@login_required
@permission_required("journeys.change_journey", raise_exception=True)
@require_POST
def undo(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    journey = load_journey(request, pk)
    history = session_history(request, journey)
    previous, rest = drafts.undo(history.get())
    if previous is None:
        return respond(request, journey, notice="Nothing to undo.", ok=False, live=False)
    history.set(rest)
    journey.tiles = previous
    journey.save(update_fields=["tiles", "updated_at"])
    if not request.htmx:
        messages.success(request, "Last change undone.")
        return redirect(reverse("journeys:detail", args=[pk]))
    return respond(request, journey, notice="Last change undone.", live=False)
