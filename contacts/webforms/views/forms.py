"""The marketer's form pages: the list, create, the designer (settings, fields, consent checkboxes
saved together), the form's page (embed codes, prefill links), delete, and submissions with CSV."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Max, ProtectedError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from contacts.models import Contact, Lead, WebForm
from contacts.views.shared import HtmxHttpRequest, wants_fragment
from contacts.webforms import queries, tokens
from contacts.webforms.forms import (
    ConsentFormSet,
    FieldFormSet,
    FormFilterForm,
    PrefillLinkForm,
    SubmissionSearchForm,
    WebFormSettingsForm,
)

PER_PAGE = 50


@login_required
@permission_required("contacts.view_webform", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def form_list(request: HtmxHttpRequest) -> HttpResponse:
    filters = FormFilterForm(request.GET)
    data = filters.cleaned_data if filters.is_valid() else {}
    page = Paginator(queries.form_list(q=data.get("q", ""), status=data.get("status", "")), PER_PAGE).get_page(
        request.GET.get("page"))
    template = "webforms/form_list.html#rows" if wants_fragment(request) else "webforms/form_list.html"
    return render(request, template, {"filters": filters, "page": page})


@login_required
@permission_required("contacts.add_webform", raise_exception=True)
@require_http_methods(["GET", "POST"])
def form_create(request: HtmxHttpRequest) -> HttpResponse:
    form = WebFormSettingsForm(request.POST or None, instance=WebForm(created_by=request.user))
    if request.method == "POST" and form.is_valid():
        webform = form.save()
        messages.success(request, f"Form “{webform.name}” created. Add its fields next.")
        return redirect("webforms:form_design", pk=webform.pk)
    return render(request, "webforms/form_settings.html", {"form": form, "cancel_url": reverse("webforms:form_list")})


@login_required
@permission_required("contacts.change_webform", raise_exception=True)
@require_http_methods(["GET", "POST"])
def form_design(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Settings, fields and consent checkboxes on one page, saved in one transaction or not at all."""
    webform = get_object_or_404(WebForm, pk=pk)
    data = request.POST if request.method == "POST" else None
    settings_form = WebFormSettingsForm(data, instance=webform, prefix="form")
    next_field = (webform.fields.aggregate(last=Max("position"))["last"] or 0) + 1
    next_consent = (webform.consents.aggregate(last=Max("position"))["last"] or 0) + 1
    fields = FieldFormSet(data, instance=webform, prefix="fields", initial=[{"position": next_field}])
    consents = ConsentFormSet(data, instance=webform, prefix="consents", initial=[{"position": next_consent}])
    if request.method == "POST":
        settings_ok = settings_form.is_valid()  # sets the instance's double opt-in before the fields check it
        if settings_ok and fields.is_valid() and consents.is_valid():
            with transaction.atomic():
                settings_form.save()
                fields.save()
                consents.save()
            messages.success(request, f"“{webform.name}” saved.")
            return redirect("webforms:form_design", pk=webform.pk)
        fields.is_valid()
        consents.is_valid()
    return render(request, "webforms/form_design.html", {
        "webform": webform, "settings_form": settings_form, "fields": fields, "consents": consents,
        "has_errors": request.method == "POST",
    })


@login_required
@permission_required("contacts.view_webform", raise_exception=True)
@require_GET
def form_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    webform = get_object_or_404(WebForm.objects.select_related("brand", "confirmation_email"), pk=pk)
    hosted = request.build_absolute_uri(webform.public_url())
    return render(request, "webforms/form_detail.html", {
        "webform": webform, "hosted_url": hosted,
        "script_url": request.build_absolute_uri(reverse("webforms:embed_script", args=[webform.slug])),
        "fields": webform.fields.all(), "consents": webform.consents.select_related("topic"),
        "recent": queries.submissions(webform)[:5], "total": webform.submissions.count(),
        "prefill_form": PrefillLinkForm(),
    })


@login_required
@permission_required("contacts.view_webform", raise_exception=True)
@require_POST
def prefill_link(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A signed link that opens the form filled in with a known person's details."""
    webform = get_object_or_404(WebForm, pk=pk)
    form = PrefillLinkForm(request.POST)
    link, problem = "", ""
    if form.is_valid():
        email = form.cleaned_data["email"]
        person = Contact.objects.filter(email=email).first() or Lead.objects.filter(email=email).order_by(
            "-created_at").first()
        if person is None:
            problem = f"No contact or lead has the email {email}."
        else:
            link = tokens.prefill_url(webform, person)
    return render(request, "webforms/partials/prefill_link.html",
                  {"webform": webform, "prefill_form": form, "link": link, "problem": problem})


@login_required
@permission_required("contacts.delete_webform", raise_exception=True)
@require_POST
def form_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    webform = get_object_or_404(WebForm, pk=pk)
    try:
        webform.delete()
    except ProtectedError:
        messages.error(request, f"“{webform.name}” has submissions, so it cannot be deleted (they would be lost). "
                                "Set its status to Closed instead.")
        return redirect(webform)
    messages.success(request, f"Form “{webform.name}” deleted.")
    return redirect("webforms:form_list")


def _display(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


@login_required
@permission_required("contacts.view_formsubmission", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def submission_list(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    webform = get_object_or_404(WebForm, pk=pk)
    search = SubmissionSearchForm(request.GET)
    q = search.cleaned_data["q"] if search.is_valid() else ""
    page = Paginator(queries.submissions(webform, q=q), PER_PAGE).get_page(request.GET.get("page"))
    keys = list(webform.fields.exclude(maps_to="email").values_list("key", "label"))[:4]  # email has its column
    rows = [(s, [_display(s.values.get(key)) for key, _label in keys]) for s in page.object_list]
    context = {"webform": webform, "search": search, "page": page, "rows": rows, "columns": keys}
    template = "webforms/submission_list.html#rows" if wants_fragment(request) else "webforms/submission_list.html"
    return render(request, template, context)


@login_required
@permission_required("contacts.view_formsubmission", raise_exception=True)
@require_GET
def submission_detail(request: HtmxHttpRequest, pk: int, submission_id: int) -> HttpResponse:
    """Every answer with its field's label, the consent wording as shown, and where it came from."""
    webform = get_object_or_404(WebForm, pk=pk)
    submission = get_object_or_404(queries.submissions(webform), pk=submission_id)
    labels = dict(webform.fields.values_list("key", "label"))
    answers = [(labels.get(key, key), _display(value)) for key, value in submission.values.items()]
    return render(request, "webforms/submission_detail.html",
                  {"webform": webform, "submission": submission, "answers": answers})


@login_required
@permission_required("contacts.view_formsubmission", raise_exception=True)
@require_GET
def submission_export(request: HtmxHttpRequest, pk: int) -> StreamingHttpResponse:
    webform = get_object_or_404(WebForm, pk=pk)
    search = SubmissionSearchForm(request.GET)
    q = search.cleaned_data["q"] if search.is_valid() else ""
    response = StreamingHttpResponse(queries.csv_rows(webform, queries.submissions(webform, q=q)),
                                     content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{webform.slug}-submissions-{stamp}.csv"'
    return response
