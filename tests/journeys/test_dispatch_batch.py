"""Set-based dispatch: a batch of events reacts as the same events one by one would, in a number
of queries that does not grow with the batch, and wake-ups coalesce."""

import datetime
import importlib
import threading

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from config import wake
from journeys import services, tasks
from journeys.engine import dispatch_next, dispatch_waiting
from journeys.models import EXIT, JourneyRun, StepLog, TriggerEvent
from tests.conftest import requires_postgres
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)


def store(key, person, payload, at):
    """An event stored without a dispatch (as if its wake-up were still on its way)."""
    return TriggerEvent.objects.create(contact=person, key=key, payload=payload, source="test", occurred_at=at)


@pytest.fixture
def cart_journey(journey_of, now):
    journey = journey_of("later", {"later": {"type": "wait", "hours": 2, "next": EXIT}}, name="Carts",
                         entry_trigger="form.submitted", exit_trigger="purchase.completed", re_entry="any_time")
    services.go_live(journey, now=now)
    return journey


def purchase(order):
    return {"order": str(order), "amount": 10.0, "currency": "USD", "products": []}


def test_one_batch_starts_then_stops_a_persons_run_in_the_order_things_happened(cart_journey, now):
    ann, bob = ContactFactory(), ContactFactory()
    store("form.submitted", ann, {"form": "cart", "fields": {}}, now)
    store("form.submitted", bob, {"form": "cart", "fields": {}}, now)
    store("purchase.completed", ann, purchase(1), now + datetime.timedelta(milliseconds=5))
    assert dispatch_waiting(limit=100) == 3
    runs = {run.contact: run for run in JourneyRun.objects.filter(journey=cart_journey)}
    assert runs[ann].state == JourneyRun.State.EXITED and runs[ann].exit_reason["key"] == "purchase.completed"
    # The three happened within a moment: all are dispatched as of the newest.
    assert runs[bob].state == JourneyRun.State.WAITING
    assert runs[bob].due_at == now + datetime.timedelta(milliseconds=5) + 2 * HOUR
    assert not TriggerEvent.objects.filter(dispatched_at__isnull=True).exists()
    assert dispatch_waiting(limit=100) == 0  # nothing left: a second wake-up is harmless


def test_events_far_apart_are_each_dispatched_as_of_their_own_time(cart_journey, now):
    early, late = ContactFactory(), ContactFactory()
    store("form.submitted", early, {"form": "cart", "fields": {}}, now)
    store("form.submitted", late, {"form": "cart", "fields": {}}, now + HOUR)
    dispatch_waiting(limit=100)
    entered = dict(JourneyRun.objects.values_list("contact", "entered_at"))
    assert entered == {early.pk: now, late.pk: now + HOUR}


def test_a_batch_costs_the_same_queries_whatever_its_size(cart_journey, now):
    """Exit lookups, resumes and entries are one query per batch; only each new run's own step
    (its line, its save, in a savepoint) counts per person."""
    def cost(people):
        for person in people:
            store("purchase.completed", person, purchase(person.pk), now)  # nobody is inside: no exits
        with CaptureQueriesContext(connection) as queries:
            assert dispatch_waiting(limit=500) == len(people)
        return len(queries)

    cost(ContactFactory.create_batch(1))  # the first batch creates the journey settings' row
    assert cost(ContactFactory.create_batch(3)) == cost(ContactFactory.create_batch(30))


def test_the_limit_takes_the_oldest_first(cart_journey, now):
    people = ContactFactory.create_batch(3)
    for n, person in enumerate(people):
        store("form.submitted", person, {"form": "cart", "fields": {}}, now + n * datetime.timedelta(seconds=5))
    assert dispatch_waiting(limit=2) == 2
    assert set(JourneyRun.objects.values_list("contact", flat=True)) == {people[0].pk, people[1].pk}
    assert dispatch_waiting(limit=2) == 1
    assert StepLog.objects.filter(tile_key="$entry").count() == 3


class Counting:
    """A stand-in task: counts how often it was queued."""

    name = "tests.counting"

    def __init__(self):
        self.queued = 0

    def delay(self):
        self.queued += 1


def test_without_a_shared_cache_every_wake_up_is_queued():
    task = Counting()
    for _ in range(3):
        wake.wake(task)
    assert task.queued == 3


@pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis"),
                    reason="needs Redis: set CELERY_BROKER_URL=redis://127.0.0.1:6379/15")
def test_with_a_shared_cache_one_wake_up_waits_at_a_time():
    redis = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                         "LOCATION": settings.CELERY_BROKER_URL}}
    with override_settings(CACHES=redis):
        caches["default"].delete("waymark:wake:tests.counting")
        task = Counting()
        for _ in range(5):
            wake.wake(task)
        assert task.queued == 1  # four more rows arrived before a worker took the first wake-up
        wake.woken(task)  # a worker started: what arrives now needs a wake-up of its own
        wake.wake(task)
        wake.wake(task)
        assert task.queued == 2
        wake.woken(task)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_persons_later_event_waits_while_another_worker_holds_an_earlier_one(cart_journey, now):
    ann, bob = ContactFactory(), ContactFactory()
    cart = store("form.submitted", ann, {"form": "cart", "fields": {}}, now)
    paid = store("purchase.completed", ann, purchase(1), now + datetime.timedelta(seconds=2))
    store("form.submitted", bob, {"form": "cart", "fields": {}}, now + datetime.timedelta(seconds=3))
    holding, release = threading.Event(), threading.Event()

    def other_worker():  # has claimed Ann's "cart" and is still dispatching it
        with transaction.atomic():
            list(TriggerEvent.objects.filter(pk=cart.pk).select_for_update())
            holding.set()
            release.wait(10)
        connections.close_all()

    worker = threading.Thread(target=other_worker)
    worker.start()
    try:
        assert holding.wait(10)
        batch = dispatch_next(limit=100)  # takes Ann's purchase and Bob's cart; Ann's must wait
        assert (batch.dispatched, batch.held_back) == (1, 1)
        assert TriggerEvent.objects.get(pk=paid.pk).dispatched_at is None
        assert list(JourneyRun.objects.values_list("contact", flat=True)) == [bob.pk]
    finally:
        release.set()
        worker.join()
    assert dispatch_next(limit=100) == (2, 0)  # the other worker let go: Ann's events, in order
    ann_run = JourneyRun.objects.get(contact=ann)
    assert ann_run.state == JourneyRun.State.EXITED and ann_run.exit_reason["key"] == "purchase.completed"


def test_held_back_events_are_tried_again_shortly(cart_journey, now, monkeypatch):
    dispatch = importlib.import_module("journeys.engine.dispatch")  # the module, not engine.dispatch()
    retried = []
    monkeypatch.setattr(dispatch, "_behind_others", lambda batch: {("contact", batch[0].contact_id)})
    monkeypatch.setattr(tasks.dispatch_waiting, "apply_async", lambda **options: retried.append(options))
    store("form.submitted", ContactFactory(), {"form": "cart", "fields": {}}, now)
    assert tasks.dispatch_waiting() == 1
    assert retried == [{"countdown": tasks.HELD_BACK_RETRY_SECONDS}]
    assert TriggerEvent.objects.get().dispatched_at is None
