"""The live view's read models, from runs the real engine moved: per-tile figures, branch shares,
the journey summary and the people standing at a tile."""

import datetime

import pytest

from channels import feedback
from channels import services as channels
from channels.models import Delivery
from journeys import queries, services
from journeys.engine import advance_due_runs
from journeys.models import Journey, JourneyRun
from tests.journeys_ui.conftest import GRINDERS

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


def drive(at):
    advance_due_runs(now=at, limit=500)
    channels.send_queued(now=at)


@pytest.fixture
def brew_live(brew_draft, subscribed, smtp_server, now, django_capture_on_commit_callbacks):  # noqa: F811
    """Ann clicks Shop Grinders, Bob does nothing, Cat buys before the branch, Dan is still waiting."""
    services.go_live(brew_draft, now=now)
    people = {n: subscribed(email=f"{n}@example.com", first_name=n.title()) for n in ("ann", "bob", "cat", "dan")}
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("ann", "bob", "cat"):
            services.publish("form.submitted", person=people[name], payload={"form": "x"}, source="t", now=now)
        services.publish("form.submitted", person=people["dan"], payload={"form": "x"}, source="t", now=now + DAY)
    drive(now + DAY)
    ann_delivery = Delivery.objects.get(contact=people["ann"])
    feedback.record_click(ann_delivery.pk, ann_delivery.version.links.index(GRINDERS), now=now + DAY)
    with django_capture_on_commit_callbacks(execute=True):
        services.publish("purchase.completed", person=people["cat"], payload={"amount": 9}, source="t", now=now + DAY)
    drive(now + 2 * DAY)
    return brew_draft


def test_tile_figures_count_entered_waiting_passed_and_branch_shares(brew_live):
    version = queries.live_version(brew_live)
    figures = queries.tile_figures(brew_live, version.tiles["tiles"])
    assert (figures["guide"].entered, figures["guide"].passed, figures["guide"].waiting) == (4, 4, 0)
    wait = figures["wait"]
    assert (wait.entered, wait.waiting, wait.passed, wait.exited) == (4, 1, 2, 1)
    clicked = figures["clicked"]
    assert clicked.outs == {"yes": 1, "no": 1}
    assert (clicked.share("yes"), clicked.share("no")) == (50, 50)
    assert (figures["offer"].passed, figures["tips"].passed) == (1, 1)


def test_the_summary_counts_runs_by_outcome_and_exit_reason(brew_live, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        summary = queries.summary(brew_live)
    assert (summary.entered, summary.active, summary.completed, summary.exited) == (4, 1, 2, 1)
    assert summary.exits == [("Exit trigger", 1)]
    assert summary.goal_percent == 0


def test_people_at_a_tile_are_the_open_runs_there(brew_live):
    assert [run.contact.email for run in queries.people_at(brew_live, "wait")] == ["dan@example.com"]
    assert queries.people_at(brew_live, "offer") == []


def test_the_list_query_filters_by_type_and_counts_runs(brew_live):
    Journey.objects.create(name="From a segment", entry_trigger="")
    row = queries.journey_list({"type": "trigger"}).get()
    assert (row.name, row.entered, row.active, row.completed) == ("Brew Better at Home", 4, 1, 2)
    assert JourneyRun.objects.count() == 4
