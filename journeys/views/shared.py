"""The one answer every builder action gives: the canvas, the side panel and the toolbar (as
out-of-band swaps for HTMX), or a redirect to the page with the same panel open."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from contacts.views.shared import HtmxHttpRequest
from journeys.models import Journey
from journeys.views import panels
from journeys.views.state import History, can_edit, load_journey, require_editable, save_draft, session_history

__all__ = ["History", "can_edit", "load_journey", "require_editable", "respond", "save_draft", "session_history"]


def respond(request: HtmxHttpRequest, journey: Journey, *, panel: str = "overview", notice: str = "",
            ok: bool = True, live: bool | None = None, status: int = 200, **extra: Any) -> HttpResponse:
    """After any action: HTMX gets the canvas, the panel and the toolbar as out-of-band swaps;
    a plain request is redirected to the page with the same panel open."""
    if not request.htmx:
        if notice:
            (messages.success if ok else messages.error)(request, notice)
        extra.pop("main", None)
        query = {k: v for k, v in panels.query_for(panel, extra).items() if v}
        if live is False and journey.status != Journey.Status.DRAFT:
            query["view"] = "edit"
        url = reverse("journeys:detail", args=[journey.pk])
        return redirect(f"{url}?{urlencode(query)}" if query else url)
    main = extra.pop("main", "panel")
    context = panels.page_context(request, journey, panel=panel, live=live, notice=notice, ok=ok, **extra)
    context["main"] = main
    return render(request, "journeys/partials/update.html", context, status=status)
