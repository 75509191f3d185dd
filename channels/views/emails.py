"""Email pages: the list, the create and settings forms, the email page (totals and rates per
version, suppression reasons, the delivery log), publishing, and a contact's deliveries."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from channels import queries
from channels.forms import DeliverySearchForm, EmailFilterForm, EmailForm
from channels.models import BrandProfile, Email, SenderProfile
from channels.views.designer import publish_now
from channels.views.drafts import Draft
from contacts.models import Contact
from contacts.views.shared import HtmxHttpRequest, wants_fragment

PER_PAGE = 50
LOG_PER_PAGE = 50


@login_required
@permission_required("channels.view_email", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def email_list(request: HtmxHttpRequest) -> HttpResponse:
    form = EmailFilterForm(request.GET)
    page = Paginator(queries.email_list(**form.filters()), PER_PAGE).get_page(request.GET.get("page"))
    totals = queries.totals_by_email(email.pk for email in page.object_list)
    rows = [(email, totals.get(email.pk, queries.Totals())) for email in page.object_list]
    template = "channels/email_list.html#rows" if wants_fragment(request) else "channels/email_list.html"
    return render(request, template, {"form": form, "page": page, "rows": rows})


def _profiles_missing() -> dict[str, bool]:
    return {"no_senders": not SenderProfile.objects.exists(), "no_brands": not BrandProfile.objects.exists()}


@login_required
@permission_required("channels.add_email", raise_exception=True)
@require_http_methods(["GET", "POST"])
def email_create(request: HtmxHttpRequest) -> HttpResponse:
    form = EmailForm(request.POST or None, instance=Email(created_by=request.user))
    if request.method == "POST" and form.is_valid():
        email = form.save()
        messages.success(request, f"Email “{email.name}” created. Add blocks to design it.")
        return redirect("channels:email_design", pk=email.pk)
    return render(request, "channels/email_form.html",
                  {"form": form, "cancel_url": reverse("channels:email_list"), **_profiles_missing()})


@login_required
@permission_required("channels.change_email", raise_exception=True)
@require_http_methods(["GET", "POST"])
def email_settings(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(Email, pk=pk)
    form = EmailForm(request.POST or None, instance=email)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Settings of “{email.name}” saved.")
        target = "channels:email_design" if request.POST.get("next") == "design" else "channels:email_detail"
        return redirect(target, pk=email.pk)
    return render(request, "channels/email_form.html",
                  {"form": form, "object": email, "cancel_url": email.get_absolute_url(), **_profiles_missing()})


@login_required
@permission_required("channels.view_email", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def email_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(Email.objects.select_related("sender", "brand", "topic", "created_by"), pk=pk)
    search = DeliverySearchForm(request.GET)
    text = search.cleaned_data["q"] if search.is_valid() else ""
    log = Paginator(queries.delivery_log(email, search=text), LOG_PER_PAGE).get_page(request.GET.get("page"))
    if wants_fragment(request):
        return render(request, "channels/email_detail.html#log", {"email": email, "log": log, "search": search})
    versions, overall = queries.totals_by_version(email)
    return render(request, "channels/email_detail.html", {
        "email": email, "log": log, "search": search, "versions": versions, "overall": overall,
        "reasons": queries.suppressed_reasons(email), "changed": Draft(email).published_changes(),
    })


@login_required
@permission_required("channels.change_email", raise_exception=True)
@require_POST
def email_publish(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    draft = Draft(get_object_or_404(Email.objects.select_related("brand", "sender", "topic"), pk=pk))
    version, problems = publish_now(draft, request.user)
    if version is not None:
        messages.success(request, f"Published version {version.number} of “{draft.obj.name}”. "
                                  "Journeys now send this version.")
    else:
        messages.error(request, "Not published: " + " · ".join(problems))
    return redirect("channels:email_design", pk=pk)


@login_required
@permission_required("channels.view_email", raise_exception=True)
@require_GET
def contact_deliveries(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The "Emails" card of a contact page, loaded by HTMX after the page."""
    contact = get_object_or_404(Contact, pk=pk)
    return render(request, "channels/partials/contact_deliveries.html",
                  {"contact": contact, "deliveries": queries.contact_deliveries(contact)})
