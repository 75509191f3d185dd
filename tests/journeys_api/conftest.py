"""Fixtures for the journeys API, admin and journeys-as-code tests: published emails, ready
segments, a sales queue and user, and one journey that uses every kind of reference."""

import datetime

import pytest
from django.test import Client

from contacts.models import APIKey
from journeys.models import EXIT, Journey
from segments.models import Segment
from tests.channels.conftest import brand, fresh_render_cache, make_email, sender  # noqa: F401
from tests.factories import SalesQueueFactory, UserFactory
from tests.journeys.conftest import journey_of, published_email, subscribed  # noqa: F401

EVERYONE = {"version": 1, "match": "all", "conditions": []}


@pytest.fixture
def segment(db):
    def make(name, **fields):
        fields.setdefault("query", EVERYONE)
        return Segment.objects.create(name=name, status=Segment.Status.READY, **fields)

    return make


def in_segment(segment):
    return {"version": 1, "match": "all", "conditions": [{"type": "segment", "op": "in", "segment": segment.pk}]}


@pytest.fixture
def brew_journey(published_email, segment):  # noqa: F811 (the imported fixture, requested by name)
    """"Brew Better at Home", with exclusions, an exit segment, a goal, quiet hours, caps, a task
    for a user and one for a queue, and an attribute branch on segment membership."""
    published_email("brew-guide", links=[("Shop grinders", "https://contoso.test/grinders")])
    published_email("grinder-offer")
    published_email("brew-tips")
    vip, buyers, staff = segment("VIP customers"), segment("Purchased"), segment("Staff")
    owner = UserFactory(username="barista")
    queue = SalesQueueFactory(name="Coffee desk")
    journey = Journey.objects.create(
        name="Brew Better at Home", description="From the guide to a grinder", audience="contact",
        entry_trigger="form.submitted", entry_conditions=in_segment(vip),
        honor_suppression=False, exit_trigger="purchase.completed", goal_segment=buyers, goal_target_percent=20,
        re_entry="after_days", re_entry_days=30, starts_at=datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC),
        time_zone="Europe/Stockholm", quiet_hours_start=datetime.time(21), quiet_hours_end=datetime.time(8),
        cap_per_week=3, cap_action="skip", priority=5,
        tiles={"start": "send_guide", "tiles": {
            "send_guide": {"type": "send_email", "email": "brew-guide", "next": "two_days"},
            "two_days": {"type": "wait", "days": 2, "next": "clicked"},
            "clicked": {"type": "interaction_branch", "name": "Clicked grinders", "tile": "send_guide",
                        "interaction": "clicked", "link": "https://contoso.test/grinders",
                        "yes": "offer", "no": "vip"},
            "offer": {"type": "send_email", "email": "grinder-offer", "next": "call"},
            "call": {"type": "create_task", "subject": "Call about grinders", "user": owner.pk,
                     "due_in": {"days": 1}, "next": EXIT},
            "vip": {"type": "attribute_branch", "branches": [
                {"name": "VIP", "conditions": in_segment(vip), "next": "desk"}], "other": "tips"},
            "desk": {"type": "create_task", "subject": "VIP follow-up", "queue": queue.pk, "next": "tips"},
            "tips": {"type": "send_email", "email": "brew-tips", "next": "end"},
            "end": {"type": "exit"},
        }})
    journey.exclusion_segments.set([staff])
    return journey


def key_client(user, scope):
    key = APIKey(name="Integration", user=user, scope=scope)
    raw_key = key.generate()
    key.save()
    return Client(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
