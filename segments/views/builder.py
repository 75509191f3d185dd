"""The segment builder: create and edit a segment, its query built by HTMX round trips.

Each change posts the whole form; the server reads the query from the hidden input, lays the
controls over it, performs the pressed button, validates, previews and re-renders the conditions
(and, out of band, the preview). Saving is an ordinary POST that redirects to the segment page.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from contacts.views.shared import HtmxHttpRequest
from segments import sentences, services
from segments.forms import SegmentForm, builder, builder_choices, controls
from segments.models import Segment
from segments.query import empty_query

SAVE, SAVE_DRAFT = "save", "save_draft"
NOUNS = {"contact": ("contact", "contacts"), "lead": ("lead", "leads")}


@login_required
@permission_required("segments.add_segment", raise_exception=True)
@require_http_methods(["GET", "POST"])
def segment_create(request: HtmxHttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    kind = data.get("kind") if data.get("kind") in Segment.Kind.values else Segment.Kind.DYNAMIC
    audience = data.get("audience") if data.get("audience") in Segment.Audience.values else Segment.Audience.CONTACT
    return _builder(request, Segment(kind=kind, audience=audience, created_by=request.user))


@login_required
@permission_required("segments.change_segment", raise_exception=True)
@require_http_methods(["GET", "POST"])
def segment_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _builder(request, get_object_or_404(Segment, pk=pk))


def _builder(request: HtmxHttpRequest, segment: Segment) -> HttpResponse:
    now = timezone.now()
    posted = request.method == "POST"
    form = SegmentForm(request.POST if posted else None, instance=segment)
    action = request.POST.get("action", "update") if posted else ""
    query, readable = copy.deepcopy(segment.query or empty_query()), True
    if not isinstance(query, dict) or not isinstance(query.get("conditions"), list):
        query, readable = empty_query(), False  # e.g. stored by hand in the admin; the builder starts over
    if posted and segment.is_dynamic:
        query, readable = builder.load(request.POST, fallback=query)
        builder.read_posted(request.POST, query, audience=segment.audience)
        if action not in (SAVE, SAVE_DRAFT):
            builder.apply(query, action, audience=segment.audience)
    if action in (SAVE, SAVE_DRAFT):
        saved = _save(request, form, segment, query, make_ready=action == SAVE, now=now)
        if saved:
            return redirect(saved)
    context = builder_context(segment, query, form=form, now=now, readable=readable)
    if request.htmx and posted and action not in (SAVE, SAVE_DRAFT):
        return render(request, "segments/partials/builder_update.html", context)
    return render(request, "segments/builder.html", context)


def _save(request: HtmxHttpRequest, form: SegmentForm, segment: Segment, query: dict[str, Any], *,
          make_ready: bool, now) -> Segment | None:
    """Save through `services.save_segment` (refusing a broken query unless it is a draft) and,
    once ready, refresh it so its page shows its members at once. None when nothing was saved."""
    if not form.is_valid():
        return None
    creating = segment.pk is None
    if segment.is_dynamic:
        segment.query = query
    try:
        services.save_segment(segment, now=now, make_ready=make_ready)
    except ValidationError as exc:
        if "query" in exc.message_dict:
            form.add_error(None, "Not saved: the query has problems (shown beside the conditions). "
                                 "Fix them, or save the segment as a draft.")
        else:
            form.add_error(None, " ".join(exc.messages))
        return None
    if segment.is_dynamic and segment.status == Segment.Status.READY:
        refresh = services.refresh(segment, now=now)
        messages.success(request, f"Segment “{segment}” saved and refreshed: {refresh.member_count:,} "
                                  f"member{'' if refresh.member_count == 1 else 's'}.")
    elif segment.is_dynamic:
        messages.warning(request, f"Segment “{segment}” saved as a draft. Drafts are not refreshed or used "
                                  "until their query is fixed.")
    else:
        messages.success(request, f"Segment “{segment}” {'created' if creating else 'saved'}."
                                  + (" Add its members below." if creating else ""))
    return segment


def builder_context(segment: Segment, query: dict[str, Any], *, form: SegmentForm, now, readable: bool = True
                    ) -> dict[str, Any]:
    """The builder's page: the condition tree with its problems, the preview and the sentence."""
    singular, plural = NOUNS[segment.audience]
    context: dict[str, Any] = {"segment": segment, "form": form, "is_new": segment.pk is None,
                               "noun": singular, "nouns": plural}
    if not segment.is_dynamic:
        return context
    errors = services.check_query(query, audience=segment.audience, segment=segment)
    problems = controls.place(errors, query)
    if not readable:
        problems.general.insert(0, "The builder's state could not be read, so it started again.")
    count, sample = (None, [])
    if not errors:
        count, sample = services.preview(query, audience=segment.audience, now=now)
    context.update(
        tree=controls.tree(query, choices=builder_choices(segment), problems=problems),
        query_json=json.dumps(query), problems=problems, count=count, sample=sample,
        sentence=sentences.describe(query, segment.audience),
    )
    return context
