"""Interaction and marketing triggers are published by the service that records the fact, after the
fact (in its transaction), with the payload the catalog documents."""

import datetime

import pytest

from channels import feedback
from channels import services as channels
from contacts import services as people
from journeys import services
from journeys.engine import dispatch
from journeys.models import EXIT, JourneyRun, TriggerEvent
from segments import services as segments
from segments.models import Segment
from tests.factories import ContactFactory, TopicFactory

pytestmark = pytest.mark.django_db
CITY_IS_OSLO = {"version": 1, "match": "all", "conditions": [
    {"type": "attribute", "field": "city", "op": "equals", "value": "Oslo"}]}


@pytest.fixture
def sent(published_email, subscribed, smtp_server, now, committed):
    """One delivered journey-less email with a tracked link, to Ada."""
    email = published_email("spring", links=[("Shop", "https://contoso.test/shop")])
    ada = subscribed(email="ada@example.com")
    delivery = channels.queue_email(email, person=ada, idempotency_key="spring:ada", context={}, now=now)
    with committed():
        assert channels.send_queued(now=now) == 1
    delivery.refresh_from_db()
    return delivery


def email_payload(delivery, **extra):
    return {"email_key": "spring", "delivery": delivery.pk, "journey_id": None, "tile_key": "", **extra}


def test_a_delivered_email_fires_email_delivered(sent, events, smtp_server):
    assert len(smtp_server.messages) == 1
    assert events("email.delivered") == [(sent.contact, email_payload(sent))]


def test_the_first_open_fires_email_opened_once(sent, events, now):
    feedback.record_open(sent.pk, now=now)
    feedback.record_open(sent.pk, now=now)
    assert events("email.opened") == [(sent.contact, email_payload(sent))]


def test_a_click_fires_email_clicked_with_the_link(sent, events, now):
    assert feedback.record_click(sent.pk, 0, now=now) == "https://contoso.test/shop"
    assert events("email.clicked") == [(sent.contact, email_payload(sent, link="https://contoso.test/shop"))]
    assert len(events("email.opened")) == 1  # the click proves the open


def test_unsubscribing_fires_email_unsubscribed_and_consent_changed(sent, events, now):
    feedback.unsubscribe(sent.pk, now=now)
    assert events("email.unsubscribed") == [(sent.contact, email_payload(sent))]
    [(_, consent)] = events("consent.changed")[-1:]
    assert (consent["channel"], consent["old_status"], consent["new_status"]) == ("email", "opted_in", "opted_out")


def test_a_bounce_fires_email_bounced(sent, events, now):
    feedback.record_bounce(sent, address="ada@example.com", permanent=True, reason="550 no such user", now=now)
    assert events("email.bounced") == [(sent.contact, email_payload(sent, bounce="hard", reason="550 no such user"))]


def test_a_spam_complaint_fires_email_complained(sent, events, now):
    feedback.record_complaint(sent, address="ada@example.com", now=now)
    assert events("email.complained") == [(sent.contact, email_payload(sent))]


def test_consent_changed_fires_only_when_the_decision_changes(events, now):
    contact = ContactFactory()
    topic = TopicFactory()
    people.set_consent(contact, channel="email", status="opted_in", now=now, source="form")
    people.set_consent(contact, channel="email", status="opted_in", now=now, source="form")  # said again
    people.set_consent(contact, channel="email", topic=topic, status="opted_out", now=now)
    assert [p["topic"] for _, p in events("consent.changed")] == [None, topic.key]
    assert events("consent.changed")[0][1] == {"channel": "email", "topic": None, "old_status": "not_set",
                                               "new_status": "opted_in", "double_opt_in": "not_required",
                                               "source": "form"}


def test_a_recorded_purchase_fires_purchase_completed(events, now):
    contact = ContactFactory()
    people.record_interaction(contact, type="purchase", occurred_at=now, product="Cold brew kit", amount="42.50",
                              properties={"order": "A-1001", "currency": "USD"})
    assert events("purchase.completed") == [(contact, {"amount": 42.5, "products": ["Cold brew kit"],
                                                       "order": "A-1001", "currency": "USD"})]


def test_a_purchase_recorded_through_the_api_fires_purchase_completed(marketer_client, events, now):
    contact = ContactFactory()
    response = marketer_client.post("/api/interactions/", {
        "contact": contact.pk, "type": "purchase", "occurred_at": now.isoformat(), "amount": "10.00",
        "product": "Beans", "properties": {"order": "B-7"}}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert events("purchase.completed")[0][1]["order"] == "B-7"


def test_segment_entered_and_exited_are_published_set_based_while_a_journey_listens(journey_of, events, now):
    segment = Segment.objects.create(name="Oslo", audience="contact", query=CITY_IS_OSLO)
    segments.save_segment(segment, now=now)
    journey = journey_of("end", {"end": {"type": "exit"}}, entry_trigger="segment.entered", re_entry="any_time")
    services.go_live(journey, now=now)
    ann, bob = ContactFactory(city="Oslo"), ContactFactory(city="Oslo")
    ContactFactory(city="Bergen")
    segments.refresh(segment, now=now)
    assert sorted(p.pk for p, _ in events("segment.entered")) == [ann.pk, bob.pk]
    assert events("segment.entered")[0][1] == {"segment": segment.pk, "name": "Oslo"}
    ann.city = "Bergen"
    ann.save()
    segments.refresh(segment, now=now + datetime.timedelta(hours=1))
    assert events("segment.exited") == []  # no journey listens for exits: nothing stored


def test_segment_changes_publish_nothing_when_no_one_listens(now):
    segment = Segment.objects.create(name="Oslo", audience="contact", query=CITY_IS_OSLO)
    segments.save_segment(segment, now=now)
    ContactFactory(city="Oslo")
    segments.refresh(segment, now=now)
    assert segment.member_count == 1
    assert not TriggerEvent.objects.filter(key__startswith="segment.").exists()


def test_reaching_a_journey_goal_fires_journey_goal_reached_once(journey_of, events, now):
    journey = journey_of("pause", {"pause": {"type": "wait", "hours": 1, "next": EXIT}}, name="Onboarding",
                         entry_trigger="form.submitted", goal_trigger="purchase.completed")
    services.go_live(journey, now=now)
    contact = ContactFactory()
    dispatch([services.publish("form.submitted", person=contact, payload={"form": "f"}, source="t", now=now)],
             now=now)
    run = JourneyRun.objects.get()
    for _ in range(2):
        bought = services.publish("purchase.completed", person=contact, payload={"amount": 5}, source="t", now=now)
        dispatch([bought], now=now)
    assert events("journey.goal_reached") == [(contact, {"journey_id": journey.pk, "journey": "Onboarding",
                                                         "run": run.pk, "goal": "purchase.completed"})]
