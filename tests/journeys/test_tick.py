"""The tick: due runs are claimed and stepped until they wait or end; every action happens once,
whatever is retried; a failing run is marked failed and the batch goes on."""

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from channels import services as channels
from channels.models import Delivery
from journeys import services
from journeys.engine import advance_due_runs, dispatch
from journeys.models import EXIT, JourneyRun, JourneyVersion, StepLog
from segments import services as segments
from segments.models import Segment

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)


class Crash(Exception):
    pass


@pytest.fixture
def wait_then_send(journey_of, published_email, now):
    published_email("hello")
    journey = journey_of("pause", {
        "pause": {"type": "wait", "hours": 1, "next": "send"},
        "send": {"type": "send_email", "email": "hello", "next": EXIT},
    }, entry_trigger="form.submitted", re_entry="any_time")
    services.go_live(journey, now=now)
    return journey


def enter(person, now, key="form.submitted", payload=None):
    event = services.publish(key, person=person, payload=payload or {"form": "f"}, source="test", now=now)
    dispatch([event], now=now)
    return event


def test_a_new_run_waits_and_the_tick_moves_it_on_when_due(wait_then_send, subscribed, now, smtp_server):
    enter(subscribed(), now)
    run = JourneyRun.objects.get()
    assert (run.state, run.tile_key, run.due_at) == (JourneyRun.State.WAITING, "pause", now + HOUR)
    assert advance_due_runs(now=now + HOUR - datetime.timedelta(seconds=1), limit=10) == 0
    assert advance_due_runs(now=now + HOUR, limit=10) == 1
    channels.send_queued(now=now + HOUR)
    run.refresh_from_db()
    assert run.state == JourneyRun.State.DONE
    assert len(smtp_server.messages) == 1


def test_retried_tick_sends_nothing_twice(wait_then_send, subscribed, now, smtp_server):
    enter(subscribed(), now)
    advance_due_runs(now=now + HOUR, limit=10)
    advance_due_runs(now=now + HOUR, limit=10)
    channels.send_queued(now=now + HOUR)
    assert Delivery.objects.count() == 1
    assert len(smtp_server.messages) == 1


def test_a_batch_that_crashes_before_commit_leaves_nothing_behind_and_runs_once_on_retry(
        wait_then_send, subscribed, now, smtp_server):
    enter(subscribed(), now)
    with pytest.raises(Crash), transaction.atomic():
        advance_due_runs(now=now + HOUR, limit=10)
        raise Crash  # the worker dies before the batch commits
    assert not Delivery.objects.exists()
    assert advance_due_runs(now=now + 2 * HOUR, limit=10) == 1
    channels.send_queued(now=now + 2 * HOUR)
    assert len(smtp_server.messages) == 1


def test_a_stale_copy_of_a_run_hits_the_step_log_and_does_nothing_twice(wait_then_send, subscribed, now, smtp_server):
    """Two workers holding the same run: the second hits the (run, tile, attempt) constraint."""
    enter(subscribed(), now)
    advance_due_runs(now=now + HOUR, limit=10)  # at "send" now, and done
    run = JourneyRun.objects.get()
    JourneyRun.objects.filter(pk=run.pk).update(state="active", tile_key="send", attempt=1, due_at=now + HOUR,
                                                 visits={"pause": 1, "send": 1})
    advance_due_runs(now=now + HOUR, limit=10)
    channels.send_queued(now=now + HOUR)
    assert Delivery.objects.count() == 1
    assert len(smtp_server.messages) == 1
    assert JourneyRun.objects.get().state != JourneyRun.State.FAILED
    assert StepLog.objects.filter(run=run, tile_key="send").count() == 1


def test_the_send_uses_the_engine_idempotency_key_and_the_trigger_payload(wait_then_send, subscribed, now):
    enter(subscribed(), now, payload={"form": "brew", "fields": {"size": "L"}})
    advance_due_runs(now=now + HOUR, limit=10)
    run, delivery = JourneyRun.objects.get(), Delivery.objects.get()
    assert delivery.idempotency_key == f"run:{run.pk}:send:1"
    assert delivery.context == {"trigger": {"form": "brew", "fields": {"size": "L"}}}
    assert (delivery.journey_id, delivery.tile_key) == (wait_then_send.pk, "send")


