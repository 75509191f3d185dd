"""A segment's members: the page's rows and CSV export, and the hand edits of static segments
(add by pasted emails, remove one, freeze another segment's members in)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from contacts import queries as people_queries
from contacts.views.shared import HtmxHttpRequest, safe_next
from segments import services
from segments.forms import AddMembersForm, FreezeForm
from segments.models import Segment, SegmentMembership

MAX_SEARCH_TERMS = 5
EXPORT_ROWS_PER_CHUNK = 500
LEAD_EXPORT_FIELDS = ["id", "email", "first_name", "last_name", "phone", "job_title", "company", "status", "topic",
                      "source", "country", "state", "city", "time_zone", "language", "created_at"]
SHOWN_UNKNOWN_EMAILS = 20


# --- Reading ------------------------------------------------------------------------------------
def member_rows(segment: Segment, q: str = "") -> QuerySet:
    """The members (`services.members`) with the time each entered, searchable by name and email."""
    key = "contact" if segment.audience == Segment.Audience.CONTACT else "lead"
    entered = SegmentMembership.objects.filter(segment=segment, **{key: OuterRef("pk")}).values("entered_at")[:1]
    people = services.members(segment).annotate(entered_at=Subquery(entered))
    people = people.select_related("account") if key == "contact" else people
    for term in q.split()[:MAX_SEARCH_TERMS]:
        people = people.filter(Q(first_name__icontains=term) | Q(last_name__icontains=term)
                               | Q(email__icontains=term))
    return people


class _Echo:
    """A file-like object whose write() hands the line back, for csv.writer in a stream."""

    def write(self, value: str) -> str:
        return value


def _chunks(rows: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    lines = ["\ufeff"]  # a BOM, so spreadsheets read the file as UTF-8
    for row in rows:
        lines.append(writer.writerow(row))
        if len(lines) >= EXPORT_ROWS_PER_CHUNK:
            yield "".join(lines)
            lines = []
    yield "".join(lines)


def _lead_rows(leads: QuerySet) -> Iterator[list[str]]:
    yield LEAD_EXPORT_FIELDS
    for lead in leads.order_by("id").iterator(chunk_size=2000):
        yield [people_queries._cell(getattr(lead, name)) for name in LEAD_EXPORT_FIELDS]


def export_chunks(segment: Segment) -> Iterator[str]:
    """The members as CSV text in chunks; contacts in the contact export's columns."""
    people = services.members(segment)
    if segment.audience == Segment.Audience.CONTACT:
        return _chunks(people_queries.contact_export_rows(people.select_related("account", "owner")))
    return _chunks(_lead_rows(people))


# --- Static segments: hand edits ------------------------------------------------------------------
@login_required
@permission_required("segments.change_segment", raise_exception=True)
@require_POST
def add_members(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    form = AddMembersForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["emails"]))
        return redirect(segment)
    try:
        entered, unknown = services.add_members_by_email(segment, form.cleaned_data["emails"], now=timezone.now())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(segment)
    noun = segment.get_audience_display().lower()
    messages.success(request, f"Added {entered:,} {noun[:-1] if entered == 1 else noun}"
                              + ("" if entered else " (everyone found was already a member)") + ".")
    if unknown:
        shown = ", ".join(unknown[:SHOWN_UNKNOWN_EMAILS])
        more = f" and {len(unknown) - SHOWN_UNKNOWN_EMAILS:,} more" if len(unknown) > SHOWN_UNKNOWN_EMAILS else ""
        messages.warning(request, f"{len(unknown):,} email{'' if len(unknown) == 1 else 's'} matched no "
                                  f"{noun[:-1]}: {shown}{more}.")
    return redirect(segment)


@login_required
@permission_required("segments.change_segment", raise_exception=True)
@require_POST
def remove_member(request: HtmxHttpRequest, pk: int, person_id: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    try:
        result = services.remove_members(segment, [person_id], now=timezone.now())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if result.exited:
            messages.success(request, "Removed from the segment.")
        else:
            messages.info(request, "That person was not a member.")
    return redirect(safe_next(request, segment.get_absolute_url()))


@login_required
@permission_required("segments.change_segment", raise_exception=True)
@require_POST
def freeze_members(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Add, once, everyone in another segment right now (later changes there do not follow)."""
    segment = get_object_or_404(Segment, pk=pk)
    form = FreezeForm(request.POST, segment=segment)
    if not form.is_valid():
        messages.error(request, "Choose a ready segment of the same audience.")
        return redirect(segment)
    source = form.cleaned_data["source"]
    query = {"version": 1, "match": "all", "conditions": [{"type": "segment", "op": "in", "segment": source.pk}]}
    try:
        result = services.freeze(segment, query, now=timezone.now())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Added {result.entered:,} of the members of “{source}”.")
    return redirect(segment)
