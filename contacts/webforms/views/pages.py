"""The marketer's landing pages: the list, create, the block designer, publish and unpublish, delete."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts.models import LandingPage
from contacts.views.shared import HtmxHttpRequest
from contacts.webforms import services
from contacts.webforms.forms import BlockFormSet, LandingPageSettingsForm, blocks_from, blocks_initial

PER_PAGE = 50


@login_required
@permission_required("contacts.view_landingpage", raise_exception=True)
@require_GET
def page_list(request: HtmxHttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:200]
    pages = LandingPage.objects.select_related("brand").order_by("name", "id")
    if q:
        pages = pages.filter(Q(name__icontains=q) | Q(slug__icontains=q) | Q(title__icontains=q))
    page = Paginator(pages, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "webforms/page_list.html", {"page": page, "q": q})


@login_required
@permission_required("contacts.add_landingpage", raise_exception=True)
@require_http_methods(["GET", "POST"])
def page_create(request: HtmxHttpRequest) -> HttpResponse:
    form = LandingPageSettingsForm(request.POST or None, instance=LandingPage(created_by=request.user))
    if request.method == "POST" and form.is_valid():
        landing = form.save()
        messages.success(request, f"Page “{landing.name}” created. Add its blocks next.")
        return redirect(landing)
    return render(request, "webforms/page_settings.html",
                  {"form": form, "cancel_url": reverse("webforms:page_list")})


@login_required
@permission_required("contacts.view_landingpage", raise_exception=True)
@require_http_methods(["GET", "POST"])
def page_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The block designer: the page's settings and its blocks in order, saved as the draft. Read
    only for those who may view pages but not change them (sales)."""
    landing = get_object_or_404(LandingPage.objects.select_related("brand"), pk=pk)
    if not request.user.has_perm("contacts.change_landingpage"):
        if request.method == "POST":
            raise PermissionDenied
        return render(request, "webforms/page_design.html", {"landing": landing, "read_only": True})
    data = request.POST if request.method == "POST" else None
    block_rows = BlockFormSet(data, initial=blocks_initial(landing.blocks), prefix="blocks")
    if request.method == "POST":
        if block_rows.is_valid():
            landing.blocks = blocks_from(block_rows)
        settings_form = LandingPageSettingsForm(data, instance=landing)
        if block_rows.is_valid() and settings_form.is_valid():
            settings_form.save()
            if request.POST.get("action") == "publish":
                return _publish(request, landing)
            messages.success(request, f"Draft of “{landing.name}” saved.")
            return redirect(landing)
    else:
        settings_form = LandingPageSettingsForm(instance=landing)
    return render(request, "webforms/page_design.html",
                  {"landing": landing, "settings_form": settings_form, "blocks": block_rows})


def _publish(request: HtmxHttpRequest, landing: LandingPage) -> HttpResponse:
    try:
        services.publish_page(landing, now=timezone.now())
    except ValidationError as exc:
        messages.error(request, "Not published: " + "; ".join(exc.messages))
    else:
        messages.success(request, f"“{landing.name}” is published at {landing.public_url()}.")
    return redirect(landing)


@login_required
@permission_required("contacts.change_landingpage", raise_exception=True)
@require_POST
def page_publish(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _publish(request, get_object_or_404(LandingPage, pk=pk))


@login_required
@permission_required("contacts.change_landingpage", raise_exception=True)
@require_POST
def page_unpublish(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    landing = get_object_or_404(LandingPage, pk=pk)
    services.unpublish_page(landing)
    messages.success(request, f"“{landing.name}” is a draft again; visitors get “not found”.")
    return redirect(landing)


@login_required
@permission_required("contacts.delete_landingpage", raise_exception=True)
@require_POST
def page_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    landing = get_object_or_404(LandingPage, pk=pk)
    landing.delete()
    messages.success(request, f"Page “{landing.name}” deleted.")
    return redirect("webforms:page_list")
