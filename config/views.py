"""Site-wide pages: the dashboard, health check and sections not built yet."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from config.celery import app as celery_app
from config.context_processors import SECTIONS
from contacts import queries


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker status as JSON; 503 when either is down."""
    status = {"database": "ok", "broker": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # report, don't crash: this is what monitors read
        status["database"] = f"error: {exc.__class__.__name__}: {exc}"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        status["broker"] = f"error: {exc.__class__.__name__}: {exc}"
    healthy = all(value == "ok" for value in status.values())
    return JsonResponse({"status": "ok" if healthy else "error", **status}, status=200 if healthy else 503)


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    return render(request, "home.html", {
        "stats": queries.dashboard_counts(user=request.user, now=now),
        "recent_contacts": queries.recent_contacts(),
        "next_tasks": queries.my_open_tasks(request.user)[:5],
        "now": now,
    })


@login_required
@require_GET
def section_not_built(request: HttpRequest, section: str) -> HttpResponse:
    labels = {label.lower(): label for label, url_name in SECTIONS if url_name is None}
    if section not in labels:
        raise Http404("No such section")
    return render(request, "section_not_built.html", {"section": labels[section]})
