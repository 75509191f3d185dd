"""The bulk doors: publish_many stores many events in one INSERT, validated and idempotent, and
dispatch skips the engine for events nothing listens to."""

import pytest

from journeys import ingest, services
from journeys.ingest import NewEvent
from journeys.models import EXIT, JourneyRun, TriggerEvent
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_publish_many_stores_each_event_once_whatever_the_repeats(now):
    ann, bob = ContactFactory(), ContactFactory()
    first = ingest.publish_many([NewEvent.of("purchase.completed", ann, {"amount": 5}, "order-1")],
                                source="shop", now=now)
    events = ingest.publish_many([
        NewEvent.of("purchase.completed", ann, {"amount": 5}, "order-1"),  # stored before
        NewEvent.of("purchase.completed", bob, {"amount": 7}, "order-2"),
        NewEvent.of("purchase.completed", bob, {"amount": 7}, "order-2"),  # twice in this batch
    ], source="shop", now=now)
    assert events[0].pk == first[0].pk and events[1].pk == events[2].pk
    assert TriggerEvent.objects.count() == 2


def test_publish_many_refuses_the_whole_batch_when_one_event_is_invalid(now):
    contact = ContactFactory()
    with pytest.raises(ingest.InvalidEvents) as refused:
        ingest.publish_many([NewEvent.of("purchase.completed", contact, {"amount": 5}),
                             NewEvent.of("purchase.completed", contact, {"amount": "five"}),
                             NewEvent.of("no.such", contact, {})], source="shop", now=now)
    assert set(refused.value.errors) == {1, 2}
    assert not TriggerEvent.objects.exists()


def test_dispatch_gives_the_engine_only_what_something_listens_to(journey_of, committed, now):
    journey = journey_of("pause", {"pause": {"type": "wait", "hours": 1, "next": EXIT}},
                         entry_trigger="purchase.completed")
    services.go_live(journey, now=now)
    contact = ContactFactory()
    assert ingest.has_listeners("purchase.completed") and not ingest.has_listeners("email.opened")
    with committed():
        ingest.publish_many([NewEvent.of("purchase.completed", contact, {"amount": 5}),
                             NewEvent.of("email.opened", contact, {"email_key": "news"})], source="t", now=now)
    assert not TriggerEvent.objects.filter(dispatched_at__isnull=True).exists()
    assert JourneyRun.objects.get().person == contact


def test_unheard_events_can_be_stored_as_dispatched_and_heard_ones_wait_for_dispatch(journey_of, now, monkeypatch):
    woken = []
    monkeypatch.setattr(ingest, "dispatch_on_commit", lambda ids, now: woken.append(list(ids)))
    contact = ContactFactory()
    quiet = ingest.publish_many([NewEvent.of("email.delivered", contact, {"email_key": "news"}),
                                 NewEvent.of("email.delivered", contact, {"email_key": "tips"})],
                                source="waymark", now=now, unheard_as_dispatched=True)
    assert all(e.dispatched_at == now for e in quiet)
    assert TriggerEvent.objects.filter(dispatched_at=now).count() == 2 and woken == [[]]
    journey = journey_of("pause", {"pause": {"type": "wait", "hours": 1, "next": EXIT}},
                         entry_trigger="email.delivered")
    services.go_live(journey, now=now)
    heard = ingest.publish_many([NewEvent.of("email.delivered", contact, {"email_key": "news"}),
                                 NewEvent.of("email.opened", contact, {"email_key": "news"})],
                                source="waymark", now=now, unheard_as_dispatched=True)
    assert heard[0].dispatched_at is None and heard[1].dispatched_at == now
    assert woken[-1] == [heard[0].pk]  # only the heard event waits for the dispatcher
    assert TriggerEvent.objects.get(pk=heard[0].pk).dispatched_at is None
