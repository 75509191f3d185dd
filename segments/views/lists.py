"""The segment list: search and filters, with each segment's status, members and last refresh."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from contacts.views.shared import HtmxHttpRequest, wants_fragment
from segments.forms import SegmentFilterForm
from segments.models import Segment

PER_PAGE = 50
MAX_SEARCH_TERMS = 5


def matching_segments(filters: dict[str, Any]) -> QuerySet[Segment]:
    """Segments matching the list's search (every word in the name or description) and filters."""
    segments = Segment.objects.order_by("name", "id")
    for term in (filters.get("q") or "").split()[:MAX_SEARCH_TERMS]:
        segments = segments.filter(Q(name__icontains=term) | Q(description__icontains=term))
    for name in ("kind", "audience", "status"):
        if filters.get(name):
            segments = segments.filter(**{name: filters[name]})
    return segments


@login_required
@permission_required("segments.view_segment", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def segment_list(request: HtmxHttpRequest) -> HttpResponse:
    form = SegmentFilterForm(request.GET)
    page = Paginator(matching_segments(form.filters()), PER_PAGE).get_page(request.GET.get("page"))
    template = "segments/list.html#rows" if wants_fragment(request) else "segments/list.html"
    return render(request, template, {"form": form, "page": page, "filtered": any(form.filters().values())})
