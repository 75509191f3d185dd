"""The three reference journeys of the journey engine issue, end to end: events through
`publish`, time driven by the tick, real email into an SMTP server on loopback."""

import datetime

import pytest

from channels import feedback
from channels import services as channels
from channels.models import Delivery
from contacts.models import Task
from journeys import services
from journeys.engine import advance_due_runs
from journeys.explain import explain
from journeys.models import EXIT, JourneyRun
from segments import services as segments
from segments.models import Segment
from tests.factories import InteractionFactory, OpportunityFactory

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)
GRINDERS = "https://contoso.test/grinders"


def drive(at):
    """One beat of the clock: the journey tick, then the email sender."""
    advance_due_runs(now=at, limit=500)
    channels.send_queued(now=at)


def subjects_to(smtp_server, address):
    return [m["Subject"] for m in smtp_server.messages if m["To"] == address]


def click(email_key, person, url, *, now):
    delivery = Delivery.objects.get(email__key=email_key, contact=person)
    feedback.record_click(delivery.pk, delivery.version.links.index(url), now=now)


@pytest.fixture
def brew_better(journey_of, published_email, now):
    published_email("brew-guide", links=[("Shop Grinders", GRINDERS), ("Beans", "https://contoso.test/beans")])
    published_email("grinder-offer")
    published_email("brew-tips")
    journey = journey_of("guide", {
        "guide": {"type": "send_email", "email": "brew-guide", "next": "two_days"},
        "two_days": {"type": "wait", "days": 2, "next": "clicked"},
        "clicked": {"type": "interaction_branch", "name": "Clicked Shop Grinders", "tile": "guide",
                    "interaction": "clicked", "link": GRINDERS, "within": {"days": 2}, "yes": "offer", "no": "tips"},
        "offer": {"type": "send_email", "email": "grinder-offer", "next": EXIT},
        "tips": {"type": "send_email", "email": "brew-tips", "next": EXIT},
    }, name="Brew Better at Home", entry_trigger="form.submitted", exit_trigger="purchase.completed",
        entry_conditions={"version": 1, "match": "all", "conditions": [
            {"type": "attribute", "field": "trigger.form", "op": "equals", "value": "brew-better"}]})
    services.go_live(journey, now=now)
    return journey


def test_brew_better_at_home(brew_better, subscribed, smtp_server, now, django_capture_on_commit_callbacks):
    """Form submitted → guide → 2 days → clicked Shop Grinders? offer : tips; a purchase exits early."""
    ann, bob, cat = (subscribed(email=f"{n}@example.com", first_name=n.title()) for n in ("ann", "bob", "cat"))
    with django_capture_on_commit_callbacks(execute=True):
        for person in (ann, bob, cat):
            services.publish("form.submitted", person=person, payload={"form": "brew-better"}, source="forms", now=now)
        services.publish("form.submitted", person=ann, payload={"form": "other"}, source="forms", now=now)
    drive(now)
    assert subjects_to(smtp_server, "ann@example.com") == ["brew-guide for Ann"]
    assert len(smtp_server.messages) == 3  # the "other" form starts nothing

    click("brew-guide", ann, GRINDERS, now=now + datetime.timedelta(hours=5))
    with django_capture_on_commit_callbacks(execute=True):
        services.publish("purchase.completed", person=cat, payload={"amount": 42.5}, source="shop", now=now + DAY)
    drive(now + DAY)
    assert len(smtp_server.messages) == 3  # nothing due before two days

    drive(now + 2 * DAY)
    assert subjects_to(smtp_server, "ann@example.com") == ["brew-guide for Ann", "grinder-offer for Ann"]
    assert subjects_to(smtp_server, "bob@example.com") == ["brew-guide for Bob", "brew-tips for Bob"]
    assert subjects_to(smtp_server, "cat@example.com") == ["brew-guide for Cat"]
    runs = {r.contact_id: r for r in JourneyRun.objects.filter(journey=brew_better)}
    assert runs[ann.pk].state == runs[bob.pk].state == JourneyRun.State.DONE
    assert runs[cat.pk].state == JourneyRun.State.EXITED
    assert runs[cat.pk].exit_reason == {"code": "exit_trigger", "key": "purchase.completed",
                                        "event": runs[cat.pk].exit_reason["event"]}
    assert [step["text"] for step in explain(runs[cat.pk])][-1] == "exited: purchase.completed"


@pytest.fixture
def re_engagement(journey_of, published_email, now):
    lapsed = Segment(name="No purchase in 60 days", refresh_mode=Segment.RefreshMode.DAILY, query={
        "version": 1, "match": "all", "conditions": [
            {"type": "behavior", "interaction": "purchase", "count": {"op": "exactly", "value": 0},
             "window": {"last_days": 60}}]})
    segments.save_segment(lapsed, now=now)
    for key in ("we-miss-you", "discount-offer", "second-reminder"):
        published_email(key)
    return lapsed, journey_of("reminder", {
        "reminder": {"type": "send_email", "email": "we-miss-you", "next": "five_days"},
        "five_days": {"type": "wait", "days": 5, "next": "opened"},
        "opened": {"type": "interaction_branch", "name": "Opened", "tile": "reminder", "interaction": "opened",
                   "yes": "discount", "no": "again"},
        "discount": {"type": "send_email", "email": "discount-offer", "next": EXIT},
        "again": {"type": "send_email", "email": "second-reminder", "next": EXIT},
    }, name="Re-engagement", entry_segment=lapsed, exit_trigger="purchase.completed")


