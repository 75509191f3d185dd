"""The journey list (search, filters, run counts), a new journey, clone and deleting drafts."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import ProtectedError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from contacts.views.shared import HtmxHttpRequest, wants_fragment
from journeys import queries, services
from journeys.forms import EntryForm, JourneyFilterForm
from journeys.models import Journey

PER_PAGE = 50


@login_required
@permission_required("journeys.view_journey", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def journey_list(request: HtmxHttpRequest) -> HttpResponse:
    form = JourneyFilterForm(request.GET)
    filters = form.filters()
    page = Paginator(queries.journey_list(filters), PER_PAGE).get_page(request.GET.get("page"))
    template = "journeys/list.html#rows" if wants_fragment(request) else "journeys/list.html"
    return render(request, template, {"form": form, "page": page, "filtered": any(filters.values())})


@login_required
@permission_required("journeys.add_journey", raise_exception=True)
@require_http_methods(["GET", "POST"])
def journey_create(request: HtmxHttpRequest) -> HttpResponse:
    """Name, audience and entry (trigger, or segment with its mode); then the canvas."""
    initial = {"entry_type": request.GET.get("type", "trigger")}
    form = EntryForm(request.POST or None, instance=Journey(created_by=request.user), initial=initial)
    if request.method == "POST" and form.is_valid():
        journey = form.save()
        messages.success(request, f"Journey “{journey}” created. Add its first tile with the + below the entry.")
        return redirect(journey)
    return render(request, "journeys/create.html", {"form": form})


@login_required
@permission_required("journeys.add_journey", raise_exception=True)
@require_POST
def journey_clone(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    journey = get_object_or_404(Journey, pk=pk)
    copy = services.clone(journey, user=request.user)
    messages.success(request, f"Cloned “{journey}” as the draft “{copy}”.")
    return redirect(copy)


@login_required
@permission_required("journeys.delete_journey", raise_exception=True)
@require_http_methods(["GET", "POST"])
def journey_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Only drafts that never ran can be deleted; a journey with history is stopped instead."""
    journey = get_object_or_404(Journey, pk=pk)
    deletable = journey.status == Journey.Status.DRAFT and not journey.versions.exists()
    if request.method == "POST" and deletable:
        name = str(journey)
        try:
            journey.delete()
        except ProtectedError:
            messages.error(request, f"“{name}” has runs and cannot be deleted.")
            return redirect(journey)
        messages.success(request, f"Journey “{name}” deleted.")
        return redirect("journeys:list")
    return render(request, "journeys/delete.html", {"journey": journey, "deletable": deletable})
