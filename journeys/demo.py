"""Demo journeys for Contoso Coffee: the segments and emails they use, the journey settings, and
three journeys — "Brew Better at Home" (live, started by the brew guide form), "Win back lapsed
customers" (live, segment-based) and "Opportunity won: thank-you call" (a draft).

Idempotent: everything is found by its name or key and created only when missing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from channels import services as channels
from channels.models import Email
from contacts.demo import forms as demo_forms
from journeys import services
from journeys.models import EXIT, Journey, JourneySettings
from segments import services as segments
from segments.models import Segment

SHOP_GRINDERS = "https://contoso-coffee.example/shop/grinders"
EMAILS = {
    "brew-guide": ("Your French Press Brew Guide", [
        {"type": "heading", "text": "Your guide is here, {{ contact.first_name | default: \"friend\" }}"},
        {"type": "text", "html": "<p>Coarse grind, 1:15 ratio, 4 minutes. The rest is in the guide.</p>"},
        {"type": "button", "text": "Shop grinders", "href": SHOP_GRINDERS},
    ]),
    "grinder-offer": ("15% off burr grinders this week", [
        {"type": "heading", "text": "A grinder makes the difference"},
        {"type": "text", "html": "<p>Since you looked at grinders: 15% off burr grinders until Sunday.</p>"},
    ]),
    "brew-tips": ("Three tips for a better French press", [
        {"type": "heading", "text": "Three tips"},
        {"type": "text", "html": "<p>Preheat the press, bloom for 30 seconds, decant at once.</p>"},
    ]),
    "we-miss-you": ("We miss you at Contoso Coffee", [
        {"type": "heading", "text": "It has been a while"},
        {"type": "text", "html": "<p>New single origins have landed. Come and taste them.</p>"},
    ]),
    "comeback-discount": ("A welcome-back 20% off", [
        {"type": "heading", "text": "20% off your next bag"},
        {"type": "text", "html": "<p>Use code WELCOMEBACK at checkout this month.</p>"},
    ]),
    "second-reminder": ("Still thinking about coffee?", [
        {"type": "heading", "text": "Your cup is waiting"},
        {"type": "text", "html": "<p>Free shipping on your next order, this week only.</p>"},
    ]),
}


def _query(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "match": "all", "conditions": list(conditions)}


def _segment(name: str, *, now: datetime, **fields: Any) -> Segment:
    segment = Segment.objects.filter(name=name).first()
    if segment is None:
        segment = segments.save_segment(Segment(name=name, **fields), now=now)
        if segment.is_dynamic:
            segments.refresh(segment, now=now)
    return segment


def _emails(*, now: datetime) -> None:
    sender, brand = demo_forms.ensure_brand()
    for key, (subject, blocks) in EMAILS.items():
        email, _ = Email.objects.get_or_create(key=key, defaults={
            "name": subject, "subject": subject, "sender": sender, "brand": brand, "blocks": blocks,
            "topic": None})
        if not email.versions.exists():
            channels.publish(email, now=now)


def _journey(name: str, tiles: dict[str, Any], *, live: bool, now: datetime, **fields: Any) -> Journey:
    journey = Journey.objects.filter(name=name).first()
    if journey is None:
        journey = Journey.objects.create(name=name, tiles=tiles, **fields)
        if live:
            services.go_live(journey, now=now)
    return journey


def ensure_journeys(*, now: datetime) -> dict[str, Journey]:
    _emails(now=now)
    lapsed = _segment("Lapsed: no purchase in 60 days", now=now, refresh_mode=Segment.RefreshMode.CONTINUOUS,
                      query=_query({"type": "behavior", "interaction": "purchase",
                                    "count": {"op": "exactly", "value": 0}, "window": {"last_days": 60}}))
    customers = _segment("Bought in the last 7 days", now=now, refresh_mode=Segment.RefreshMode.CONTINUOUS,
                         query=_query({"type": "behavior", "interaction": "purchase", "window": {"last_days": 7}}))
    do_not_contact = _segment("Do not contact", now=now, kind=Segment.Kind.STATIC,
                              refresh_mode=Segment.RefreshMode.MANUAL)
    settings = JourneySettings.current()
    if settings.suppression_segment_id is None:
        settings.suppression_segment, settings.cap_per_week = do_not_contact, 3
        settings.save()
    brew = _journey("Brew Better at Home", {"start": "guide", "tiles": {
        "guide": {"type": "send_email", "email": "brew-guide", "next": "two_days"},
        "two_days": {"type": "wait", "days": 2, "next": "clicked"},
        "clicked": {"type": "interaction_branch", "name": "Clicked Shop grinders", "tile": "guide",
                    "interaction": "clicked", "link": SHOP_GRINDERS, "within": {"days": 2},
                    "yes": "offer", "no": "tips"},
        "offer": {"type": "send_email", "email": "grinder-offer", "next": EXIT},
        "tips": {"type": "send_email", "email": "brew-tips", "next": EXIT},
    }}, live=True, now=now, description="Brew guide downloads get the guide, then an offer or tips.",
        entry_trigger="form.submitted", exit_trigger="purchase.completed", goal_trigger="purchase.completed",
        goal_target_percent=10, quiet_hours_start=datetime.strptime("21:00", "%H:%M").time(),
        quiet_hours_end=datetime.strptime("08:00", "%H:%M").time(),
        entry_conditions=_query({"type": "attribute", "field": "trigger.form", "op": "equals",
                                 "value": demo_forms.BREW_GUIDE}))
    win_back = _journey("Win back lapsed customers", {"start": "reminder", "tiles": {
        "reminder": {"type": "send_email", "email": "we-miss-you", "next": "five_days"},
        "five_days": {"type": "wait", "days": 5, "next": "opened"},
        "opened": {"type": "interaction_branch", "name": "Opened", "tile": "reminder", "interaction": "opened",
                   "yes": "discount", "no": "again"},
        "discount": {"type": "send_email", "email": "comeback-discount", "next": EXIT},
        "again": {"type": "send_email", "email": "second-reminder", "next": EXIT},
    }}, live=True, now=now, description="No purchase in 60 days: a reminder, then a discount or a nudge.",
        entry_segment=lapsed, exit_segment=customers, goal_segment=customers, goal_target_percent=15)
    won = _journey("Opportunity won: thank-you call", {"start": "call", "tiles": {
        "call": {"type": "create_task", "subject": "Thank-you call", "queue": None, "user": None,
                 "due_in": {"days": 1}, "next": EXIT},
    }}, live=False, now=now, entry_trigger="opportunity.won",
        description="A draft: choose who makes the call, then go live.")
    return {"brew": brew, "win_back": win_back, "won": won}
