"""Contact pages: the filtered list, CSV export, the contact page and its profile form."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from contacts import queries
from contacts.forms import ContactFilterForm, ContactForm
from contacts.models import Contact
from contacts.views.shared import (
    HtmxHttpRequest,
    change_consent,
    consent_context,
    render_timeline_page,
    timeline_context,
    wants_fragment,
)

PER_PAGE = 50
EXPORT_ROWS_PER_CHUNK = 500


@login_required
@permission_required("contacts.view_contact", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def contact_list(request: HtmxHttpRequest) -> HttpResponse:
    # The live search swaps only the rows, which need no filter menus.
    options = None if wants_fragment(request) else queries.contact_filter_options()
    form = ContactFilterForm(request.GET, options=options)
    page = Paginator(queries.matching_contacts(form.filters()), PER_PAGE).get_page(request.GET.get("page"))
    template = "contacts/list.html#rows" if wants_fragment(request) else "contacts/list.html"
    return render(request, template, {"form": form, "page": page})


class _Echo:
    """A file-like object whose write() hands the line back, for csv.writer in a stream."""

    def write(self, value: str) -> str:
        return value


def _csv_chunks(rows: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    lines = ["\ufeff"]  # a BOM, so spreadsheets read the file as UTF-8
    for row in rows:
        lines.append(writer.writerow(row))
        if len(lines) >= EXPORT_ROWS_PER_CHUNK:
            yield "".join(lines)
            lines = []
    yield "".join(lines)


@login_required
@permission_required("contacts.view_contact", raise_exception=True)
@require_GET
def contact_export(request: HtmxHttpRequest) -> StreamingHttpResponse:
    """The contact list, as filtered on screen, as a streamed CSV file."""
    form = ContactFilterForm(request.GET)
    rows = queries.contact_export_rows(queries.matching_contacts(form.filters()))
    response = StreamingHttpResponse(_csv_chunks(rows), content_type="text/csv; charset=utf-8")
    filename = f"contacts-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@permission_required("contacts.view_contact", raise_exception=True)
@require_GET
def contact_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact.objects.select_related("account", "owner"), pk=pk)
    detail_url = contact.get_absolute_url()
    if request.htmx and "timeline" in request.GET:
        return render_timeline_page(request, contact, detail_url=detail_url)
    context = {
        "contact": contact,
        "attributes": queries.custom_attribute_values(contact),
        "opportunities": contact.opportunities.select_related("account", "owner"),
        "now": timezone.now(),
        "tasks": queries.open_tasks_of(contact),
        **consent_context(contact, consent_url=reverse("contacts:consent", args=[pk])),
        **timeline_context(request, contact, detail_url=detail_url),
    }
    return render(request, "contacts/detail.html", context)


@login_required
@permission_required("contacts.change_consent", raise_exception=True)
@require_POST
def contact_consent(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    return change_consent(request, contact, detail_url=contact.get_absolute_url(),
                          consent_url=reverse("contacts:consent", args=[pk]))


@login_required
@permission_required("contacts.add_contact", raise_exception=True)
@require_http_methods(["GET", "POST"])
def contact_create(request: HtmxHttpRequest) -> HttpResponse:
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        contact = form.save()
        messages.success(request, f"Contact {contact} created.")
        return redirect(contact)
    return render(request, "contacts/form.html", {"form": form, "kind": "contact",
                                                  "cancel_url": reverse("contacts:list")})


@login_required
@permission_required("contacts.change_contact", raise_exception=True)
@require_http_methods(["GET", "POST"])
def contact_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Contact {contact} saved.")
        return redirect(contact)
    return render(request, "contacts/form.html", {"form": form, "kind": "contact", "object": contact,
                                                  "cancel_url": contact.get_absolute_url()})
