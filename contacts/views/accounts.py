"""Account pages: a searchable list with contact and pipeline counts, and the account page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from contacts import queries
from contacts.forms import AccountFilterForm
from contacts.models import Account
from contacts.views.shared import HtmxHttpRequest, wants_fragment

PER_PAGE = 50


@login_required
@permission_required("contacts.view_account", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def account_list(request: HtmxHttpRequest) -> HttpResponse:
    industries = None if wants_fragment(request) else queries.account_industries()
    form = AccountFilterForm(request.GET, industries=industries)
    page = Paginator(queries.matching_accounts(form.filters()), PER_PAGE).get_page(request.GET.get("page"))
    template = "contacts/account_list.html#rows" if wants_fragment(request) else "contacts/account_list.html"
    return render(request, template, {"form": form, "page": page})


@login_required
@permission_required("contacts.view_account", raise_exception=True)
@require_GET
def account_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account.objects.select_related("owner"), pk=pk)
    context = {
        "account": account,
        "contacts": account.contacts.select_related("owner")[:200],
        "contact_count": account.contacts.count(),
        "opportunities": account.opportunities.select_related("contact", "owner"),
        "leads": account.leads.all()[:50],
    }
    return render(request, "contacts/account_detail.html", context)
