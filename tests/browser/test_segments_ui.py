"""The segment builder in a real browser: a marketer builds "contacts in Texas who bought cold brew
in the last 90 days" by clicking, watches the count and the sentence follow, saves, and reads the
segment page with its members and trend chart."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from contacts.models import Topic
from segments import services
from segments.models import Segment
from tests.factories import AccountFactory, ContactFactory, InteractionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
DAY = datetime.timedelta(days=1)


@pytest.fixture
def coffee_shop(marketer):
    """Texans and others, some of whom bought cold brew recently, long ago, or something else."""
    marketer.first_name, marketer.last_name = "Maria", "Marketer"
    marketer.save()
    now = timezone.now()
    people = [
        ("Ada", "Lovelace", "Texas", [("cold brew", 5)]),
        ("Grace", "Hopper", "Texas", [("cold brew", 40), ("espresso", 2)]),
        ("Alan", "Turing", "Texas", [("cold brew", 89)]),
        ("Katherine", "Johnson", "Texas", [("cold brew", 120)]),  # too long ago
        ("Edsger", "Dijkstra", "Texas", [("espresso", 3)]),  # something else
        ("Barbara", "Liskov", "Ohio", [("cold brew", 3)]),  # elsewhere
        ("Donald", "Knuth", "Texas", []),
        ("Margaret", "Hamilton", "California", [("cold brew", 10)]),
    ]
    for first, last, state, purchases in people:
        contact = ContactFactory(first_name=first, last_name=last, email=f"{first.lower()}@example.com", state=state,
                                 city="Austin" if state == "Texas" else "", account=AccountFactory(name=f"{last} & Co"))
        for product, days_ago in purchases:
            InteractionFactory(contact=contact, type="purchase", product=product, amount="4.50",
                               occurred_at=now - days_ago * DAY)
    # A segment with a history, so the list and the chart have something to show.
    loyal = services.save_segment(Segment(name="Austin regulars", description="Everyone in Austin", query={
        "version": 1, "match": "all", "conditions": [
            {"type": "attribute", "field": "city", "op": "equals", "value": "Austin"}]},
        refresh_mode="continuous", created_by=marketer), now=now)
    services.refresh(loyal, now=now - 20 * DAY)
    services.refresh(loyal, now=now)
    services.save_segment(Segment(name="VIP list", kind="static"), now=now)


@pytest.fixture
def shot(page, screenshot):
    """A full-page screenshot taken from the top, so the sticky bars sit where they belong."""
    def take(name: str, *, full_page: bool = True, at: str | None = None):
        if at:  # a phone-sized view of one part of the page, floating bars where a thumb sees them
            page.locator(at).scroll_into_view_if_needed()
        else:
            page.evaluate("window.scrollTo(0, 0)")
        return screenshot(name, full_page=full_page)
    return take


def log_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill("marketer")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Welcome back, Maria")).to_be_visible()


def settle(page: Page) -> None:
    """Wait until htmx has swapped its answer in (the builder re-renders after every change)."""
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def type_and_enter(field, text: str) -> None:
    field.fill(text)
    field.press("Enter")  # the builder's default button: update the preview, never save


def builder_round_trip(page: Page, action) -> None:
    with page.expect_response(lambda r: "/segments/new/" in r.url and r.request.method == "POST"):
        action()
    settle(page)


def test_marketer_builds_a_segment_by_clicking_and_reads_its_page(page: Page, live_server, coffee_shop, shot):
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url)
    page.get_by_role("complementary", name="Main navigation").get_by_role("link", name="Segments").click()
    expect(page.get_by_role("heading", name="Segments", exact=True)).to_be_visible()
    expect(page.locator("#segment-rows tbody tr")).to_have_count(2)
    shot("segments-list-desktop")

    page.get_by_text("New segment").click()
    shot("segments-new-menu-desktop", full_page=False)
    page.get_by_role("link", name=re.compile("Dynamic segment of contacts")).click()
    expect(page.get_by_role("heading", name="New dynamic segment of contacts")).to_be_visible()
    page.get_by_role("textbox", name="Name", exact=True).fill("Texas cold brew buyers")
    expect(page.locator("#preview-count")).to_contain_text("8")  # no conditions: everyone
    shot("segments-builder-empty-desktop")

    # State / region is Texas
    builder_round_trip(page, lambda: page.get_by_role("button", name="Add condition").click())
    first = page.locator('.qcond[data-path="r.0"]')
    builder_round_trip(page, lambda: first.get_by_label("Field").select_option(label="State / region"))
    expect(page.locator("#preview-count")).to_contain_text("Fix 1 problem")
    expect(first).to_contain_text("Enter a value.")
    builder_round_trip(page, lambda: type_and_enter(first.get_by_label("Value"), "Texas"))
    expect(page.locator("#preview-count strong")).to_have_text("6")
    expect(page.locator("#sentence")).to_contain_text('Contacts whose State / region is "Texas"')

    # … who made a purchase where Product is "cold brew" in the last 90 days
    builder_round_trip(page, lambda: page.get_by_role("button", name="Add condition").last.click())
    second = page.locator('.qcond[data-path="r.1"]')
    builder_round_trip(page, lambda: second.get_by_label("Condition type").select_option(label="Activity"))
    expect(second.get_by_label("Activity")).to_have_value("purchase")
    expect(page.locator("#preview-count strong")).to_have_text("5")
    builder_round_trip(page, lambda: second.get_by_role("button", name="Add filter").click())
    builder_round_trip(page, lambda: type_and_enter(second.get_by_label("Value"), "cold brew"))
    expect(page.locator("#preview-count strong")).to_have_text("4")
    builder_round_trip(page, lambda: second.get_by_label("When").select_option("last"))
    builder_round_trip(page, lambda: type_and_enter(second.get_by_label("Days"), "90"))
    expect(page.locator("#preview-count strong")).to_have_text("3")
    expect(page.locator("#sentence")).to_have_text(re.compile(
        r'Contacts whose State / region is "Texas" and who made a purchase where Product is "cold brew" '
        r"at least once in the last 90 days"))
    expect(page.locator("#sample li")).to_have_count(3)
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value("Texas cold brew buyers")  # not saved
    shot("segments-builder-desktop")

    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_role("heading", name=re.compile("Texas cold brew buyers"))).to_be_visible()
    expect(page.locator(".flash-success")).to_contain_text("saved and refreshed: 3 members")
    expect(page.locator("#segment-sentence")).to_contain_text('where Product is "cold brew"')
    expect(page.locator("#member-rows tbody tr")).to_have_count(3)
    for name in ("Ada Lovelace", "Grace Hopper", "Alan Turing"):
        expect(page.locator("#member-rows")).to_contain_text(name)
    chart = page.evaluate("() => { const c = Chart.getChart(document.getElementById('trend-chart'));"
                          " return {points: c.data.labels.length, members: c.data.datasets[0].data.at(-1)}; }")
    assert chart == {"points": 30, "members": 3}
    shot("segments-detail-desktop")

    page.get_by_label("Search members").fill("hopper")  # live search swaps only the rows
    expect(page.locator("#member-rows tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"\?.*q=hopper"))

    page.set_viewport_size(PHONE)
    page.goto(page.url.split("?")[0])
    expect(page.locator("#member-rows tbody tr")).to_have_count(3)
    shot("segments-detail-phone")
    page.get_by_role("link", name="Edit query").click()
    expect(page.locator('.qcond[data-path="r.1"]')).to_be_visible()
    shot("segments-builder-phone", full_page=False, at='.qcond[data-path="r.1"]')
    expect(page.locator(".preview-mini strong")).to_have_text("3")
    page.goto(f"{live_server.url}/segments/")
    shot("segments-list-phone")


def test_broken_query_is_kept_as_a_draft_and_shown_so(page: Page, live_server, coffee_shop, shot):
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/segments/new/?kind=dynamic&audience=contact")
    page.get_by_role("textbox", name="Name", exact=True).fill("Half-built")
    builder_round_trip(page, lambda: page.get_by_role("button", name="Add condition").click())
    condition = page.locator('.qcond[data-path="r.0"]')
    builder_round_trip(page, lambda: condition.get_by_label("Field").select_option(label="Created"))
    expect(condition).to_contain_text("Enter a number of days.")
    shot("segments-builder-errors-desktop")
    page.get_by_role("button", name="Save segment").click()
    expect(page.locator(".form-errors")).to_contain_text("Not saved")
    expect(page.locator('.qcond[data-path="r.0"]')).to_contain_text("Enter a number of days.")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.locator(".flash-warning").first).to_contain_text("saved as a draft")
    expect(page.get_by_text("Draft", exact=True).first).to_be_visible()
    shot("segments-draft-desktop")


def test_every_kind_of_condition_is_shown_and_editable(page: Page, live_server, coffee_shop, shot):
    now = timezone.now()
    Topic.objects.create(key="newsletter", name="Newsletter")
    austin = Segment.objects.get(name="Austin regulars")
    query = {"version": 1, "match": "all", "conditions": [
        {"type": "attribute", "field": "state", "op": "in", "value": ["Texas", "Ohio"]},
        {"type": "attribute", "field": "created_at", "op": "between", "value": ["2020-01-01", "2030-12-31"]},
        {"type": "group", "match": "any", "conditions": [
            {"type": "consent", "channel": "email", "topic": "newsletter", "state": "opted_in"},
            {"type": "segment", "op": "in", "segment": austin.pk},
        ]},
        {"type": "related", "relation": "opportunities", "exists": False,
         "where": [{"field": "status", "op": "equals", "value": "won"}]},
        {"type": "behavior", "interaction": "email_clicked", "count": {"op": "at_least", "value": 2},
         "window": {"from": "2026-01-01", "to": "2026-12-31"},
         "where": [{"field": "properties.campaign", "op": "starts_with", "value": "spring"}]},
    ]}
    seg = services.save_segment(Segment(name="Everything at once", query=query), now=now)
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/segments/{seg.pk}/edit/")
    expect(page.locator(".qcond")).to_have_count(6)
    expect(page.locator('.qgroup-nested[data-path="r.2"]')).to_be_visible()
    expect(page.locator("#sentence")).to_contain_text(
        '(who opted in to Email for "Newsletter" or who are in the segment "Austin regulars")')
    shot("segments-builder-all-kinds-desktop")
    group = page.locator('.qgroup-nested[data-path="r.2"]')
    with page.expect_response(lambda r: "/edit/" in r.url):
        group.get_by_role("button", name="Remove this group").click()
    expect(page.locator(".qcond")).to_have_count(4)
    page.set_viewport_size(PHONE)
    expect(page.locator(".sidebar")).not_to_be_in_viewport()  # slid away once the window is narrow
    shot("segments-builder-all-kinds-phone", full_page=False, at='.qcond[data-path="r.2"]')


def test_static_list_takes_pasted_emails(page: Page, live_server, coffee_shop, shot):
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/segments/")
    page.get_by_role("link", name="VIP list").click()
    page.get_by_label("Email addresses").fill("ada@example.com, GRACE@example.com\nnobody@example.com")
    page.get_by_role("button", name="Add to the list").click()
    expect(page.locator(".flash-success")).to_contain_text("Added 2 contacts")
    expect(page.locator(".flash-warning")).to_contain_text("nobody@example.com")
    expect(page.locator("#member-rows tbody tr")).to_have_count(2)
    shot("segments-static-desktop")
    page.locator("#member-rows tbody tr").filter(has_text="Ada Lovelace").get_by_role("button").click()
    expect(page.locator("#member-rows tbody tr")).to_have_count(1)
    page.set_viewport_size(PHONE)
    expect(page.locator(".sidebar")).not_to_be_in_viewport()
    shot("segments-static-phone")
