"""The marketer's trigger pages: the catalog, one trigger (attributes, schema, curl example, test
event), the custom trigger designer, and the live list of recent events."""

from __future__ import annotations

import json
import shlex
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts.models import Contact, Lead
from journeys import services, trigger_forms, trigger_queries, triggers, usage
from journeys.models import CustomTrigger


def example_payload(trigger: triggers.Trigger) -> dict[str, Any]:
    """A payload that passes the trigger's schema, for the curl example and the test form."""
    custom = trigger.custom
    payload: dict[str, Any] = {}
    for name, spec in trigger.schema.get("properties", {}).items():
        if custom is not None and name == custom.person_field:
            payload[name] = "ada@example.com" if custom.identifies == CustomTrigger.Identifies.EMAIL else 1
        else:
            payload[name] = trigger_forms.sample_value(name, spec)
    return payload


def with_effects(events: list) -> list:
    """Each event with its pretty payload and the journeys it touched (one query for all)."""
    touched = trigger_queries.touched_journeys(events)
    for event in events:
        event.payload_text = json.dumps(event.payload, indent=1, ensure_ascii=False)
        event.touched = touched.get(event.pk, [])
    return events


def curl_example(request: HttpRequest, trigger: triggers.Trigger) -> str:
    base = request.build_absolute_uri("/api/").rstrip("/")
    auth = '-H "Authorization: Api-Key $WAYMARK_API_KEY"'
    if trigger.custom is not None and trigger.custom.kind == CustomTrigger.Kind.API:
        body = json.dumps({"payload": example_payload(trigger)})
        return (f"curl -X POST {base}/triggers/{trigger.key}/fire/ \\\n  {auth} \\\n"
                f'  -H "Content-Type: application/json" \\\n  -H "Idempotency-Key: $(uuidgen)" \\\n'
                f"  -d {shlex.quote(body)}")
    if trigger.key == "purchase.completed":
        body = json.dumps({"contact": 1, "type": "purchase", "occurred_at": "2026-11-23T09:00:00Z", "amount": 42.5,
                           "product": "Cold brew kit", "properties": {"order": "A-1001", "currency": "USD"}})
        return (f"# Record the purchase on the timeline; Waymark fires purchase.completed\n"
                f"curl -X POST {base}/interactions/ \\\n  {auth} \\\n  -H \"Content-Type: application/json\" \\\n"
                f"  -d {shlex.quote(body)}")
    return (f"# Fired by Waymark itself; read its recent events\n"
            f'curl "{base}/trigger-events/?key={trigger.key}" \\\n  {auth}')


@login_required
@permission_required("journeys.view_triggerevent", raise_exception=True)
@require_GET
def catalog(request: HttpRequest) -> HttpResponse:
    entries = triggers.catalog(include_inactive=True)
    groups = [(label, [t for t in entries if t.category == category])
              for category, label in triggers.CATEGORIES.items()]
    return render(request, "triggers/catalog.html", {
        "groups": [g for g in groups if g[1]], "built_in_count": sum(t.custom is None for t in entries),
        "has_custom": any(t.custom is not None for t in entries)})


@login_required
@permission_required("journeys.view_triggerevent", raise_exception=True)
@require_GET
def detail(request: HttpRequest, key: str) -> HttpResponse:
    trigger = triggers.get(key)
    if trigger is None:
        row = CustomTrigger.objects.filter(key=key).first()  # an inactive custom trigger still has a page
        if row is None:
            raise Http404(f"No trigger {key!r}")
        trigger = triggers.Trigger(row.key, row.schema(), row.name, row.description, "custom", row)
    form = trigger_forms.FireTestForm(initial={"key": key, "payload": json.dumps(example_payload(trigger), indent=2)})
    return _detail(request, trigger, form)


