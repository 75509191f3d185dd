"""The email designer in a real browser: build an email from blocks, watch the preview follow,
preview it as a contact at desktop and phone width, read the plain text, publish."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from channels import services
from channels.models import BrandProfile, Email, SenderProfile
from contacts import services as people
from tests.factories import ContactFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def studio(marketer):
    """A marketer with a sender and a brand profile, a contact to preview as, and one sent email."""
    marketer.first_name, marketer.last_name = "Maria", "Marketer"
    marketer.save()
    sender = SenderProfile.objects.create(name="Contoso news", from_name="Contoso Coffee",
                                          from_email="hello@contoso.test", reply_to="care@contoso.test")
    brand = BrandProfile.objects.create(name="Contoso", postal_address="1 Bean Street, Seattle, WA",
                                        footer_text="Contoso Coffee roasters", primary_color="#4f46e5")
    now = timezone.now()
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", email="ada@engines.example")
    people.set_consent(ada, channel="email", status="opted_in", now=now)
    welcome = Email.objects.create(name="Welcome", key="welcome", subject="Welcome aboard", sender=sender,
                                   brand=brand, blocks=[{"type": "heading", "text": "Welcome"}])
    services.publish(welcome, now=now)
    services.queue_email(welcome, person=ada, idempotency_key="welcome-ada", now=now)
    return ada


def log_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill("marketer")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Welcome back, Maria")).to_be_visible()


def add_block(page: Page, label: str, number: int):
    page.locator(".block-palette").get_by_role("button", name=label, exact=True).click()
    block = page.locator(f"#block-{number}")
    expect(block.locator(".block-form")).to_be_visible()  # a new block opens its form
    return block


def test_marketer_builds_previews_and_publishes_an_email(page: Page, live_server, studio, screenshot):
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/email/")
    expect(page.locator("#email-rows")).to_contain_text("Welcome")
    screenshot("email-list-desktop")

    page.get_by_role("link", name="New email").click()
    page.get_by_label("Name").fill("Spring launch")
    page.get_by_label("Subject").fill('Spring is here, {{ contact.first_name | default: "friend" }}')
    page.get_by_label("Preheader").fill("Cold brew is back")
    page.get_by_label("Sender").select_option(label="Contoso Coffee <hello@contoso.test>")
    page.get_by_label("Brand").select_option(label="Contoso")
    page.get_by_role("button", name="Create and design").click()
    expect(page.get_by_role("heading", name="Spring launch")).to_be_visible()
    expect(page.locator("#designer-blocks")).to_contain_text("No blocks yet")

    preview = page.frame_locator(".preview-iframe")
    heading = add_block(page, "Heading", 1)
    heading.get_by_label("Text").fill("Cold brew season")
    heading.get_by_role("button", name="Save block").click()
    expect(preview.get_by_text("Cold brew season")).to_be_visible()

    text = add_block(page, "Text", 2)
    text.get_by_label("Text", exact=True).fill(
        '<p>Hello {{ contact.first_name | default: "friend" }}, our cold brew is back for spring.</p>')
    text.get_by_role("button", name="Save block").click()
    expect(preview.get_by_text("Hello friend, our cold brew is back")).to_be_visible()

    button = add_block(page, "Button", 3)
    expect(page.locator("#designer-issues")).to_contain_text("a button needs a link")  # shown, nothing lost
    button.get_by_label("Label").fill("Order now")
    button.get_by_label("Link").fill("https://contoso.test/order")
    button.get_by_role("button", name="Save block").click()
    expect(preview.get_by_role("link", name="Order now")).to_be_visible()
    expect(page.locator("#designer-issues")).to_contain_text("No problems found: ready to publish")

    page.get_by_label("Preview as a contact").fill("engines")
    page.get_by_role("button", name=re.compile("Ada Lovelace")).click()
    expect(preview.get_by_text("Hello Ada, our cold brew is back")).to_be_visible()
    expect(page.locator(".preview-subject")).to_have_text("Spring is here, Ada")
    page.evaluate("window.scrollTo(0, 0)")  # full-page pictures of a scrolled page smear the sticky bars
    screenshot("email-designer-desktop")

    page.get_by_text("Mobile", exact=True).click()
    expect(page.locator(".preview-iframe")).to_have_css("width", "375px")
    expect(preview.get_by_text("Hello Ada, our cold brew is back")).to_be_visible()
    page.locator("#email-preview").scroll_into_view_if_needed()
    screenshot("email-designer-mobile-preview-desktop", full_page=False)
    page.get_by_text("Plain text", exact=True).first.click()
    expect(page.locator(".preview-text")).to_contain_text("Order now (https://contoso.test/order)")

    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".flash-success")).to_contain_text("Published version 1 of “Spring launch”")
    expect(page.locator("#versions")).to_contain_text("v1")

    page.get_by_role("link", name="Results").click()
    expect(page.get_by_text("A/B results appear here once journeys send this email.")).to_be_visible()
    screenshot("email-page-desktop")
    page.goto(f"{live_server.url}/email/{Email.objects.get(key='welcome').pk}/")
    expect(page.locator("#delivery-rows")).to_contain_text("ada@engines.example")
    screenshot("email-page-sent-desktop")

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/email/")
    screenshot("email-list-phone")
    page.goto(f"{live_server.url}/email/{Email.objects.get(key='spring-launch').pk}/design/")
    expect(page.locator("#block-3")).to_contain_text("Order now")
    # A frame below the fold can paint blank in a full-page picture: take the preview on its own.
    page.locator("#email-preview").scroll_into_view_if_needed()
    expect(preview.get_by_text("Hello Ada, our cold brew is back")).to_be_visible()
    screenshot("email-designer-preview-phone", full_page=False)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("email-designer-phone")
    page.get_by_text("Mobile", exact=True).click()
    page.locator("#email-preview").scroll_into_view_if_needed()
    screenshot("email-designer-mobile-preview-phone", full_page=False)
    page.goto(f"{live_server.url}/email/{Email.objects.get(key='spring-launch').pk}/")
    screenshot("email-page-phone")


def test_profiles_content_blocks_and_the_contact_card(page: Page, live_server, studio, screenshot):
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/email/senders/")
    page.get_by_role("link", name="Contoso news").click()
    page.get_by_label("DKIM private key (PEM)").fill("not a key")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".has-error")).to_contain_text("This is not a PEM private key")
    screenshot("email-sender-form-desktop")
    page.goto(f"{live_server.url}/email/brands/")
    expect(page.locator("#brand-rows")).to_contain_text("1 Bean Street")
    screenshot("email-brands-desktop")

    page.goto(f"{live_server.url}/email/content-blocks/new/")
    page.get_by_label("Name").fill("Store footer")
    page.get_by_label("Key").fill("store-footer")
    page.get_by_role("button", name="Create and design").click()
    text = add_block(page, "Text", 1)
    text.get_by_label("Text", exact=True).fill('<p>Visit us soon, {{ contact.first_name | default: "friend" }}.</p>')
    text.get_by_role("button", name="Save block").click()
    add_block(page, "Image", 2)  # no address yet: named, left out of the preview, nothing lost
    expect(page.locator("#block-2 .block-problems")).to_contain_text("An image needs an http(s) address")
    expect(page.frame_locator(".preview-iframe").get_by_text("Visit us soon, friend.")).to_be_visible()
    expect(page.locator(".preview-note")).to_contain_text("Left out until fixed: block 2")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("email-content-block-designer-desktop")

    page.goto(f"{live_server.url}{studio.get_absolute_url()}")
    expect(page.locator("#contact-deliveries")).to_contain_text("Welcome")
    screenshot("email-contact-card-desktop")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/email/senders/")
    screenshot("email-senders-phone")
