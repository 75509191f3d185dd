"""Segment entry modes (one-time at a date, continuous, repeating), new versions of a live journey
(finish the old or move people), clone, and test mode."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from journeys import services, testmode
from journeys.engine import advance_due_runs, dispatch, enter_due_segments
from journeys.models import EXIT, Journey, JourneyRun, TriggerEvent
from segments import services as segments
from segments.models import Segment

pytestmark = pytest.mark.django_db
HOUR, DAY = datetime.timedelta(hours=1), datetime.timedelta(days=1)


@pytest.fixture
def members(now):
    """A ready static segment holding the people given (add more with segments.add_members)."""
    def make(*people):
        segment = Segment.objects.create(name="Members", kind=Segment.Kind.STATIC, status=Segment.Status.READY)
        segments.add_members(segment, [p.pk for p in people], now=now)
        return segment

    return make


def segment_journey(journey_of, segment, **fields):
    return journey_of("pause", {"pause": {"type": "wait", "days": 1, "next": EXIT}}, entry_segment=segment, **fields)


def test_one_time_entry_at_a_later_date(journey_of, members, subscribed, now):
    ann = subscribed()
    journey = segment_journey(journey_of, members(ann), entry_at=now + DAY)
    services.go_live(journey, now=now)
    assert not JourneyRun.objects.exists()
    assert enter_due_segments(now=now + HOUR) == 0
    assert enter_due_segments(now=now + DAY) == 1
    journey.refresh_from_db()
    assert journey.next_entry_at is None
    assert enter_due_segments(now=now + 5 * DAY) == 0


def test_continuous_entry_takes_newcomers_on_segment_entered_and_on_the_sweep(journey_of, members, subscribed,
                                                                            now):
    ann, bob, cat = subscribed(), subscribed(), subscribed()
    segment = members(ann)
    journey = segment_journey(journey_of, segment, entry_mode=Journey.EntryMode.CONTINUOUS)
    services.go_live(journey, now=now)
    assert JourneyRun.objects.count() == 1
    segments.add_members(segment, [bob.pk], now=now + HOUR)
    event = TriggerEvent.objects.create(contact=bob, key="segment.entered", occurred_at=now + HOUR,
                                        payload={"segment": segment.pk, "name": segment.name})
    dispatch([event], now=now + HOUR)  # real time: the event starts bob's run at once
    assert JourneyRun.objects.filter(contact=bob).count() == 1
    segments.add_members(segment, [cat.pk], now=now + HOUR)  # no event: the sweep catches cat
    assert enter_due_segments(now=now + HOUR) == 1
    assert JourneyRun.objects.count() == 3
    assert enter_due_segments(now=now + 2 * HOUR) == 0  # nobody twice


def test_repeating_entry_every_week(journey_of, members, subscribed, now):
    ann = subscribed()
    journey = segment_journey(journey_of, members(ann), entry_mode=Journey.EntryMode.REPEATING, repeat_every=1,
                              repeat_unit="weeks", re_entry="after_finish")
    services.go_live(journey, now=now)
    assert JourneyRun.objects.count() == 1
    journey.refresh_from_db()
    assert journey.next_entry_at == now + 7 * DAY
    assert enter_due_segments(now=now + 7 * DAY) == 0  # still inside: "after finishing" keeps them out
    advance_due_runs(now=now, limit=10)
    advance_due_runs(now=now + DAY, limit=10)
    journey.refresh_from_db()
    assert journey.next_entry_at == now + 14 * DAY
    Journey.objects.filter(pk=journey.pk).update(next_entry_at=now + 7 * DAY)
    assert enter_due_segments(now=now + 7 * DAY) == 1
    assert JourneyRun.objects.count() == 2


def test_new_version_moves_people_to_matching_tiles_or_lets_them_finish(journey_of, subscribed, now):
    journey = journey_of("one", {"one": {"type": "wait", "days": 1, "next": "two"},
                                 "two": {"type": "wait", "days": 1, "next": EXIT}},
                         entry_trigger="form.submitted", re_entry="any_time")
    v1 = services.go_live(journey, now=now)
    ann = subscribed()
    for at in (now, now + HOUR):
        dispatch([services.publish("form.submitted", person=ann, payload={"form": "f"}, source="t", now=at)], now=at)
    with pytest.raises(ValidationError):
        services.go_live(journey, now=now)  # a live journey gets versions, not a second go-live
    journey.tiles = {"start": "two", "tiles": {"two": {"type": "wait", "days": 3, "next": EXIT}}}
    journey.save()
    assert services.version_preview(journey) == [
        {"tile": "one", "version": 1, "count": 2, "label": "one", "in_new_version": False}]
    v2 = services.new_version(journey, now=now + 2 * HOUR, move_runs=True)
    assert set(JourneyRun.objects.values_list("version", flat=True)) == {v1.pk}  # "one" is gone: they stay
    advance_due_runs(now=now + DAY + HOUR, limit=10)  # both now wait at "two" of version 1
    journey.tiles["tiles"]["two"]["days"] = 2
    services.new_version(journey, now=now + DAY + 2 * HOUR, move_runs=True)
    assert JourneyRun.objects.filter(version__number=3).count() == 2
    dispatch([services.publish("form.submitted", person=ann, payload={"form": "f"}, source="t",
                               now=now + DAY + 3 * HOUR)], now=now + DAY + 3 * HOUR)
    assert JourneyRun.objects.order_by("id").last().version.number == 3  # new entrants take the latest
    assert v2.number == 2


def test_clone_is_a_draft_copy(journey_of, now):
    vips = Segment.objects.create(name="VIPs", kind=Segment.Kind.STATIC, status=Segment.Status.READY)
    journey = journey_of("pause", {"pause": {"type": "wait", "days": 1, "next": EXIT}},
                         entry_trigger="form.submitted", cap_per_day=2, quiet_hours_start=datetime.time(21),
                         quiet_hours_end=datetime.time(8))
    journey.exclusion_segments.add(vips)
    services.go_live(journey, now=now)
    copy = services.clone(journey)
    assert (copy.name, copy.status, copy.cap_per_day, copy.tiles) == (
        "Copy of Test journey", Journey.Status.DRAFT, 2, journey.tiles)
    assert list(copy.exclusion_segments.all()) == [vips]
    assert not copy.versions.exists() and copy.pk != journey.pk


@pytest.fixture
def brew_draft(journey_of, published_email):
    published_email("brew-guide", links=[("Shop Grinders", "https://contoso.test/grinders")])
    published_email("grinder-offer")
    published_email("brew-tips")
    return journey_of("guide", {
        "guide": {"type": "send_email", "email": "brew-guide", "next": "two_days"},
        "two_days": {"type": "wait", "days": 2, "next": "clicked"},
        "clicked": {"type": "interaction_branch", "name": "Clicked", "tile": "guide", "interaction": "clicked",
                    "yes": "offer", "no": "tips"},
        "offer": {"type": "send_email", "email": "grinder-offer", "next": EXIT},
        "tips": {"type": "send_email", "email": "brew-tips", "next": EXIT},
    }, entry_trigger="form.submitted", exit_trigger="purchase.completed")


def test_test_mode_runs_a_draft_on_a_simulated_clock_and_keeps_nothing(brew_draft, subscribed, now):
    ann = subscribed()
    clicked = testmode.test_run(brew_draft, person=ann, now=now, entry_payload={"form": "brew"}, script=[
        {"after": {"hours": 3}, "interaction": "clicked", "tile": "guide"}])
    assert clicked["tiles"] == ["guide", "two_days", "clicked", "offer"]
    assert clicked["state"] == JourneyRun.State.DONE
    assert "branch Clicked: yes" in [step["text"] for step in clicked["path"]]
    bought = testmode.test_run(brew_draft, person=ann, now=now, entry_payload={"form": "brew"}, script=[
        {"after": {"days": 1}, "trigger": "purchase.completed", "payload": {"amount": 12}}])
    assert bought["tiles"] == ["guide"] and bought["state"] == JourneyRun.State.EXITED
    assert bought["path"][-1]["text"] == "exited: purchase.completed"
    brew_draft.refresh_from_db()
    assert brew_draft.status == Journey.Status.DRAFT
    assert not JourneyRun.objects.exists() and not brew_draft.versions.exists()
    assert not TriggerEvent.objects.filter(source="test mode").exists()


def test_test_mode_rejects_a_bad_script(brew_draft, subscribed, now):
    with pytest.raises(ValidationError, match="not a send-email tile"):
        testmode.test_run(brew_draft, person=subscribed(), now=now, entry_payload={"form": "x"},
                          script=[{"after": {"hours": 1}, "interaction": "opened", "tile": "two_days"}])
    with pytest.raises(ValidationError, match="unknown trigger"):
        testmode.test_run(brew_draft, person=subscribed(), now=now, entry_payload={"form": "x"},
                          script=[{"after": {"hours": 1}, "trigger": "nope.never"}])


def test_demo_journeys_are_seeded_once(now):
    from journeys import demo

    first = demo.ensure_journeys(now=now)
    again = demo.ensure_journeys(now=now)
    assert {k: j.pk for k, j in first.items()} == {k: j.pk for k, j in again.items()}
    assert first["brew"].status == first["win_back"].status == Journey.Status.LIVE
    assert first["won"].status == Journey.Status.DRAFT
    assert Journey.objects.count() == 3
