"""The journey builder in a real browser: a marketer builds "Brew Better at Home" (form submitted →
guide → wait 2 days → clicked Shop Grinders? grinder offer : brew tips; exit on purchase) and the
re-engagement segment journey only by clicking and typing, takes them live, and the engine sends
real email into an SMTP server on loopback. Screenshots of the canvas go to var/screenshots/."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from channels import services as channels
from contacts import services as people
from journeys import services
from journeys.engine import advance_due_runs
from journeys.models import Journey, JourneyRun
from segments import services as segments
from segments.models import Segment
from tests.browser.conftest import SCREENSHOTS
from tests.channels.conftest import brand, fresh_render_cache, make_email, sender, smtp_server  # noqa: F401
from tests.factories import ContactFactory, InteractionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
GRINDERS = "https://contoso.test/grinders"


@pytest.fixture
def coffee(marketer, make_email):  # noqa: F811
    """Maria the marketer, the journey's published emails and two subscribed customers."""
    marketer.first_name, marketer.last_name = "Maria", "Marketer"
    marketer.save()
    now = timezone.now()

    def publish(key, links=()):
        anchors = " ".join(f'<a href="{url}">{label}</a>' for label, url in links)
        email = make_email(name=key.replace("-", " ").title(), key=key,
                           subject=f"{key} for {{{{ contact.first_name }}}}",
                           blocks=[{"type": "heading", "text": key}, {"type": "text", "html": f"<p>Hi. {anchors}</p>"}])
        channels.publish(email, now=now)

    publish("brew-guide", links=[("Shop Grinders", GRINDERS), ("Beans", "https://contoso.test/beans")])
    for key in ("grinder-offer", "brew-tips", "we-miss-you", "discount-offer", "second-reminder"):
        publish(key)
    customers = []
    for name in ("ann", "bob"):
        contact = ContactFactory(email=f"{name}@example.com", first_name=name.title())
        people.set_consent(contact, channel="email", status="opted_in", now=now)
        customers.append(contact)
    return customers


def screenshot_dir():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def log_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill("marketer")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Welcome back, Maria")).to_be_visible()


def settle(page: Page) -> None:
    """Wait until htmx has sent every request and swapped every answer in."""
    page.wait_for_timeout(450)  # a typed value is saved after a 400 ms pause
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def panel(page: Page):
    return page.locator("#panel")


def add_tile(page: Page, where: str, kind: str) -> None:
    """Click the "+" on a connector (named by its label) and pick a tile kind from the palette."""
    page.get_by_role("link", name=f"Add a tile {where}", exact=True).click()
    heading = re.compile("^" + re.escape(where[0].upper() + where[1:]))
    expect(panel(page).get_by_role("heading", name=heading)).to_be_visible()
    panel(page).locator(f'button[data-kind="{kind}"]').click()
    expect(page.locator("#tile-form")).to_be_visible()
    settle(page)


def fill(page: Page, label: str, text: str) -> None:
    field = panel(page).get_by_label(label, exact=True)
    field.fill(text)
    field.press("Tab")
    settle(page)


def choose(page: Page, label: str, option: str) -> None:
    panel(page).get_by_label(label, exact=True).select_option(label=option)
    settle(page)


UNLABELLED = """() => Array.from(document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea'))
  .filter(el => el.offsetParent !== null && el.getAttribute('aria-hidden') !== 'true')
  .filter(el => {
    const labels = el.labels ? Array.from(el.labels).map(l => l.textContent).join('') : '';
    const own = ['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName) ? '' : el.textContent;
    return !(el.getAttribute('aria-label') || labels || own || el.getAttribute('title') || '').trim();
  })
  .map(el => el.outerHTML.slice(0, 160))"""


def assert_labelled(page: Page) -> None:
    """Every visible control has an accessible name (a label, aria-label, text or title)."""
    assert page.evaluate(UNLABELLED) == []


def drive(at):
    """One beat of the clock: the journey tick, then the email sender."""
    advance_due_runs(now=at, limit=500)
    channels.send_queued(now=at)


def canvas_shots(page: Page, screenshot, name: str) -> None:
    """The canvas at 1440×900 and at 390×844 (after the sidebar's slide-away transition)."""
    for size, suffix, full in ((DESKTOP, "1440", False), (PHONE, "390", True)):
        page.set_viewport_size(size)
        page.reload()  # as a phone would load it: the canvas centred on its first column
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page overflows"
        screenshot(f"{name}-{suffix}", full_page=full)
    page.set_viewport_size(DESKTOP)


