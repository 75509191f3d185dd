"""The trigger pages in a real browser: the catalog, designing a custom trigger, its page with the
curl example, firing a test event and watching it appear in the live list with the journey it started."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from journeys import services
from journeys.models import EXIT
from tests.browser.conftest import CHROMIUM, browser_type_launch_args, screenshot  # noqa: F401
from tests.factories import ContactFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not CHROMIUM, reason="Debian chromium is not installed (apt-get install chromium)")]


def log_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill("marketer")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")


def test_marketer_designs_a_trigger_fires_a_test_event_and_sees_it_start_a_journey(
        page: Page, live_server, marketer, journey_of, screenshot):  # noqa: F811
    ContactFactory(email="ada@example.com", first_name="Ada")
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/triggers/")
    expect(page.locator('[data-trigger="opportunity.won"]')).to_be_visible()
    screenshot("triggers-catalog")

    page.get_by_role("link", name="New custom trigger").click()
    page.get_by_label("Name").fill("Cart abandoned")
    page.get_by_label("Key").fill("basket.abandoned")
    page.locator("#id_attributes-0-name").fill("items")
    page.locator("#id_attributes-0-type").select_option("list")
    page.locator("#id_attributes-0-required").check()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("triggers-designer")
    page.get_by_role("button", name="Create trigger").click()
    expect(page.get_by_role("heading", name="Cart abandoned")).to_be_visible()
    expect(page.locator("#curl")).to_contain_text("/api/triggers/basket.abandoned/fire/")

    journey = journey_of("pause", {"pause": {"type": "wait", "hours": 1, "next": EXIT}}, name="Cart reminder",
                         entry_trigger="basket.abandoned")
    services.go_live(journey, now=timezone.now())
    page.get_by_label("Person's email").fill("ada@example.com")
    page.get_by_label("Payload").fill('{"email": "ada@example.com", "items": ["Cold brew kit"]}')
    screenshot("triggers-detail")
    page.get_by_role("button", name="Fire test event").click()
    row = page.locator("tr[data-event]").first
    expect(row).to_contain_text("Cold brew kit")
    expect(row).to_contain_text("Cart reminder")
    expect(row).to_contain_text("started")
    screenshot("triggers-events")
