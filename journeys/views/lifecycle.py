"""A journey's entry and settings panels, and its lifecycle: go live (refused while problems
remain), pause, resume, stop, and a new version of a live journey (with where people stand)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from contacts.views.shared import HtmxHttpRequest
from journeys import services
from journeys.forms import EntryForm, SettingsForm, read_conditions
from journeys.views.shared import load_journey, require_editable, respond
from journeys.views.state import ENTRY_LOCKED, entry_locked
from journeys.views.tiles import EDITOR_VERBS
from segments.forms import builder
from segments.query import empty_query


def _can_change(request: HtmxHttpRequest) -> bool:
    return request.user.has_perm("journeys.change_journey")


@login_required
@permission_required("journeys.view_journey", raise_exception=True)
@require_http_methods(["GET", "POST"])
def entry(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Name, audience and entry; for a trigger, its conditions in the segment condition editor.

    Editing the conditions writes nothing: the conditions being edited travel in a hidden input
    and **Save entry** writes the fields and the conditions together, and only when the whole
    form validates (so "Not saved" is true of everything in the panel). The entry of a live or
    paused journey is not versioned, so it cannot change (clone the journey); its name and
    description still can."""
    journey = load_journey(request, pk)
    if request.method == "GET":
        return respond(request, journey, panel="entry")
    if not _can_change(request):
        return respond(request, journey, panel="entry", notice="You may not edit journeys.", ok=False, status=403)
    require_editable(request, journey)
    main = "conditions" if request.headers.get("HX-Target") == "conditions" else "panel"
    locked = entry_locked(journey)
    if locked and main == "conditions":
        return respond(request, journey, panel="entry", notice=ENTRY_LOCKED, ok=False, status=409, live=False)
    action = request.POST.get("action", "save")
    query = None
    if journey.entry_trigger and "r-match" in request.POST and not locked:
        stored = journey.entry_conditions or empty_query()
        query, _readable = builder.load(request.POST, fallback=stored)
        read_conditions(request.POST, query, journey=journey)
        if action.partition(":")[0] in EDITOR_VERBS:
            builder.apply(query, action, audience=journey.audience)
    if main == "conditions":  # an edit in the condition editor: shown, kept on the page, not saved
        return respond(request, journey, panel="entry", entry_query=query, main=main, live=False)
    form = EntryForm(request.POST, instance=journey, lock_entry=locked)
    if form.is_valid():
        with transaction.atomic():
            journey = form.save(commit=False)
            if query is not None and journey.entry_trigger:
                journey.entry_conditions = query or None
            journey.save()
            form.save_m2m()
        saved = "Name and description saved." if locked else "Entry saved."
        return respond(request, journey, panel="entry", notice=saved, live=False)
    journey.refresh_from_db()
    return respond(request, journey, panel="entry", form=form, entry_query=query, ok=False, live=False,
                   notice="Not saved: correct the highlighted fields.")


@login_required
@permission_required("journeys.view_journey", raise_exception=True)
@require_http_methods(["GET", "POST"])
def settings(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    journey = load_journey(request, pk)
    if request.method == "GET":
        return respond(request, journey, panel="settings")
    if not _can_change(request):
        return respond(request, journey, panel="settings", notice="You may not edit journeys.", ok=False, status=403)
    require_editable(request, journey)
    form = SettingsForm(request.POST, instance=journey)
    if form.is_valid():
        form.save()
        return respond(request, journey, panel="settings", notice="Journey settings saved.")
    journey.refresh_from_db()
    return respond(request, journey, panel="settings", form=form, ok=False,
                   notice="Not saved: correct the highlighted fields.")


def _lifecycle(request: HtmxHttpRequest, pk: int, verb: str) -> HttpResponse:
    journey = load_journey(request, pk)
    now = timezone.now()
    try:
        if verb == "go_live":
            version = services.go_live(journey, now=now)
            notice = f"“{journey}” is live (version {version.number})."
        elif verb == "pause":
            services.pause(journey)
            notice = "Paused: people stay where they are until you resume."
        elif verb == "resume":
            services.resume(journey)
            notice = "Live again."
        else:
            count = services.stop(journey, now=now)
            notice = f"Stopped; {count:,} {'person' if count == 1 else 'people'} exited."
    except ValidationError as exc:
        by_tile = exc.message_dict if hasattr(exc, "error_dict") else None
        problems = sum(len(v) for v in by_tile.values()) if by_tile else 0
        notice = (f"Not live: fix the {problems} problem{'' if problems == 1 else 's'} shown on the tiles first."
                  if verb == "go_live" and by_tile else " ".join(exc.messages))
        return respond(request, journey, notice=notice, ok=False, live=False)
    journey.refresh_from_db()
    return respond(request, journey, notice=notice, live=journey.versions.exists())


@login_required
@permission_required("journeys.change_journey", raise_exception=True)
@require_POST
def go_live(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _lifecycle(request, pk, "go_live")


@login_required
@permission_required("journeys.change_journey", raise_exception=True)
@require_POST
def pause(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _lifecycle(request, pk, "pause")


@login_required
@permission_required("journeys.change_journey", raise_exception=True)
@require_POST
def resume(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _lifecycle(request, pk, "resume")


@login_required
@permission_required("journeys.change_journey", raise_exception=True)
@require_POST
def stop(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _lifecycle(request, pk, "stop")


@login_required
@permission_required("journeys.change_journey", raise_exception=True)
@require_http_methods(["GET", "POST"])
def new_version(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """GET: where people stand and whether the draft keeps their tile; POST: freeze the draft as
    the next version, people inside finishing the old one or moving to the matching tiles."""
    journey = load_journey(request, pk)
    if request.method == "GET":
        return respond(request, journey, panel="version", live=False)
    move = request.POST.get("runs") == "move"
    try:
        version = services.new_version(journey, now=timezone.now(), move_runs=move)
    except ValidationError as exc:
        messages = exc.message_dict if hasattr(exc, "error_dict") else None
        count = sum(len(v) for v in messages.values()) if messages else 0
        notice = (f"No new version: fix the {count} problem{'' if count == 1 else 's'} shown on the tiles first."
                  if messages else " ".join(exc.messages))
        return respond(request, journey, panel="version", notice=notice, ok=False, live=False)
    how = "moved to the matching tiles" if move else "finish the version they are on"
    return respond(request, journey, notice=f"Version {version.number} is live; people already inside {how}.",
                   live=True)