def test_a_failing_run_is_marked_failed_and_the_batch_goes_on(wait_then_send, subscribed, now, smtp_server):
    enter(subscribed(), now)
    enter(subscribed(), now)
    broken = JourneyRun.objects.order_by("id").first()
    broken.version = JourneyVersion.objects.create(journey=wait_then_send, number=99, created_at=now, tiles={
        "start": "pause", "tiles": {"pause": {"type": "wait", "hours": 1, "next": "send"},
                                    "send": {"type": "send_email", "email": "deleted", "next": EXIT}}})
    broken.save()
    assert advance_due_runs(now=now + HOUR, limit=10) == 2
    channels.send_queued(now=now + HOUR)
    broken.refresh_from_db()
    assert broken.state == JourneyRun.State.FAILED
    assert "Email matching query does not exist" in broken.error
    assert not StepLog.objects.filter(run=broken, tile_key="pause").exists()  # its savepoint rolled back
    assert len(smtp_server.messages) == 1


def test_the_tick_runs_in_a_bounded_number_of_queries(wait_then_send, subscribed, now):
    """A batch writes its runs' lines and states once; each run adds only its message's INSERT."""
    def cost(count, at):
        for _ in range(count):
            enter(subscribed(), at)
        with CaptureQueriesContext(connection) as queries:
            assert advance_due_runs(now=at + HOUR, limit=100) == count
        return len(queries)

    five = cost(5, now)
    assert five <= 20
    assert cost(20, now + 2 * HOUR) <= five + 15


def test_a_paused_journey_keeps_its_runs_where_they_are(wait_then_send, subscribed, now):
    enter(subscribed(), now)
    services.pause(wait_then_send)
    assert advance_due_runs(now=now + HOUR, limit=10) == 0
    services.resume(wait_then_send)
    assert advance_due_runs(now=now + HOUR, limit=10) == 1


def test_stopping_exits_everyone_with_a_reason(wait_then_send, subscribed, now):
    enter(subscribed(), now)
    enter(subscribed(), now)
    assert services.stop(wait_then_send, now=now) == 2
    assert list(JourneyRun.objects.values_list("state", "exit_reason")) == [("exited", {"code": "stopped"})] * 2
    assert advance_due_runs(now=now + HOUR, limit=10) == 0


@pytest.mark.parametrize("rule, runs", [("never", 1), ("after_finish", 2), ("any_time", 3)])
def test_re_entry_rules(wait_then_send, subscribed, now, rule, runs):
    wait_then_send.re_entry = rule
    wait_then_send.save()
    person = subscribed()
    enter(person, now)
    enter(person, now)  # still inside: only "any time" lets them in again
    advance_due_runs(now=now + HOUR, limit=10)
    enter(person, now + 2 * HOUR)  # finished: "after finishing" lets them in again
    assert JourneyRun.objects.count() == runs


def test_wait_until_trigger_resumes_at_once_or_times_out(journey_of, published_email, subscribed, now, smtp_server):
    published_email("thanks")
    published_email("nudge")
    journey = journey_of("await", {
        "await": {"type": "wait_trigger", "trigger": "purchase.completed", "timeout": {"days": 3},
                  "next": "thanks", "timeout_next": "nudge"},
        "thanks": {"type": "send_email", "email": "thanks", "next": EXIT},
        "nudge": {"type": "send_email", "email": "nudge", "next": EXIT},
    }, entry_trigger="form.submitted")
    services.go_live(journey, now=now)
    buyer, idler = subscribed(), subscribed()
    enter(buyer, now)
    enter(idler, now)
    enter(buyer, now + HOUR, key="purchase.completed", payload={"amount": 10})
    assert Delivery.objects.get(contact=buyer).email.key == "thanks"  # no tick needed
    advance_due_runs(now=now + datetime.timedelta(days=3), limit=10)
    assert Delivery.objects.get(contact=idler).email.key == "nudge"
    assert set(JourneyRun.objects.values_list("state", flat=True)) == {"done"}


def test_the_exit_segment_is_honoured_at_every_step(wait_then_send, subscribed, now):
    customers = segments.save_segment(Segment(name="Customers", kind=Segment.Kind.STATIC), now=now)
    wait_then_send.exit_segment = customers
    wait_then_send.save()
    person = subscribed()
    enter(person, now)
    segments.add_members(customers, [person.pk], now=now)
    advance_due_runs(now=now + HOUR, limit=10)
    run = JourneyRun.objects.get()
    assert run.state == JourneyRun.State.EXITED
    assert run.exit_reason == {"code": "exit_segment", "segment": customers.pk, "name": "Customers"}
    assert not Delivery.objects.exists()


def test_a_goal_trigger_is_recorded_in_the_step_log(wait_then_send, subscribed, now):
    wait_then_send.goal_trigger = "purchase.completed"
    wait_then_send.save()
    person = subscribed()
    enter(person, now)
    enter(person, now + HOUR, key="purchase.completed", payload={"amount": 5})
    enter(person, now + HOUR, key="purchase.completed", payload={"amount": 6})
    goal = StepLog.objects.get(tile_key="$goal")
    assert goal.reason["key"] == "purchase.completed"
