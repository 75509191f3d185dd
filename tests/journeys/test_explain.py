"""Explain: the path a person took through a journey, with reasons kept as data and phrased."""

import datetime

import pytest

from channels import feedback
from channels.models import Delivery
from journeys import services
from journeys.engine import advance_due_runs, dispatch
from journeys.explain import describe, explain
from journeys.models import EXIT, JourneyRun

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


@pytest.fixture
def guide_journey(journey_of, published_email, now):
    published_email("guide")
    published_email("offer")
    journey = journey_of("guide", {
        "guide": {"type": "send_email", "email": "guide", "next": "pause"},
        "pause": {"type": "wait", "days": 2, "next": "opened"},
        "opened": {"type": "interaction_branch", "name": "Opened", "tile": "guide", "interaction": "opened",
                   "within": {"days": 2}, "yes": "offer", "no": EXIT},
        "offer": {"type": "send_email", "email": "offer", "next": "end"},
        "end": {"type": "exit"},
    }, entry_trigger="form.submitted", exit_trigger="purchase.completed")
    services.go_live(journey, now=now)
    return journey


def enter(person, key, payload, now):
    dispatch([services.publish(key, person=person, payload=payload, source="test", now=now)], now=now)


def texts(run):
    run.refresh_from_db()
    return [step["text"] for step in explain(run)]


def test_explain_tells_the_path_and_why(guide_journey, subscribed, now):
    person = subscribed()
    enter(person, "form.submitted", {"form": "brew"}, now)
    run = JourneyRun.objects.get()
    guide = Delivery.objects.get(email__key="guide")
    assert texts(run) == ["entered: form.submitted", f"sent email guide (delivery {guide.pk})",
                          "waiting until 2026-11-04 09:00"]
    feedback.record_open(guide.pk, now=now + DAY)
    advance_due_runs(now=now + 2 * DAY, limit=10)
    offer = Delivery.objects.get(email__key="offer")
    assert texts(run) == ["entered: form.submitted", f"sent email guide (delivery {guide.pk})",
                          "waited until 2026-11-04 09:00", "branch Opened: yes",
                          f"sent email offer (delivery {offer.pk})", "finished: exit tile"]
    steps = explain(run)
    assert steps[3]["reason"] == {"code": "branch", "name": "Opened", "answer": "yes",
                                  "interaction": "email_opened", "at": (now + DAY).isoformat()}
    assert steps[3]["tile"] == "opened"


def test_explain_tells_why_a_person_left_early(guide_journey, subscribed, now):
    person = subscribed()
    enter(person, "form.submitted", {"form": "brew"}, now)
    enter(person, "purchase.completed", {"amount": 20}, now + DAY)
    assert texts(JourneyRun.objects.get())[-1] == "exited: purchase.completed"


def test_explain_tells_a_stopped_journey_and_a_failed_run(guide_journey, subscribed, now):
    enter(subscribed(), "form.submitted", {"form": "brew"}, now)
    services.stop(guide_journey, now=now + DAY)
    assert texts(JourneyRun.objects.get())[-1] == "exited: journey stopped"
    assert describe({"code": "failed", "error": "boom"}) == "failed: boom"
    assert describe({"code": "something_new", "x": 1}) == "{'code': 'something_new', 'x': 1}"
