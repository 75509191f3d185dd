"""The segment page: definition, members (searchable, exportable), 30-day trend, refreshes, and
its actions: refresh now, refresh mode, delete."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from contacts.views.shared import HtmxHttpRequest, wants_fragment
from segments import hooks, queries, sentences, services
from segments.forms import AddMembersForm, FreezeForm, MemberSearchForm, RefreshModeForm, controls
from segments.models import Segment
from segments.views import members

PER_PAGE = 25
TREND_DAYS = 30
RECENT_REFRESHES = 8


@login_required
@permission_required("segments.view_segment", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def segment_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    search = MemberSearchForm(request.GET)
    q = search.cleaned_data["q"] if search.is_valid() else ""
    page = Paginator(members.member_rows(segment, q), PER_PAGE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {"segment": segment, "search": search, "page": page, "q": q}
    if wants_fragment(request):
        return render(request, "segments/detail.html#members", context)
    now = timezone.now()
    trend = queries.membership_trend(segment, days=TREND_DAYS, now=now)
    context.update(
        trend=trend,
        trend_entered=sum(p["entered"] for p in trend), trend_exited=sum(p["exited"] for p in trend),
        refreshes=list(segment.refreshes.all()[:RECENT_REFRESHES]),
        used_by=list(segment.used_by.order_by("name").values_list("pk", "name")),
        refresh_mode_form=RefreshModeForm(instance=segment),
    )
    if segment.is_dynamic:
        context["sentence"] = sentences.describe(segment.query, segment.audience)
        if segment.status == Segment.Status.DRAFT:
            errors = services.check_query(segment.query, audience=segment.audience, segment=segment)
            context["query_errors"] = controls.listed(errors, segment.query if isinstance(segment.query, dict) else {})
    elif request.user.has_perm("segments.change_segment"):
        context.update(add_form=AddMembersForm(), freeze_form=FreezeForm(segment=segment))
    return render(request, "segments/detail.html", context)


@login_required
@permission_required("segments.view_segment", raise_exception=True)
@require_GET
def segment_export(request: HtmxHttpRequest, pk: int) -> StreamingHttpResponse:
    """Every member of the segment as a streamed CSV file (the same columns as the people export)."""
    segment = get_object_or_404(Segment, pk=pk)
    if not request.user.has_perm(f"contacts.view_{segment.audience}"):
        raise PermissionDenied
    response = StreamingHttpResponse(members.export_chunks(segment), content_type="text/csv; charset=utf-8")
    filename = f"segment-{slugify(segment.name) or segment.pk}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@permission_required("segments.change_segment", raise_exception=True)
@require_POST
def segment_refresh(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    try:
        refresh = services.refresh(segment, now=timezone.now())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Refreshed in {refresh.duration_ms:,} ms: {refresh.member_count:,} members "
                                  f"({refresh.entered:,} entered, {refresh.exited:,} exited).")
    return redirect(segment)


@login_required
@permission_required("segments.change_segment", raise_exception=True)
@require_POST
def segment_refresh_mode(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    form = RefreshModeForm(request.POST, instance=segment)
    saved = form.is_valid()
    if saved:
        # A draft stays a draft and a valid query stays ready: only the refresh mode changes.
        services.save_segment(segment, now=timezone.now(), make_ready=False)
    if request.htmx:
        return render(request, "segments/partials/refresh_mode.html",
                      {"segment": segment, "refresh_mode_form": form, "saved": saved})
    if saved:
        messages.success(request, f"Refresh mode set to {segment.get_refresh_mode_display().lower()}.")
    return redirect(segment)


@login_required
@permission_required("segments.delete_segment", raise_exception=True)
@require_http_methods(["GET", "POST"])
def segment_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    uses = hooks.usage(segment)
    if request.method == "POST" and not uses:
        name = str(segment)
        try:
            services.delete_segment(segment)  # memberships, refreshes and history go with it
        except services.SegmentInUse as error:
            uses = error.uses
        else:
            messages.success(request, f"Segment “{name}” deleted.")
            return redirect("segments:list")
    return render(request, "segments/delete.html", {
        "segment": segment, "uses": uses, "cancel_url": reverse("segments:detail", args=[pk]),
    })
