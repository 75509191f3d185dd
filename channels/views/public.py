"""Pages the recipients of an email reach without logging in: tracking, unsubscribe, preferences.

Every link carries a signed token; an altered or foreign token gets 404 and records nothing.
"""

from __future__ import annotations

import base64

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from channels import feedback, tracking
from channels.models import Delivery
from contacts.models import Channel, Consent, Contact, Lead, Topic

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _payload(token: str, salt: str) -> dict:
    payload = tracking.read(token, salt)
    if payload is None:
        raise Http404("Unknown link")
    return payload


@require_GET
@never_cache
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    feedback.record_open(_payload(token, tracking.OPEN)["d"], now=timezone.now())
    return HttpResponse(PIXEL, content_type="image/gif")


@require_GET
def click(request: HttpRequest, token: str) -> HttpResponse:
    payload = _payload(token, tracking.CLICK)
    url = feedback.record_click(payload["d"], payload["l"], now=timezone.now())
    if url is None:
        raise Http404("Unknown link")
    return HttpResponseRedirect(url)


@csrf_exempt  # RFC 8058: mail providers POST without cookies or a CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirmation (link scanners prefetch GETs); POST unsubscribes at once, no redirect."""
    delivery_id = _payload(token, tracking.UNSUBSCRIBE)["d"]
    delivery = Delivery.objects.select_related("contact", "lead").filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404("Unknown link")
    person = delivery.person
    preferences = tracking.preferences_url(contact_id=delivery.contact_id, lead_id=delivery.lead_id)
    if request.method == "POST":
        feedback.unsubscribe(delivery_id, now=timezone.now())
        return render(request, "channels/public/unsubscribed.html",
                      {"address": person.email, "preferences_url": preferences})
    return render(request, "channels/public/unsubscribe.html", {"address": person.email, "token": token,
                                                                "preferences_url": preferences})


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    payload = _payload(token, tracking.PREFERENCES)
    person = (Contact.objects.filter(pk=payload["c"]).first() if payload.get("c")
              else Lead.objects.filter(pk=payload.get("l")).first())
    if person is None:
        raise Http404("Unknown link")
    topics = list(Topic.objects.all())
    saved = False
    if request.method == "POST":
        feedback.set_preferences(
            person, email_opt_in=request.POST.get("email") == "on",
            topics={t.pk: request.POST.get(f"topic-{t.pk}") == "on" for t in topics}, now=timezone.now())
        saved = True
    key = "contact" if isinstance(person, Contact) else "lead"
    current = {(c.topic_id): c for c in Consent.objects.filter(**{key: person}, channel=Channel.EMAIL)}
    channel = current.get(None)
    rows = [{"topic": t, "on": bool(current.get(t.pk) and current[t.pk].effective)} for t in topics]
    return render(request, "channels/public/preferences.html", {
        "address": person.email, "email_on": bool(channel and channel.effective), "rows": rows, "saved": saved,
    })
