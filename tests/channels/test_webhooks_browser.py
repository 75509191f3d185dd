"""The webhook pages in a real browser: create an endpoint, copy its secret, send a test event and
see it delivered in the log (Playwright with Debian chromium, as in tests/browser)."""

import pytest
from playwright.sync_api import Page, expect

from channels.models import WebhookEndpoint
from tests.browser import conftest as browser
from tests.channels import webhook_receiver
from tests.channels.webhook_receiver import verify
from tests.factories import ContactFactory

NO_CHROMIUM = "Debian chromium is not installed (apt-get install chromium)"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not browser.CHROMIUM, reason=NO_CHROMIUM)]
receiver = webhook_receiver.receiver  # the fixtures
browser_type_launch_args, screenshot = browser.browser_type_launch_args, browser.screenshot


def test_marketer_creates_an_endpoint_and_sends_a_test_event(page: Page, live_server, marketer, receiver, screenshot):
    ContactFactory(first_name="Ada", last_name="Lovelace", email="ada@engines.example")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("marketer")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/webhooks/")
    page.get_by_role("link", name="New endpoint").click()
    page.get_by_label("Name").fill("CRM sync")
    page.get_by_label("URL").fill("http://169.254.169.254/latest/meta-data/")
    page.get_by_role("button", name="Create endpoint").click()
    expect(page.locator(".field.has-error")).to_contain_text("link-local address")
    screenshot("webhook-form-refused")
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_role("button", name="Create endpoint").click()
    endpoint = WebhookEndpoint.objects.get()
    expect(page.locator("#new-secret")).to_contain_text(endpoint.secret)
    page.get_by_label("About the person").fill("ada@engines.example")
    page.get_by_role("button", name="Send test event").click()
    row = page.locator("#delivery-rows tbody tr").first
    expect(row).to_contain_text("webhook.test")
    expect(row).to_contain_text("Delivered")
    expect(row).to_contain_text("HTTP 200")
    expect(page.locator("#new-secret")).to_have_count(0)  # the secret was shown once
    (request,) = receiver.requests
    assert verify(endpoint.secret, request["headers"], request["body"],
                  now_ts=int(request["headers"]["webhook-timestamp"]))
    receiver.reply(503, headers={"Retry-After": "600"}, body="maintenance")
    page.get_by_label("About the person").fill("ada@engines.example")
    page.get_by_role("button", name="Send test event").click()
    row = page.locator("#delivery-rows tbody tr").first
    expect(row).to_contain_text("Retrying")
    expect(row).to_contain_text("HTTP 503")
    expect(row.get_by_role("button", name="Retry now")).to_be_visible()
    screenshot("webhook-detail")
    page.goto(f"{live_server.url}/webhooks/")
    expect(page.locator("#endpoint-rows")).to_contain_text("CRM sync")
    screenshot("webhook-list")
