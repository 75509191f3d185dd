"""The tiles beyond the reference journeys: wait until, trigger branch, A/B test with its winner,
random split, update record, static segment add/remove, and SMS/push refused at validation."""

import datetime
import json
import time

import pytest

from channels import services as channels
from channels.models import WebhookDelivery, WebhookEndpoint
from contacts.models import CustomAttribute
from journeys import services
from journeys.engine import advance_due_runs, decide_winners, dispatch
from journeys.explain import explain
from journeys.models import EXIT, JourneyRun
from journeys.validation import validate_journey
from segments.models import Segment, SegmentMembership
from tests.channels.webhook_receiver import verify
from tests.factories import InteractionFactory, OpportunityFactory

pytestmark = pytest.mark.django_db
HOUR, DAY = datetime.timedelta(hours=1), datetime.timedelta(days=1)


def enter(person, now, key="form.submitted", payload=None):
    event = services.publish(key, person=person, payload=payload or {"form": "f"}, source="test", now=now)
    dispatch([event], now=now)


def live(journey_of, now, start, tiles, **fields):
    fields.setdefault("entry_trigger", "form.submitted")
    journey = journey_of(start, tiles, **fields)
    services.go_live(journey, now=now)
    return journey


def test_wait_until_a_date_in_the_journeys_time_zone(journey_of, subscribed, now):
    live(journey_of, now, "until", {"until": {"type": "wait", "until": "2026-11-05T08:00:00", "next": EXIT}},
         time_zone="Europe/Stockholm")
    enter(subscribed(), now)
    assert JourneyRun.objects.get().due_at == datetime.datetime(2026, 11, 5, 7, 0, tzinfo=datetime.UTC)


def test_trigger_branch_looks_since_entry(journey_of, subscribed, now):
    live(journey_of, now, "pause", {
        "pause": {"type": "wait", "days": 1, "next": "bought"},
        "bought": {"type": "trigger_branch", "name": "Bought", "trigger": "purchase.completed",
                   "yes": EXIT, "no": "nudge"},
        "nudge": {"type": "wait", "days": 1, "next": EXIT},
    })
    ann, bob = subscribed(), subscribed()
    services.publish("purchase.completed", person=bob, payload={"amount": 5}, source="t", now=now - DAY)
    enter(ann, now)
    enter(bob, now)
    services.publish("purchase.completed", person=ann, payload={"amount": 5}, source="t", now=now + HOUR)
    advance_due_runs(now=now + DAY, limit=10)
    ann_run, bob_run = JourneyRun.objects.order_by("id")
    assert "branch Bought: yes" in [s["text"] for s in explain(ann_run)]
    assert bob_run.tile_key == "nudge"  # bought before entering: that does not count


def ab_journey(journey_of, published_email, now, **tile):
    published_email("subject-a")
    published_email("subject-b")
    return live(journey_of, now, "ab", {
        "ab": {"type": "ab_test", "metric": "opened", "min_sample": 4, **tile,
               "variants": [{"name": "A", "percent": 50, "next": "a"}, {"name": "B", "percent": 50, "next": "b"}]},
        "a": {"type": "send_email", "email": "subject-a", "next": EXIT},
        "b": {"type": "send_email", "email": "subject-b", "next": EXIT},
    })


def test_ab_test_splits_then_sends_everyone_down_the_winner(journey_of, published_email, subscribed, now):
    journey = ab_journey(journey_of, published_email, now)
    people = [subscribed() for _ in range(12)]
    for person in people[:8]:
        enter(person, now)
    runs = JourneyRun.objects.filter(journey=journey)
    by_tile = {key: [r.contact for r in runs if r.steps.filter(tile_key=key).exists()] for key in ("a", "b")}
    assert by_tile["a"] and by_tile["b"] and len(by_tile["a"]) + len(by_tile["b"]) == 8
    for person in by_tile["b"]:  # B's people open, A's do not
        InteractionFactory(contact=person, type="email_opened", journey_id=journey.pk, tile_key="b",
                           occurred_at=now + HOUR)
    assert decide_winners(now=now + HOUR) == 1
    assert decide_winners(now=now + HOUR) == 0  # decided once
    version = journey.versions.get()
    assert version.ab_winners["ab"]["variant"] == "B"
    assert version.ab_winners["ab"]["figures"]["B"]["rate"] == 1.0
    for person in people[8:]:
        enter(person, now + 2 * HOUR)
    late = JourneyRun.objects.filter(journey=journey, contact__in=people[8:])
    assert all(r.steps.filter(tile_key="b").exists() for r in late)
    assert "A/B variant B (the winner)" in [s["text"] for s in explain(late.first())]


def test_ab_test_waits_for_its_sample_or_time(journey_of, published_email, subscribed, now):
    ab_journey(journey_of, published_email, now, min_sample=100, decide_after={"days": 2})
    enter(subscribed(), now)
    assert decide_winners(now=now + DAY) == 0
    assert decide_winners(now=now + 2 * DAY) == 1