def close_panel(page: Page) -> None:
    panel(page).get_by_role("link", name="Close the panel").click()
    expect(panel(page).get_by_role("heading", name="Overview")).to_be_visible()


def test_marketer_builds_brew_better_at_home_and_the_guide_arrives(page: Page, live_server, coffee, smtp_server,  # noqa: F811
                                                                   screenshot):
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/journeys/")
    page.get_by_role("link", name="New journey").click()
    screenshot("journeys-new-1440", full_page=False)
    page.get_by_label("Name").fill("Brew Better at Home")
    page.get_by_label("Trigger-based: starts when something happens").check()
    page.get_by_label("Trigger", exact=True).select_option("form.submitted")
    page.get_by_role("button", name="Create and open the canvas").click()
    expect(page.get_by_role("heading", name="Brew Better at Home", level=1)).to_be_visible()
    expect(page.locator(".jc-end")).to_have_count(1)

    # Entry conditions: only the Brew Better form (the segment condition editor, with trigger fields).
    console_errors = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.locator("#tile-entry a").click()
    expect(panel(page).get_by_role("heading", name="Entry")).to_be_visible()
    panel(page).get_by_role("button", name="Add condition").click()
    settle(page)
    condition = panel(page).locator('.qcond[data-path="r.0"]')
    condition.get_by_label("Field").select_option(label="Trigger: form")
    settle(page)
    condition.get_by_label("Value").fill("brew-better")
    condition.get_by_label("Value").press("Tab")
    settle(page)
    expect(panel(page).locator(".jp-sentence")).to_contain_text("brew-better")
    expect(panel(page).locator("#conditions-unsaved")).to_be_visible()  # edits wait for Save entry
    assert not [text for text in console_errors if "oobErrorNoTarget" in text], console_errors
    assert_labelled(page)
    page.screenshot(path=str(screenshot_dir() / "journey-entry-unsaved-1440.png"))
    panel(page).get_by_role("button", name="Save entry").click()
    expect(page.locator(".jb-notice")).to_contain_text("Entry saved.")
    expect(panel(page).locator("#conditions-unsaved")).to_have_count(0)
    expect(panel(page).locator(".jp-sentence")).to_contain_text("brew-better")

    assert_labelled(page)

    # The first tile, by keyboard: the "+" and the palette are links and buttons.
    page.get_by_role("link", name="Add a tile at the start", exact=True).focus()
    page.keyboard.press("Enter")
    expect(panel(page).get_by_role("heading", name="At the start")).to_be_focused()
    assert_labelled(page)
    page.screenshot(path=str(screenshot_dir() / "journey-palette-1440.png"))
    panel(page).locator('button[data-kind="send_email"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("#tile-form")).to_be_visible()
    settle(page)
    fill(page, "Label", "Send the guide")
    choose(page, "Email", "Brew Guide")
    expect(page.locator("#tile-send_email .jc-summary")).to_have_text("Brew Guide")

    add_tile(page, "after Send the guide", "wait")
    fill(page, "Days", "2")
    expect(page.locator("#tile-wait .jc-summary")).to_have_text("for 2 days")

    add_tile(page, "after Wait", "interaction_branch")
    fill(page, "Label", "Clicked Shop Grinders")
    choose(page, "Email tile", "Send the guide")
    choose(page, "Interaction", "Clicked")
    fill(page, "Link URL (clicks only)", GRINDERS)
    expect(page.locator("#tile-interaction_branch .jc-summary")).to_contain_text("clicked")
    assert_labelled(page)
    page.screenshot(path=str(screenshot_dir() / "journey-tile-panel-1440.png"))

    add_tile(page, "after Clicked Shop Grinders, path Yes", "send_email")
    fill(page, "Label", "Grinder offer")
    choose(page, "Email", "Grinder Offer")
    expect(page.locator("#tile-send_email_2 .jc-summary")).to_have_text("Grinder Offer")
    add_tile(page, "after Clicked Shop Grinders, path No", "send_email")
    fill(page, "Label", "Brew tips")
    choose(page, "Email", "Brew Tips")
    expect(page.locator("#tile-send_email_3 .jc-summary")).to_have_text("Brew Tips")

    # Exit early when they buy.
    page.get_by_role("link", name="Settings").click()
    expect(panel(page).get_by_role("heading", name="Settings")).to_be_visible()
    panel(page).get_by_label("Exit when this happens").select_option("purchase.completed")
    panel(page).get_by_role("button", name="Save settings").click()
    expect(page.locator(".jb-notice")).to_contain_text("Journey settings saved")
    expect(page.locator(".jc-card.has-error")).to_have_count(0)
    expect(page.locator(".jb-meta")).to_contain_text("Ready to go live")
    assert_labelled(page)
    close_panel(page)
    canvas_shots(page, screenshot, "journey-brew-canvas")

    # Test mode: Ann clicks Shop Grinders five hours in; the path runs to the grinder offer.
    page.get_by_role("link", name="Test", exact=True).click()
    panel(page).get_by_label("Test contact (email)").fill("ann@example.com")
    panel(page).get_by_label("Trigger data: form", exact=True).fill("brew-better")
    panel(page).get_by_label("Step 1: hours").fill("5")
    panel(page).get_by_label("Step 1: what happens").select_option("clicked")
    panel(page).get_by_label("Step 1: email tile").select_option(label="Send the guide · Brew Guide")
    panel(page).get_by_label("Step 1: link (clicks)").fill(GRINDERS)
    assert_labelled(page)
    panel(page).get_by_role("button", name="Run test").click()
    expect(page.locator("#test-path")).to_contain_text("sent email grinder-offer")
    expect(page.locator("#tile-send_email_2")).to_have_class(re.compile("on-path"))
    expect(page.locator("#tile-send_email_3")).not_to_have_class(re.compile("on-path"))
    page.screenshot(path=str(screenshot_dir() / "journey-brew-test-1440.png"))
    assert not smtp_server.messages  # test mode sends nothing

    page.get_by_role("button", name="Go live").click()
    expect(page.locator(".jb-notice")).to_contain_text("is live (version 1)")
    journey = Journey.objects.get(name="Brew Better at Home")
    assert journey.status == Journey.Status.LIVE
    assert journey.tiles["tiles"]["interaction_branch"]["link"] == GRINDERS

    ann, bob = coffee
    now = timezone.now()
    services.publish("form.submitted", person=ann, payload={"form": "brew-better"}, source="forms", now=now)
    services.publish("form.submitted", person=bob, payload={"form": "other"}, source="forms", now=now)
    drive(now)
    assert [(m["To"], m["Subject"]) for m in smtp_server.messages] == [("ann@example.com", "brew-guide for Ann")]

    # The live view: figures on the tiles, the people waiting, one person's explained path.
    page.reload()
    expect(page.locator("#tile-wait .jc-figures")).to_contain_text("1")
    page.locator("#tile-wait a.jc-card-link").click()
    expect(panel(page).get_by_role("heading", name="People here now")).to_be_visible()
    panel(page).locator("#people-here").get_by_role("link", name=re.compile("Ann")).click()
    expect(page.locator("#run-path")).to_contain_text("entered: form.submitted")
    expect(page.locator("#run-path")).to_contain_text("sent email brew-guide")
    canvas_shots(page, screenshot, "journey-brew-live")

    page.goto(f"{live_server.url}/journeys/")
    expect(page.locator("#journey-rows tbody tr")).to_have_count(1)
    expect(page.locator("#journey-rows tbody tr")).to_contain_text("Live")
    screenshot("journeys-list-1440", full_page=False)


def test_marketer_builds_the_re_engagement_segment_journey(page: Page, live_server, coffee, smtp_server,  # noqa: F811
                                                           screenshot):
    now = timezone.now()
    ann, bob = coffee
    lapsed = Segment(name="No purchase in 60 days", query={"version": 1, "match": "all", "conditions": [
        {"type": "behavior", "interaction": "purchase", "count": {"op": "exactly", "value": 0},
         "window": {"last_days": 60}}]})
    segments.save_segment(lapsed, now=now)
    InteractionFactory(contact=bob, type="purchase", occurred_at=now - datetime.timedelta(days=3))
    segments.refresh(lapsed, now=now)

    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/journeys/new/")
    page.get_by_label("Name").fill("Re-engagement")
    page.get_by_label("Segment-based: members of a segment enter").check()
    page.get_by_label("Segment", exact=True).select_option(label="No purchase in 60 days")
    page.get_by_label("Mode").select_option("one_time")
    page.get_by_role("button", name="Create and open the canvas").click()
    expect(page.get_by_role("heading", name="Re-engagement", level=1)).to_be_visible()

    add_tile(page, "at the start", "send_email")
    choose(page, "Email", "We Miss You")
    add_tile(page, "after Send email", "wait")
    fill(page, "Days", "5")
    add_tile(page, "after Wait", "interaction_branch")
    fill(page, "Label", "Opened?")
    choose(page, "Email tile", "Send email")
    choose(page, "Interaction", "Opened")
    add_tile(page, "after Opened?, path Yes", "send_email")
    choose(page, "Email", "Discount Offer")
    add_tile(page, "after Opened?, path No", "send_email")
    choose(page, "Email", "Second Reminder")
    expect(page.locator("#tile-send_email_3 .jc-summary")).to_have_text("Second Reminder")

    # Undo takes back the last change (the second reminder's email), and it can be chosen again.
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("#tile-send_email_3 .jc-summary")).to_have_text("Choose an email")
    page.locator("#tile-send_email_3 a.jc-card-link").click()
    expect(page.locator("#tile-send_email_3")).to_have_class(re.compile("is-selected"))
    choose(page, "Email", "Second Reminder")
    expect(page.locator("#tile-send_email_3 .jc-summary")).to_have_text("Second Reminder")
    expect(page.locator(".jb-meta")).to_contain_text("Ready to go live")

    page.get_by_role("link", name="Settings").click()
    panel(page).get_by_label("Exit when this happens").select_option("purchase.completed")
    panel(page).get_by_role("button", name="Save settings").click()
    expect(page.locator(".jb-notice")).to_contain_text("Journey settings saved")
    close_panel(page)
    canvas_shots(page, screenshot, "journey-reengagement-canvas")

    # On a phone the side panel sits under the canvas.
    page.set_viewport_size(PHONE)
    page.locator("#tile-wait a.jc-card-link").click()
    expect(panel(page).get_by_role("heading", name="Wait")).to_be_visible()
    panel(page).scroll_into_view_if_needed()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot("journey-tile-panel-390", full_page=False)
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="Go live").click()
    expect(page.locator(".jb-notice")).to_contain_text("is live")
    journey = Journey.objects.get(name="Re-engagement")
    assert list(JourneyRun.objects.filter(journey=journey).values_list("contact", flat=True)) == [ann.pk]
    drive(timezone.now())
    assert [(m["To"], m["Subject"]) for m in smtp_server.messages] == [("ann@example.com", "we-miss-you for Ann")]


