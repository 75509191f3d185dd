"""Many workers share the tick without processing a run twice (FOR UPDATE SKIP LOCKED)."""

import datetime
import threading

import pytest
from django.db import connection

from channels.models import Delivery
from journeys import services
from journeys.engine import advance_due_runs, dispatch
from journeys.models import EXIT, JourneyRun, StepLog, TriggerEvent
from tests.conftest import requires_postgres
from tests.factories import ContactFactory

RUNS, WORKERS = 120, 4


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_claim_each_run_once(journey_of, published_email, now):
    published_email("hello")
    journey = journey_of("pause", {
        "pause": {"type": "wait", "hours": 1, "next": "send"},
        "send": {"type": "send_email", "email": "hello", "next": EXIT},
    }, entry_trigger="form.submitted")
    version = services.go_live(journey, now=now)
    contacts = ContactFactory.create_batch(RUNS)
    JourneyRun.objects.bulk_create([
        JourneyRun(contact=c, journey=journey, version=version, state="waiting", tile_key="pause",
                   visits={"pause": 1}, due_at=now, entered_at=now) for c in contacts
    ])
    start, claimed, errors = threading.Barrier(WORKERS), [], []

    def worker():
        try:
            start.wait()
            while n := advance_due_runs(now=now + datetime.timedelta(hours=1), limit=7):
                claimed.append(n)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(claimed) == RUNS  # no run claimed twice, none left behind
    assert StepLog.objects.filter(tile_key="pause").count() == RUNS
    assert Delivery.objects.count() == RUNS
    assert set(JourneyRun.objects.values_list("state", flat=True)) == {"done"}



@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_events_for_one_person_start_one_run(journey_of, now):
    """Re-entry "never": two workers dispatching two events of the same person at once."""
    journey = journey_of("pause", {"pause": {"type": "wait", "days": 1, "next": EXIT}},
                         entry_trigger="form.submitted")
    services.go_live(journey, now=now)
    person = ContactFactory()
    events = [TriggerEvent.objects.create(contact=person, key="form.submitted", payload={"form": "f"},
                                          occurred_at=now) for _ in range(WORKERS)]
    start, errors = threading.Barrier(WORKERS), []

    def worker(event):
        try:
            start.wait()
            dispatch([event], now=now)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert JourneyRun.objects.filter(journey=journey).count() == 1