def test_random_split_is_stable_and_roughly_by_percentage(journey_of, subscribed, now):
    live(journey_of, now, "split", {
        "split": {"type": "split", "branches": [{"name": "Most", "percent": 80, "next": "most"},
                                                {"name": "Few", "percent": 20, "next": "few"}]},
        "most": {"type": "wait", "days": 1, "next": EXIT},
        "few": {"type": "wait", "days": 1, "next": EXIT},
    })
    for _ in range(100):
        enter(subscribed(), now)
    counts = {key: JourneyRun.objects.filter(tile_key=key).count() for key in ("most", "few")}
    assert counts["most"] + counts["few"] == 100
    assert 60 <= counts["most"] <= 95


def test_update_record_sets_a_field_a_custom_attribute_and_the_opportunity(journey_of, subscribed, now):
    CustomAttribute.objects.create(key="loyalty_tier", label="Loyalty tier", entity="contact")
    live(journey_of, now, "title", {
        "title": {"type": "update_record", "target": "person", "field": "job_title", "value": "Barista",
                  "next": "tier"},
        "tier": {"type": "update_record", "target": "person", "field": "loyalty_tier", "value": "gold",
                 "next": "stage"},
        "stage": {"type": "update_record", "target": "opportunity", "field": "stage", "value": "close",
                  "next": EXIT},
    }, entry_trigger="opportunity.won")
    ann = subscribed()
    opportunity = OpportunityFactory(contact=ann, stage="propose")
    enter(ann, now, key="opportunity.won", payload={"opportunity": opportunity.pk, "status": "won"})
    ann.refresh_from_db()
    opportunity.refresh_from_db()
    assert (ann.job_title, ann.attributes["loyalty_tier"], opportunity.stage) == ("Barista", "gold", "close")
    run = JourneyRun.objects.get(journey__entry_trigger="opportunity.won", contact=ann)
    assert "set person job_title to 'Barista'" in [s["text"] for s in explain(run)]


def test_add_to_and_remove_from_a_static_segment(journey_of, subscribed, now):
    segment = Segment.objects.create(name="Nurtured", kind=Segment.Kind.STATIC, status=Segment.Status.READY)
    live(journey_of, now, "add", {
        "add": {"type": "add_to_segment", "segment": segment.pk, "next": "pause"},
        "pause": {"type": "wait", "days": 1, "next": "remove"},
        "remove": {"type": "remove_from_segment", "segment": segment.pk, "next": EXIT},
    })
    ann = subscribed()
    enter(ann, now)
    assert SegmentMembership.objects.filter(segment=segment, contact=ann).exists()
    advance_due_runs(now=now + DAY, limit=10)
    assert not SegmentMembership.objects.filter(segment=segment, contact=ann).exists()


def test_validation_of_the_new_tiles(journey_of, now):
    dynamic = Segment.objects.create(name="Dyn", status=Segment.Status.READY)
    journey = journey_of("sms", {
        "sms": {"type": "send_sms", "message": "Hi", "next": "ab"},
        "ab": {"type": "ab_test", "metric": "opened", "variants": [
            {"name": "A", "percent": 60, "next": "push"}, {"name": "A", "percent": 30, "next": "push"}]},
        "push": {"type": "send_push", "title": "t", "body": "b", "next": "seg"},
        "seg": {"type": "add_to_segment", "segment": dynamic.pk, "next": "upd"},
        "upd": {"type": "update_record", "target": "person", "field": "nonsense", "next": "tb"},
        "tb": {"type": "trigger_branch", "trigger": "no.such", "yes": EXIT, "no": EXIT},
    }, entry_trigger="form.submitted")
    errors = validate_journey(journey)
    assert errors["sms"] == ["channel not configured: SMS sending is not available in this Waymark yet"]
    assert "percentages add up to 90, not 100" in errors["ab"]
    assert "every variant needs its own name" in errors["ab"]
    assert any("say when to pick the winner" in e for e in errors["ab"])
    assert any("needs each variant to start with a send-email tile" in e for e in errors["ab"])
    assert errors["push"][0].startswith("channel not configured: push")
    assert errors["seg"] == ["segment 'Dyn' is dynamic; people can only be added to a static segment"]
    assert errors["upd"] == ["'nonsense' is neither a field that can be set nor a custom attribute"]
    assert errors["tb"] == ["unknown trigger 'no.such'"]


def test_webhook_tile_posts_a_signed_event_once(journey_of, subscribed, receiver, now):
    endpoint = WebhookEndpoint.objects.create(name="CRM", url=receiver.url)
    journey = live(journey_of, now, "hook", {"hook": {"type": "webhook", "endpoint": endpoint.pk, "next": EXIT}})
    ann = subscribed(email="ann@example.com")
    enter(ann, now, payload={"form": "catering"})
    advance_due_runs(now=now, limit=10)  # a retried tick queues nothing twice
    assert WebhookDelivery.objects.count() == 1
    channels.send_queued_webhooks(now=now)
    [request] = receiver.requests
    assert verify(endpoint.secret, request["headers"], request["body"], now_ts=int(time.time()), tolerance=10 ** 9)
    data = json.loads(request["body"])["data"]
    assert (data["journey"]["id"], data["trigger"]["form"], data["person"]["email"]) == (
        journey.pk, "catering", "ann@example.com")
    run = JourneyRun.objects.get()
    assert [s["text"] for s in explain(run)][1].startswith("queued webhook to CRM")
