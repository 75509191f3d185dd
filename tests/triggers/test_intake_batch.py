"""Firing many events: a batch costs a few queries whatever its size, answers one event per input
in order (first events for keys seen before), and odd bodies get the serializer's own errors."""

import json

import pytest

from journeys import ingest
from journeys.api.triggers import BatchSerializer, FiredSerializer
from journeys.ingest import NewEvent
from journeys.models import TriggerEvent
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
BATCH = "/api/triggers/batch/"




def post(api, events):
    return api.post(BATCH, {"events": events}, content_type="application/json")


def test_a_thousand_events_cost_a_few_queries_and_answer_as_the_serializer_would(api, visit,
                                                                                  django_assert_max_num_queries):
    people = [ContactFactory(email=f"p{i}@example.com") for i in range(20)]
    events = [{"key": "store.visited", "payload": {"email": people[i % 20].email, "store": f"S{i}"}}
              for i in range(1000)]
    assert post(api, events[:1]).status_code == 202  # reads the API key
    with django_assert_max_num_queries(3):  # the trigger, the people, the INSERT
        response = post(api, events)
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (1000, 0)
    stored = {e.pk: e for e in TriggerEvent.objects.all()}
    assert body["events"] == [FiredSerializer(stored[e["id"]]).data for e in body["events"]]
    assert [stored[e["id"]].payload["store"] for e in body["events"]] == [f"S{i}" for i in range(1000)]


def test_keys_seen_before_or_repeated_answer_with_the_first_event_in_place(api, visit):
    ann, bob = ContactFactory(email="ann@example.com"), ContactFactory(email="bob@example.com")

    def event(person, store, key=None):
        item = {"key": "store.visited", "payload": {"email": person.email, "store": store}}
        return {**item, "idempotency_key": key} if key else item

    first = post(api, [event(ann, "A", "k1"), event(bob, "B")]).json()["events"]
    response = post(api, [event(bob, "C"), event(ann, "A", "k1"), event(bob, "D", "k2"), event(ann, "E"),
                          event(bob, "D", "k2"), event(ann, "F", "k3")])
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (4, 2)
    ids = [e["id"] for e in body["events"]]
    assert ids[1] == first[0]["id"] and ids[2] == ids[4]
    stored = {e.pk: (e.contact_id, e.payload["store"]) for e in TriggerEvent.objects.all()}
    assert [stored[pk] for pk in ids] == [(bob.pk, "C"), (ann.pk, "A"), (bob.pk, "D"), (ann.pk, "E"),
                                          (bob.pk, "D"), (ann.pk, "F")]
    assert len(stored) == 6


@pytest.mark.parametrize(("event", "errors"), [
    ({"payload": {}}, {"key": ["This field is required."]}),
    ({"key": " ", "payload": {}}, {"key": ["This field may not be blank."]}),
    ({"key": "store.visited"}, {"payload": ["This field is required."]}),
    ({"key": "store.visited", "payload": None}, {"payload": ["This field may not be null."]}),
    ({"key": "store.visited", "payload": {}, "idempotency_key": "x" * 151},
     {"idempotency_key": ["Ensure this field has no more than 150 characters."]}),
], ids=["no key", "blank key", "no payload", "null payload", "long idempotency key"])
def test_an_odd_event_gets_the_serializer_s_errors(api, visit, event, errors):
    response = post(api, [event])
    assert response.status_code == 400
    assert response.json() == {"events": {"0": errors}}
    serializer = BatchSerializer(data={"events": [event]})
    assert not serializer.is_valid()
    assert response.json() == json.loads(json.dumps(serializer.errors))


def test_keys_the_serializer_would_trim_are_trimmed(api, visit):
    ann = ContactFactory(email="ann@example.com")
    event = {"key": " store.visited ", "payload": {"email": ann.email, "store": "A"}, "idempotency_key": " k1 "}
    assert post(api, [event]).status_code == 202
    assert TriggerEvent.objects.get().idempotency_key == "api:store.visited:k1"


def test_publish_many_answers_in_order_across_stored_and_new_keys(now):
    ann = ContactFactory()
    ingest.publish_many([NewEvent.of("purchase.completed", ann, {"amount": 1}, "o-2")], source="shop", now=now)
    events = ingest.publish_many([NewEvent.of("purchase.completed", ann, {"amount": n}, key)
                                  for n, key in enumerate(["o-1", None, "o-2", "o-3", None, "o-1"])],
                                 source="shop", now=now)
    assert [e.payload["amount"] for e in events] == [0, 1, 1, 3, 4, 0]
    assert events[0].pk == events[5].pk and len({e.pk for e in events}) == 5
    assert {e.pk: e.payload for e in TriggerEvent.objects.all()} == {e.pk: e.payload for e in events}
