"""What the contact and lead pages share: the consent panel and the timeline."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxDetails

from contacts import queries, services
from contacts.forms import ConsentForm
from contacts.models import ConsentStatus, Contact, DoubleOptIn, Lead

Person = Contact | Lead
TIMELINE_PER_PAGE = 20


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def wants_fragment(request: HtmxHttpRequest) -> bool:
    """An HTMX swap asks for the fragment; a history restore after a cache miss needs the page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def page_number(request: HttpRequest, name: str) -> int:
    try:
        return max(int(request.GET.get(name, 1)), 1)
    except ValueError:
        return 1


def safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def consent_context(person: Person, *, form: ConsentForm | None = None, consent_url: str,
                    saved: Any = None) -> dict[str, Any]:
    return {
        "person": person,
        "consents": queries.consent_overview(person),
        "consent_history": queries.consent_history(person),
        "consent_form": form or ConsentForm(),
        "consent_url": consent_url,
        "saved_consent": saved,
    }


def timeline_context(request: HttpRequest, person: Person, *, detail_url: str) -> dict[str, Any]:
    page = page_number(request, "timeline")
    interactions, more = queries.timeline_page(person, page, TIMELINE_PER_PAGE)
    return {"interactions": interactions, "timeline_next": page + 1 if more else None,
            "timeline_page": page, "detail_url": detail_url}


def render_timeline_page(request: HttpRequest, person: Person, *, detail_url: str) -> HttpResponse:
    """The "load more" fragment: the next interactions and, if any remain, another button."""
    context = timeline_context(request, person, detail_url=detail_url)
    return render(request, "contacts/partials/timeline.html#items", context)


def change_consent(request: HtmxHttpRequest, person: Person, *, detail_url: str,
                   consent_url: str) -> HttpResponse:
    """Record the consent posted from a contact or lead page through `services.set_consent`."""
    form = ConsentForm(request.POST)
    saved = None
    if form.is_valid():
        data = form.cleaned_data
        asks_confirmation = data["double_opt_in"] and data["status"] == ConsentStatus.OPTED_IN
        saved = services.set_consent(
            person, channel=data["channel"], topic=data["topic"], status=data["status"],
            double_opt_in=DoubleOptIn.PENDING if asks_confirmation else None, note=data["note"],
            now=timezone.now(), source="marketer UI", changed_by=request.user,
        )
        form = None
    if not request.htmx:
        if saved:
            messages.success(request, f"Consent recorded: {saved}.")
        else:
            messages.error(request, "Consent was not changed: " + "; ".join(
                f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()))
        return redirect(detail_url + "#consent")
    context = consent_context(person, form=form, consent_url=consent_url, saved=saved)
    # 200 even when invalid: htmx swaps only successful responses, and the errors must show.
    return render(request, "contacts/partials/consent.html", context)