def _detail(request: HttpRequest, trigger: triggers.Trigger, form: Any, status: int = 200) -> HttpResponse:
    return render(request, "triggers/detail.html", {
        "trigger": trigger, "schema": json.dumps(trigger.schema, indent=2), "curl": curl_example(request, trigger),
        "form": form, "events": with_effects(list(trigger_queries.recent_events(key=trigger.key)[:10])),
    }, status=status)


@login_required
@permission_required("journeys.add_customtrigger", raise_exception=True)
@require_http_methods(["GET", "POST"])
def custom_new(request: HttpRequest) -> HttpResponse:
    return _designer(request, CustomTrigger())


@login_required
@permission_required("journeys.change_customtrigger", raise_exception=True)
@require_http_methods(["GET", "POST"])
def custom_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _designer(request, get_object_or_404(CustomTrigger, pk=pk))


def _designer(request: HttpRequest, trigger: CustomTrigger) -> HttpResponse:
    if request.method == "POST":
        form = trigger_forms.CustomTriggerForm(request.POST, instance=trigger)
        formset = trigger_forms.AttributeFormSet(request.POST, prefix="attributes")
        if formset.is_valid():
            form.instance.attributes = trigger_forms.attributes_of(formset)
        if form.is_valid() and formset.is_valid():
            saved = form.save()
            messages.success(request, f"Saved {saved.name} ({saved.key}).")
            return redirect("triggers:detail", key=saved.key)
    else:
        form = trigger_forms.CustomTriggerForm(instance=trigger)
        formset = trigger_forms.AttributeFormSet(initial=trigger.attributes or [], prefix="attributes")
    has_errors = request.method == "POST" and (bool(form.errors) or not formset.is_valid())
    return render(request, "triggers/designer.html", {"form": form, "formset": formset, "has_errors": has_errors,
                                                      "object": trigger if trigger.pk else None})


@login_required
@permission_required("journeys.delete_customtrigger", raise_exception=True)
@require_POST
def custom_delete(request: HttpRequest, pk: int) -> HttpResponse:
    trigger = get_object_or_404(CustomTrigger, pk=pk)
    uses = usage.trigger_usage(trigger.key)
    if uses:
        messages.error(request, f"{trigger.name} cannot be deleted while journeys use it: {'; '.join(uses)}. "
                                "Change those journeys first.")
        return redirect("triggers:detail", key=trigger.key)
    trigger.delete()
    messages.success(request, f"Deleted {trigger.name}; its stored events stay.")
    return redirect("triggers:catalog")


@login_required
@permission_required("journeys.view_triggerevent", raise_exception=True)
@require_GET
def events(request: HttpRequest) -> HttpResponse:
    form = trigger_forms.EventFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    rows = trigger_queries.recent_events(key=data.get("key", ""))
    email = (data.get("email") or "").strip().lower()
    if email:
        rows = rows.filter(contact__email=email) | rows.filter(lead__email=email)
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "events": with_effects(list(page.object_list)),
               "query": request.GET.urlencode()}
    template = "triggers/events.html#rows" if request.headers.get("HX-Request") else "triggers/events.html"
    return render(request, template, context)


@login_required
@permission_required("journeys.add_triggerevent", raise_exception=True)
@require_POST
def fire_test(request: HttpRequest) -> HttpResponse:
    form = trigger_forms.FireTestForm(request.POST)
    if form.is_valid():
        person: Contact | Lead = form.cleaned_data["email"]
        with transaction.atomic():
            event = services.publish(form.cleaned_data["key"], person=person, payload=form.cleaned_data["payload"],
                                     source=f"test by {request.user.get_username()}"[:100], now=timezone.now())
        messages.success(request, f"Fired {event.key} for {person}. It is listed below with the journeys it touched.")
        return redirect(f"{reverse('triggers:events')}?key={event.key}")
    key = request.POST.get("key", "")
    trigger = triggers.get(key)
    if trigger is None:
        raise Http404(f"No trigger {key!r}")
    return _detail(request, trigger, form, status=400)