def test_re_engagement_from_a_segment(re_engagement, subscribed, smtp_server, now,
                                      django_assert_max_num_queries, django_capture_on_commit_callbacks):
    """Segment "no purchase in 60 days" (one-time) → reminder → 5 days → opened? discount : second
    reminder; a purchase exits."""
    lapsed, journey = re_engagement
    ann, bob, cat, dan = (subscribed(email=f"{n}@example.com", first_name=n.title())
                          for n in ("ann", "bob", "cat", "dan"))
    InteractionFactory(contact=cat, type="purchase", occurred_at=now - 10 * DAY)
    segments.refresh(lapsed, now=now)
    with django_assert_max_num_queries(20):  # one INSERT … SELECT, however many members
        services.go_live(journey, now=now)
    assert set(JourneyRun.objects.filter(journey=journey).values_list("contact", flat=True)) == {ann.pk, bob.pk, dan.pk}
    drive(now)
    assert sorted(m["To"] for m in smtp_server.messages) == ["ann@example.com", "bob@example.com", "dan@example.com"]

    feedback.record_open(Delivery.objects.get(contact=ann).pk, now=now + DAY)
    with django_capture_on_commit_callbacks(execute=True):
        services.publish("purchase.completed", person=dan, payload={"amount": 12}, source="shop", now=now + 2 * DAY)
    drive(now + 5 * DAY)
    assert subjects_to(smtp_server, "ann@example.com")[-1] == "discount-offer for Ann"
    assert subjects_to(smtp_server, "bob@example.com")[-1] == "second-reminder for Bob"
    assert subjects_to(smtp_server, "dan@example.com") == ["we-miss-you for Dan"]
    assert services.new_version(journey, now=now + 6 * DAY, move_runs=True).number == 2
    assert JourneyRun.objects.filter(journey=journey).count() == 3  # one-time: nobody enters twice


def test_opportunity_won_creates_a_call_task_for_people_who_clicked(
        journey_of, published_email, subscribed, sales_user, smtp_server, now, django_capture_on_commit_callbacks):
    """Opportunity won → only if status = Won → clicked a previous email? create a phone call task : end."""
    clicked = {"version": 1, "match": "all", "conditions": [
        {"type": "behavior", "interaction": "email_clicked", "count": {"op": "at_least", "value": 1}}]}
    won = {"version": 1, "match": "all", "conditions": [
        {"type": "attribute", "field": "trigger.status", "op": "equals", "value": "won"}]}
    journey = journey_of("won", {
        "won": {"type": "attribute_branch", "branches": [{"name": "Won", "conditions": won, "next": "clicked"}],
                "other": EXIT},
        "clicked": {"type": "attribute_branch", "other": EXIT,
                    "branches": [{"name": "Clicked before", "conditions": clicked, "next": "call"}]},
        "call": {"type": "create_task", "subject": "Phone call: congratulate", "user": sales_user.pk,
                 "due_in": {"days": 1}, "next": EXIT},
    }, name="Opportunity won", entry_trigger="opportunity.won", re_entry="any_time")
    services.go_live(journey, now=now)
    newsletter = published_email("newsletter", links=[("Read", "https://contoso.test/read")])
    ann, bob = subscribed(email="ann@example.com"), subscribed(email="bob@example.com")
    for person in (ann, bob):
        channels.queue_email(newsletter, person=person, idempotency_key=f"news:{person.pk}", context={}, now=now)
    channels.send_queued(now=now)
    assert len(smtp_server.messages) == 2
    click("newsletter", ann, "https://contoso.test/read", now=now)

    with django_capture_on_commit_callbacks(execute=True):
        for person in (ann, bob):
            opportunity = OpportunityFactory(contact=person, status="won")
            services.publish("opportunity.won", person=person, source="crm", now=now + DAY,
                             payload={"opportunity": opportunity.pk, "status": "won"})
        services.publish("opportunity.won", person=ann, source="crm", now=now + DAY,
                         payload={"opportunity": opportunity.pk, "status": "lost"})
    task = Task.objects.get()
    assert (task.contact, task.assigned_to, task.subject, task.due_at) == (
        ann, sales_user, "Phone call: congratulate", now + 2 * DAY)
    texts = {r.contact_id: [s["text"] for s in explain(r)] for r in JourneyRun.objects.filter(journey=journey)
             .order_by("id")}
    assert texts[bob.pk] == ["entered: opportunity.won", "branch Won: yes", "branch Other: other", "finished"]
    assert JourneyRun.objects.filter(journey=journey, state=JourneyRun.State.DONE).count() == 3
