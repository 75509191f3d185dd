"""Governance at every step: exclusion and suppression segments, quiet hours, frequency caps (skip
or defer, priority for the last slot), re-entry rules, start and end dates, goal segments."""

import datetime

import pytest

from channels.models import Delivery
from journeys import services
from journeys.engine import advance_due_runs, dispatch
from journeys.explain import explain
from journeys.models import EXIT, Journey, JourneyRun, JourneySettings
from segments import services as segments
from segments.models import Segment

pytestmark = pytest.mark.django_db
HOUR, DAY = datetime.timedelta(hours=1), datetime.timedelta(days=1)


def static_segment(name, *people, now):
    segment = Segment.objects.create(name=name, kind=Segment.Kind.STATIC, status=Segment.Status.READY,
                                     refresh_mode=Segment.RefreshMode.MANUAL)
    if people:
        segments.add_members(segment, [p.pk for p in people], now=now)
    return segment


def enter(person, now, payload=None):
    event = services.publish("form.submitted", person=person, payload=payload or {"form": "f"}, source="test", now=now)
    dispatch([event], now=now)


def texts(run):
    return [step["text"] for step in explain(run)]


@pytest.fixture
def send_one(journey_of, published_email, now):
    """form.submitted → send "hello" → exit, live, with the fields given."""
    published_email("hello")

    def make(name="Send one", **fields):
        journey = journey_of("send", {"send": {"type": "send_email", "email": "hello", "next": EXIT}},
                             name=name, entry_trigger="form.submitted", re_entry="any_time", **fields)
        return journey

    return make


def test_people_in_an_exclusion_segment_never_enter(send_one, subscribed, now):
    ann, bob = subscribed(), subscribed()
    journey = send_one()
    journey.exclusion_segments.add(static_segment("VIPs", bob, now=now))
    services.go_live(journey, now=now)
    enter(ann, now)
    enter(bob, now)
    assert list(JourneyRun.objects.values_list("contact", flat=True)) == [ann.pk]


def test_joining_the_suppression_segment_exits_at_the_next_step(journey_of, published_email, subscribed, now):
    published_email("hello")
    ann = subscribed()
    suppressed = static_segment("Do not contact", now=now)
    JourneySettings.objects.create(suppression_segment=suppressed)
    journey = journey_of("pause", {"pause": {"type": "wait", "hours": 1, "next": "send"},
                                   "send": {"type": "send_email", "email": "hello", "next": EXIT}},
                         entry_trigger="form.submitted")
    services.go_live(journey, now=now)
    enter(ann, now)
    segments.add_members(suppressed, [ann.pk], now=now + HOUR / 2)
    advance_due_runs(now=now + HOUR, limit=10)
    run = JourneyRun.objects.get()
    assert run.state == JourneyRun.State.EXITED and not Delivery.objects.exists()
    assert texts(run)[-1] == "exited: in suppression segment Do not contact"


def test_quiet_hours_delay_a_send_to_the_morning_in_the_contacts_time_zone(send_one, subscribed, now):
    # now is 09:00 UTC = 10:00 in Stockholm; quiet 09:30–11:00 there: delayed until 11:00 local.
    journey = send_one(quiet_hours_start=datetime.time(9, 30), quiet_hours_end=datetime.time(11, 0))
    services.go_live(journey, now=now)
    enter(subscribed(time_zone="Europe/Stockholm"), now)
    enter(subscribed(time_zone="America/New_York"), now)  # 04:00 there: not quiet
    stockholm, new_york = JourneyRun.objects.order_by("id")
    assert (stockholm.state, stockholm.due_at) == (JourneyRun.State.ACTIVE, now + HOUR)
    assert new_york.state == JourneyRun.State.DONE
    assert "delayed by quiet hours until 11:00 Europe/Stockholm" in texts(stockholm)
    advance_due_runs(now=now + HOUR, limit=10)
    stockholm.refresh_from_db()
    assert stockholm.state == JourneyRun.State.DONE and Delivery.objects.count() == 2


def test_quiet_hours_across_midnight_use_the_journeys_time_zone(send_one, subscribed, now):
    journey = send_one(quiet_hours_start=datetime.time(8, 0), quiet_hours_end=datetime.time(7, 0),
                       use_contact_time_zone=False, time_zone="UTC")
    services.go_live(journey, now=now)
    enter(subscribed(time_zone="Asia/Tokyo"), now)
    run = JourneyRun.objects.get()
    assert run.due_at == datetime.datetime(2026, 11, 3, 7, 0, tzinfo=datetime.UTC)


