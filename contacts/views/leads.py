"""Lead pages: a searchable list, the lead page (profile, consent, timeline) and its form."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from contacts import queries
from contacts.forms import LeadFilterForm, LeadForm
from contacts.models import Lead
from contacts.views.shared import (
    HtmxHttpRequest,
    change_consent,
    consent_context,
    render_timeline_page,
    timeline_context,
    wants_fragment,
)

PER_PAGE = 50


@login_required
@permission_required("contacts.view_lead", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def lead_list(request: HtmxHttpRequest) -> HttpResponse:
    form = LeadFilterForm(request.GET)
    page = Paginator(queries.matching_leads(form.filters()), PER_PAGE).get_page(request.GET.get("page"))
    template = "contacts/lead_list.html#rows" if wants_fragment(request) else "contacts/lead_list.html"
    return render(request, template, {"form": form, "page": page})


@login_required
@permission_required("contacts.view_lead", raise_exception=True)
@require_GET
def lead_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead.objects.select_related("account", "contact", "owner"), pk=pk)
    detail_url = reverse("contacts:lead_detail", args=[pk])
    if request.htmx and "timeline" in request.GET:
        return render_timeline_page(request, lead, detail_url=detail_url)
    context = {
        "lead": lead,
        "attributes": queries.custom_attribute_values(lead),
        "now": timezone.now(),
        "tasks": queries.open_tasks_of(lead),
        **consent_context(lead, consent_url=reverse("contacts:lead_consent", args=[pk])),
        **timeline_context(request, lead, detail_url=detail_url),
    }
    return render(request, "contacts/lead_detail.html", context)


@login_required
@permission_required("contacts.change_consent", raise_exception=True)
@require_POST
def lead_consent(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead, pk=pk)
    return change_consent(request, lead, detail_url=reverse("contacts:lead_detail", args=[pk]),
                          consent_url=reverse("contacts:lead_consent", args=[pk]))


@login_required
@permission_required("contacts.add_lead", raise_exception=True)
@require_http_methods(["GET", "POST"])
def lead_create(request: HtmxHttpRequest) -> HttpResponse:
    form = LeadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        lead = form.save()
        messages.success(request, f"Lead {lead} created.")
        return redirect("contacts:lead_detail", pk=lead.pk)
    return render(request, "contacts/form.html", {"form": form, "kind": "lead",
                                                  "cancel_url": reverse("contacts:lead_list")})


@login_required
@permission_required("contacts.change_lead", raise_exception=True)
@require_http_methods(["GET", "POST"])
def lead_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead, pk=pk)
    form = LeadForm(request.POST or None, instance=lead)
    detail_url = reverse("contacts:lead_detail", args=[pk])
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Lead {lead} saved.")
        return redirect(detail_url)
    return render(request, "contacts/form.html", {"form": form, "kind": "lead", "object": lead,
                                                  "cancel_url": detail_url})
