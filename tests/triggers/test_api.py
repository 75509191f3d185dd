"""The triggers API: catalog, firing one or many events (validated, idempotent, rate limited),
custom trigger CRUD and recent events with the journeys they touched."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from contacts.models import APIKey, Lead
from journeys import services
from journeys.models import EXIT, CustomTrigger, TriggerEvent
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db




def fire(api, key, payload, **headers):
    return api.post(f"/api/triggers/{key}/fire/", {"payload": payload}, content_type="application/json", **headers)


def test_the_catalog_lists_built_in_and_custom_triggers_with_their_schemas(api, visit):
    response = api.get("/api/triggers/")
    assert response.status_code == 200
    by_key = {t["key"]: t for t in response.json()}
    assert sum(not t["custom"] for t in by_key.values()) >= 20
    assert by_key["email.clicked"]["schema"]["required"] == ["email_key", "link"]
    assert by_key["store.visited"]["custom"] and by_key["store.visited"]["fired_by_api"]
    assert by_key["store.visited"]["schema"]["properties"]["minutes"] == {"type": "integer"}
    assert api.get("/api/triggers/opportunity.won/").json()["category"] == "record"


def test_an_unknown_trigger_is_404(api):
    assert api.get("/api/triggers/nothing.happened/").status_code == 404
    assert fire(api, "nothing.happened", {}).status_code == 404


def test_firing_stores_the_event_for_the_person_the_payload_names(api, visit, committed):
    ada = ContactFactory(email="ada@example.com")
    with committed():
        response = fire(api, "store.visited", {"email": "ADA@example.com", "store": "Oslo", "day": "2026-11-23"})
    assert response.status_code == 202, response.content
    event = TriggerEvent.objects.get()
    assert (event.contact, event.key, event.payload["store"], event.source) == (
        ada, "store.visited", "Oslo", "api: Shop integration")
    assert event.dispatched_at is not None
    assert response.json()["id"] == event.pk


def test_an_invalid_payload_is_400_with_field_errors_and_stores_nothing(api, visit):
    ContactFactory(email="ada@example.com")
    response = fire(api, "store.visited", {"email": "ada@example.com", "minutes": "ten", "day": "23/11/2026"})
    assert response.status_code == 400
    errors = response.json()
    assert errors["payload"] == ["'store' is a required property"]
    assert errors["minutes"] == ["'ten' is not of type 'integer'"]
    assert "day" in errors
    assert not TriggerEvent.objects.exists()


def test_built_in_triggers_are_not_fired_through_the_api(api):
    response = fire(api, "opportunity.won", {"opportunity": 1, "status": "won"})
    assert response.status_code == 400
    assert "fired by Waymark itself" in response.json()["key"][0]


def test_an_unknown_person_is_refused_or_becomes_a_lead(api, visit, committed):
    response = fire(api, "store.visited", {"email": "who@example.com", "store": "Oslo"})
    assert response.status_code == 400 and "who@example.com" in response.json()["email"][0]
    visit.when_unmatched = "create_lead"
    visit.save()
    with committed():
        assert fire(api, "store.visited", {"email": "who@example.com", "store": "Oslo"}).status_code == 202
    lead = Lead.objects.get(email="who@example.com")
    assert TriggerEvent.objects.get(key="store.visited").lead == lead


def test_duplicate_deliveries_with_one_idempotency_key_store_one_event(api, visit):
    ContactFactory(email="ada@example.com")
    payload = {"email": "ada@example.com", "store": "Oslo"}
    first = fire(api, "store.visited", payload, HTTP_IDEMPOTENCY_KEY="visit-7")
    again = fire(api, "store.visited", payload, HTTP_IDEMPOTENCY_KEY="visit-7")
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert TriggerEvent.objects.count() == 1
    assert fire(api, "store.visited", payload, HTTP_IDEMPOTENCY_KEY="visit-8").json()["id"] != first.json()["id"]


def test_past_the_fair_use_rate_the_answer_is_429_with_retry_after(api, visit):
    visit.rate_limit_per_minute = 2
    visit.save()
    ContactFactory(email="ada@example.com")
    payload = {"email": "ada@example.com", "store": "Oslo"}
    assert [fire(api, "store.visited", payload).status_code for _ in range(2)] == [202, 202]
    refused = fire(api, "store.visited", payload)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert TriggerEvent.objects.count() == 2


def test_a_read_only_key_cannot_fire(marketer, visit):
    key = APIKey(name="Reader", user=marketer, scope=APIKey.Scope.READ)
    raw = key.generate()
    key.save()
    reader = Client(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert reader.get("/api/triggers/").status_code == 200
    assert fire(reader, "store.visited", {"email": "a@example.com", "store": "x"}).status_code == 403


def test_a_batch_is_stored_in_one_insert(api, visit, committed):
    people = [ContactFactory(email=f"p{i}@example.com") for i in range(50)]
    events = [{"key": "store.visited", "payload": {"email": p.email, "store": "Oslo"}, "idempotency_key": f"b{i}"}
              for i, p in enumerate(people)]
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/triggers/batch/", {"events": events}, content_type="application/json")
    assert response.status_code == 202, response.content
    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "journeys_triggerevent"')]
    assert len(inserts) == 1
    assert len(queries) < 20  # not one query per event
    assert response.json()["accepted"] == 50
    with committed():
        again = api.post("/api/triggers/batch/", {"events": events[:3]}, content_type="application/json")
    assert again.json() == {"accepted": 0, "duplicates": 3, "events": response.json()["events"][:3]}
    assert TriggerEvent.objects.count() == 50


def test_one_bad_event_refuses_the_whole_batch_with_errors_by_index(api, visit):
    ContactFactory(email="ada@example.com")
    response = api.post("/api/triggers/batch/", {"events": [
        {"key": "store.visited", "payload": {"email": "ada@example.com", "store": "Oslo"}},
        {"key": "store.visited", "payload": {"email": "ada@example.com"}},
        {"key": "no.such", "payload": {}},
    ]}, content_type="application/json")
    assert response.status_code == 400
    errors = response.json()["events"]
    assert errors["1"] == {"payload": ["'store' is a required property"]}
    assert errors["2"] == {"key": ["No trigger 'no.such'."]}
    assert not TriggerEvent.objects.exists()


def test_a_batch_holds_at_most_a_thousand_events(api, visit):
    events = [{"key": "store.visited", "payload": {}}] * 1001
    response = api.post("/api/triggers/batch/", {"events": events}, content_type="application/json")
    assert response.status_code == 400
    assert "At most 1000 events" in response.json()["events"][0]


def test_custom_triggers_are_created_with_validation(api):
    created = api.post("/api/custom-triggers/", {
        "name": "Cart abandoned", "key": "basket.abandoned", "person_field": "email",
        "attributes": [{"name": "items", "type": "list", "required": True}]}, content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["schema"]["properties"]["items"] == {"type": "array", "items": {"type": "string"}}
    bad = api.post("/api/custom-triggers/", {
        "name": "Bad", "key": "Cart Abandoned", "attributes": [{"name": "x", "type": "colour"}]},
        content_type="application/json")
    assert bad.status_code == 400
    assert set(bad.json()) >= {"key", "attributes"}
    built_in = api.post("/api/custom-triggers/", {"name": "Mine", "key": "email.opened"},
                        content_type="application/json")
    assert "built-in" in built_in.json()["key"][0]
    bound = api.post("/api/custom-triggers/", {"name": "Won", "key": "deal.won", "kind": "record",
                                               "record_table": "opportunity", "record_field": "colour"},
                     content_type="application/json")
    assert "record_field" in bound.json()


def test_recent_events_show_the_journeys_they_touched(api, visit, journey_of, now, committed):
    journey = journey_of("pause", {"pause": {"type": "wait", "hours": 1, "next": EXIT}}, name="Visitors",
                         entry_trigger="store.visited")
    services.go_live(journey, now=now)
    ContactFactory(email="ada@example.com")
    with committed():
        fire(api, "store.visited", {"email": "ada@example.com", "store": "Oslo"})
    ContactFactory(email="bob@example.com")
    response = api.get("/api/trigger-events/?key=store.visited")
    assert response.status_code == 200
    [event] = response.json()["results"]
    assert [(t["journey_name"], t["effect"]) for t in event["journeys"]] == [("Visitors", "started")]
    assert api.get("/api/trigger-events/?key=contact.created").json()["count"] == 0  # no commit, no event


def test_a_custom_trigger_a_journey_uses_cannot_be_deleted(api, visit):
    from journeys.models import Journey

    Journey.objects.create(name="Draft", tiles={"start": "b", "tiles": {
        "b": {"type": "trigger_branch", "trigger": "store.visited", "name": "Visited?", "next": "x"},
        "x": {"type": "exit"}}})
    Journey.objects.create(name="Loyal", goal_trigger="store.visited")
    refused = api.delete(f"/api/custom-triggers/{visit.pk}/")
    assert refused.status_code == 409
    assert refused.json()["uses"] == ["journey “Loyal” (goal trigger)",
                                      "journey “Draft” (tile “Visited?” in the draft)"]
    assert CustomTrigger.objects.filter(pk=visit.pk).exists()