def test_a_live_journeys_entry_is_read_only_and_the_designer_offers_one_tables_fields(
        page: Page, live_server, coffee, screenshot):
    journey = Journey.objects.create(name="Brew Better at Home", entry_trigger="form.submitted", tiles={
        "start": "guide", "tiles": {"guide": {"type": "send_email", "email": "brew-guide", "next": "exit"}}})
    services.go_live(journey, now=timezone.now())
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url)

    page.goto(f"{live_server.url}/journeys/{journey.pk}/?panel=entry&view=edit")
    expect(panel(page).locator("#entry-locked")).to_have_text(
        "Entry of a live journey cannot change; clone it to start people differently.")
    expect(panel(page).get_by_label("Trigger", exact=True)).to_be_disabled()
    expect(page.locator(".jb-meta")).to_contain_text("No changes since version 1")
    expect(page.get_by_role("link", name="Publish new version")).to_have_count(0)
    panel(page).get_by_label("Name").fill("Brew Better at Home (2026)")
    panel(page).get_by_role("button", name="Save name and description").click()
    expect(page.locator(".jb-notice")).to_contain_text("Name and description saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Brew Better at Home (2026)")
    assert_labelled(page)
    page.screenshot(path=str(screenshot_dir() / "journey-live-entry-1440.png"))

    page.get_by_role("link", name="Settings").click()
    expect(panel(page).locator("#settings-live")).to_have_text("Changes apply at once to everyone in this journey.")

    page.goto(f"{live_server.url}/triggers/custom/new/")
    groups = page.locator("#id_record_field optgroup")
    expect(groups).to_have_count(4)
    page.locator("#id_record_table").select_option("lead")
    visible = page.evaluate("Array.from(document.querySelectorAll('#id_record_field optgroup'))"
                            ".filter(g => !g.hidden).map(g => g.label)")
    assert visible == ["Lead"]
    page.locator("#id_record_field").select_option("lead.email")
    page.locator("#id_record_table").select_option("opportunity")
    assert page.locator("#id_record_field").input_value() == ""  # a lead field does not stay chosen
    assert_labelled(page)
    page.get_by_label("Attribute 1", exact=True).scroll_into_view_if_needed()
    screenshot("triggers-designer-record-fields", full_page=False)
