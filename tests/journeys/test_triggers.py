"""The event door: `publish` stores a durable, validated, idempotent TriggerEvent and dispatches it
after commit."""

import datetime

import pytest

from journeys import services, triggers
from journeys.engine import dispatch, dispatch_pending
from journeys.models import JourneyRun, TriggerEvent
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

BUILT_INS = ["email.delivered", "email.opened", "email.clicked", "form.submitted", "purchase.completed",
             "opportunity.won", "segment.entered", "segment.exited"]


def test_the_built_in_triggers_are_registered():
    assert set(BUILT_INS) <= set(triggers.trigger_keys())


def test_registering_a_trigger_takes_one_line_and_checks_its_schema(monkeypatch):
    monkeypatch.setattr(triggers, "_registry", dict(triggers._registry))  # leave the real registry as it was
    triggers.register_trigger("cart.abandoned", {"type": "object", "properties": {"items": {"type": "array"}}})
    assert triggers.is_registered("cart.abandoned")
    with pytest.raises(ValueError, match="invalid payload schema"):
        triggers.register_trigger("cart.broken", {"type": "no-such-type"})


def test_an_unknown_key_is_refused_with_a_clear_message(now):
    with pytest.raises(ValueError, match=r"Unknown trigger 'form.sent'; known triggers: .*form.submitted"):
        services.publish("form.sent", person=ContactFactory(), payload={}, source="test", now=now)
    assert not TriggerEvent.objects.exists()


def test_an_invalid_payload_is_refused_listing_each_field_error(now):
    with pytest.raises(ValueError) as error:
        services.publish("purchase.completed", person=ContactFactory(), payload={"order": 7, "amount": "ten"},
                         source="shop", now=now)
    message = str(error.value)
    assert "order: 7 is not of type 'string'" in message
    assert "amount: 'ten' is not of type 'number'" in message


def test_the_event_is_stored_with_its_person_payload_and_source(now):
    contact = ContactFactory()
    event = services.publish("form.submitted", person=contact, payload={"form": "brew"}, source="forms", now=now)
    event.refresh_from_db()
    assert (event.contact, event.key, event.payload, event.source, event.occurred_at) == (
        contact, "form.submitted", {"form": "brew"}, "forms", now)
    assert event.dispatched_at is None  # dispatch waits for the commit


def test_the_same_idempotency_key_twice_returns_the_first_event(now):
    contact = ContactFactory()
    first = services.publish("form.submitted", person=contact, payload={"form": "a"}, source="api",
                             idempotency_key="req-1", now=now)
    second = services.publish("form.submitted", person=contact, payload={"form": "b"}, source="api",
                              idempotency_key="req-1", now=now)
    assert second.pk == first.pk
    assert TriggerEvent.objects.count() == 1


def test_events_are_dispatched_after_commit_and_only_once(now, journey_of, django_capture_on_commit_callbacks):
    journey = journey_of("end", {"end": {"type": "exit"}}, entry_trigger="form.submitted")
    services.go_live(journey, now=now)
    contact = ContactFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        event = services.publish("form.submitted", person=contact, payload={"form": "a"}, source="forms", now=now)
    assert len(callbacks) >= 1
    event.refresh_from_db()
    assert event.dispatched_at == now
    assert JourneyRun.objects.get(journey=journey).state == JourneyRun.State.DONE
    assert dispatch([event], now=now) == 0  # a second dispatch does nothing
    assert JourneyRun.objects.count() == 1


def test_an_event_whose_message_was_lost_is_dispatched_by_the_sweep(now, journey_of):
    journey = journey_of("end", {"end": {"type": "exit"}}, entry_trigger="form.submitted")
    services.go_live(journey, now=now)
    event = services.publish("form.submitted", person=ContactFactory(), payload={"form": "a"}, source="forms",
                             now=now)  # the test transaction never commits: the message is never sent
    minute = datetime.timedelta(minutes=1)
    assert dispatch_pending(now=now + 30 * datetime.timedelta(seconds=1), older_than=minute, limit=10) == 0
    assert dispatch_pending(now=now + minute, older_than=minute, limit=10) == 1
    event.refresh_from_db()
    assert event.dispatched_at == now + minute
    assert JourneyRun.objects.filter(journey=journey).count() == 1