def test_a_capped_message_is_skipped_with_a_reason(send_one, subscribed, now):
    journey = send_one(cap_per_day=1, cap_action=Journey.CapAction.SKIP)
    services.go_live(journey, now=now)
    ann = subscribed()
    enter(ann, now)
    enter(ann, now + HOUR)
    first, second = JourneyRun.objects.order_by("id")
    assert Delivery.objects.count() == 1
    assert second.state == JourneyRun.State.DONE
    assert "skipped: frequency cap 1/day reached" in texts(second)


def test_a_capped_message_is_deferred_until_a_slot_frees(send_one, subscribed, now):
    journey = send_one(cap_per_day=1)  # defer is the default
    services.go_live(journey, now=now)
    ann = subscribed()
    enter(ann, now)
    enter(ann, now + HOUR)
    second = JourneyRun.objects.order_by("id").last()
    assert (second.state, second.due_at) == (JourneyRun.State.ACTIVE, now + DAY)
    assert advance_due_runs(now=now + DAY, limit=10) == 1
    assert Delivery.objects.count() == 2


def test_the_global_weekly_cap_counts_across_journeys_and_priority_wins_the_last_slot(
        journey_of, published_email, subscribed, now):
    published_email("hello")
    JourneySettings.objects.create(cap_per_week=1)
    tiles = {"pause": {"type": "wait", "hours": 1, "next": "send"},
             "send": {"type": "send_email", "email": "hello", "next": EXIT}}
    low = journey_of("pause", tiles, name="Low", entry_trigger="form.submitted", cap_action="skip")
    high = journey_of("pause", tiles, name="High", entry_trigger="form.submitted", cap_action="skip", priority=5)
    for journey in (low, high):
        services.go_live(journey, now=now)
    enter(subscribed(), now)
    advance_due_runs(now=now + HOUR, limit=10)  # both due at once: the higher priority goes first
    delivery = Delivery.objects.get()
    assert delivery.journey_id == high.pk
    assert "skipped: frequency cap 1/week reached" in texts(JourneyRun.objects.get(journey=low))


@pytest.mark.parametrize(("rule", "days", "expected"), [
    ("never", None, 1), ("after_finish", None, 2), ("any_time", None, 3), ("after_days", 2, 2)])
def test_re_entry_rules(journey_of, subscribed, now, rule, days, expected):
    journey = journey_of("pause", {"pause": {"type": "wait", "days": 1, "next": EXIT}},
                         entry_trigger="form.submitted", re_entry=rule, re_entry_days=days)
    services.go_live(journey, now=now)
    ann = subscribed()
    enter(ann, now)                     # enters
    enter(ann, now + HOUR)              # still inside: only "any time" lets them in again
    advance_due_runs(now=now + 2 * DAY, limit=10)
    enter(ann, now + 3 * DAY)           # finished; "after 2 days" has passed since the first entry
    assert JourneyRun.objects.filter(journey=journey).count() == expected


def test_nobody_enters_before_the_start_or_after_the_end(send_one, subscribed, now):
    journey = send_one(starts_at=now + DAY, ends_at=now + 2 * DAY)
    services.go_live(journey, now=now)
    ann = subscribed()
    enter(ann, now)
    enter(ann, now + 3 * DAY)
    assert not JourneyRun.objects.exists()
    enter(ann, now + DAY + HOUR)
    assert JourneyRun.objects.count() == 1


def test_entering_the_goal_segment_counts_the_goal_once(journey_of, subscribed, now):
    ann = subscribed()
    won = static_segment("Customers", now=now)
    journey = journey_of("pause", {"pause": {"type": "wait", "days": 1, "next": "again"},
                                   "again": {"type": "wait", "days": 1, "next": EXIT}},
                         entry_trigger="form.submitted", goal_segment=won)
    services.go_live(journey, now=now)
    enter(ann, now)
    segments.add_members(won, [ann.pk], now=now + HOUR)
    advance_due_runs(now=now + DAY, limit=10)
    advance_due_runs(now=now + 2 * DAY, limit=10)
    run = JourneyRun.objects.get()
    assert run.steps.filter(tile_key="$goal").count() == 1
    assert "goal reached: entered segment Customers" in texts(run)


def test_segment_entered_events_exit_and_score_goals_at_once(journey_of, subscribed, now):
    ann = subscribed()
    won = static_segment("Customers", now=now)
    journey = journey_of("pause", {"pause": {"type": "wait", "days": 5, "next": EXIT}},
                         entry_trigger="form.submitted", exit_segment=won, goal_segment=won)
    services.go_live(journey, now=now)
    enter(ann, now)
    event = services.publish("segment.entered", person=ann, payload={"segment": won.pk, "name": won.name},
                             source="segments", now=now + HOUR)
    dispatch([event], now=now + HOUR)
    run = JourneyRun.objects.get()
    assert (run.state, run.finished_at) == (JourneyRun.State.EXITED, now + HOUR)  # not 5 days later
    assert texts(run)[-2:] == ["goal reached: entered segment Customers", "exited: entered segment Customers"]
