"""Both demo forms in a real browser: on the landing page at phone width, hosted with errors fixed,
prefilled for a known contact, and embedded on another site by iframe and by script."""

import http.server
import re
import threading

import pytest
from playwright.sync_api import Page, expect

from contacts import services as people
from contacts.models import ConsentChange, Contact, DoubleOptIn, FormSubmission, Lead
from contacts.webforms import tokens
from journeys.models import TriggerEvent
from tests.factories import ContactFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def site(live_server, settings, demo):
    settings.SITE_URL = live_server.url  # links in emails point at this server
    return live_server.url


def test_a_reader_gets_the_brew_guide_on_the_landing_page_and_confirms_by_email(page: Page, site, smtp_server,
                                                                                   screenshot):
    page.set_viewport_size(PHONE)
    page.goto(f"{site}/p/french-press-guide/")
    expect(page.get_by_role("heading", name="Brew a better French press")).to_be_visible()
    screenshot("landing-page-phone")
    page.get_by_label(re.compile(r"^Email")).fill("nia@example.com")
    page.get_by_label("First name").fill("Nia")
    page.get_by_label(re.compile("send me the Contoso Coffee newsletter")).check()
    page.get_by_role("button", name="Send me the guide").click()

    expect(page.get_by_role("status")).to_contain_text("Download your guide")
    screenshot("landing-page-thanks-phone")
    lead = Lead.objects.get(email="nia@example.com")
    assert ConsentChange.objects.filter(lead=lead, double_opt_in=DoubleOptIn.PENDING).count() == 2
    assert not people.may_send(lead, channel="email")
    event = TriggerEvent.objects.get(key="form.submitted")
    assert event.payload["fields"] == {"email": "nia@example.com", "first_name": "Nia"}
    assert FormSubmission.objects.get().page_url.endswith("/p/french-press-guide/")

    html = smtp_server.messages[0].get_body(("html",)).get_content()
    link = re.search(r'href="([^"]*/f/confirm/[^"]+)"', html).group(1).replace("&amp;", "&")
    page.goto(link)
    expect(page.get_by_role("heading", name="Confirm your subscription")).to_be_visible()
    assert not people.may_send(lead, channel="email")
    page.get_by_role("button", name="Yes, confirm").click()
    expect(page.get_by_role("heading", name="Thank you, you are confirmed")).to_be_visible()
    screenshot("double-opt-in-confirmed-phone")
    assert people.may_send(lead, channel="email")


def test_a_caterer_fixes_mistakes_and_requests_a_quote(page: Page, site, screenshot):
    page.set_viewport_size(DESKTOP)
    page.goto(f"{site}/f/catering-quote/")
    page.get_by_label("First name").fill("Ola")
    page.get_by_label("Last name").fill("Berg")
    page.get_by_label("Work email").fill("ola@fabrikam")
    page.get_by_label("Number of guests").fill("3")
    page.get_by_label("Date of the event").fill("2026-12-12")
    page.get_by_label("Anything we should know?").fill("Oat milk, please.")
    page.get_by_role("button", name="Request my quote").click()

    expect(page.locator(".wm-alert")).to_contain_text("Please correct the fields marked below.")
    company = page.locator(".wm-field", has=page.get_by_label("Company"))
    expect(company.locator(".wm-error")).to_have_text("This field is required.")
    expect(page.locator(".wm-field", has=page.get_by_label("Number of guests")).locator(".wm-error")).to_contain_text(
        "greater than or equal to 10")
    expect(page.get_by_label("Anything we should know?")).to_have_value("Oat milk, please.")
    screenshot("catering-errors-desktop")
    assert not Lead.objects.exists()

    page.get_by_label("Company").fill("Fabrikam")
    page.get_by_label("Work email").fill("ola@fabrikam.example")
    page.get_by_label("Phone").fill("+1 206 555 0100")
    page.get_by_label("Number of guests").fill("120")
    page.get_by_role("button", name="Request my quote").click()

    expect(page.get_by_role("status")).to_contain_text("Our catering team will send your quote")
    lead = Lead.objects.get()
    assert (lead.company, lead.first_name, lead.email) == ("Fabrikam", "Ola", "ola@fabrikam.example")
    payload = TriggerEvent.objects.get(key="form.submitted").payload
    assert payload["form"] == "catering-quote"
    assert payload["fields"]["guests"] == 120 and payload["fields"]["event_date"] == "2026-12-12"
    assert payload["fields"]["campaign"] == "catering-2026"


def test_a_known_contact_gets_a_prefilled_form_and_is_updated_not_duplicated(page: Page, site, brew_guide):
    ada = ContactFactory(email="ada@engines.example", first_name="Ada", last_name="Lovelace")
    page.goto(tokens.prefill_url(brew_guide, ada))
    expect(page.get_by_label(re.compile(r"^Email"))).to_have_value("ada@engines.example")
    expect(page.get_by_label("First name")).to_have_value("Ada")
    page.get_by_label("First name").fill("Augusta Ada")
    page.get_by_label(re.compile("newsletter")).check()
    page.get_by_role("button", name="Send me the guide").click()

    expect(page.get_by_role("status")).to_contain_text("Thank you")
    assert Contact.objects.count() == 1 and not Lead.objects.exists()
    ada.refresh_from_db()
    assert ada.first_name == "Augusta Ada"
    assert ConsentChange.objects.filter(contact=ada).count() == 2


@pytest.fixture
def other_site(site, brew_guide):
    """A page on another origin (another port) embedding the guide by script and the quote form by iframe."""
    html = (f'<!doctype html><html><head><meta name="viewport" content="width=device-width"></head><body>'
            f'<h1>Contoso Coffee blog</h1><section id="script-embed">'
            f'<script src="{site}/f/french-press-brew-guide/embed.js" async></script></section>'
            f'<iframe id="quote" src="{site}/f/catering-quote/?embed=1" title="Quote" '
            f'style="width:100%;height:1200px;border:0"></iframe></body></html>').encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_forms_work_embedded_on_another_site(page: Page, other_site, screenshot):
    page.set_viewport_size(DESKTOP)
    page.goto(f"{other_site}/")
    embed = page.locator("#script-embed")
    expect(embed.get_by_role("button", name="Send me the guide")).to_be_visible()
    screenshot("embedded-script-form", full_page=False)
    embed.get_by_label(re.compile(r"^Email")).fill("sam@")
    embed.get_by_label("First name").fill("Sam")
    embed.get_by_label(re.compile("newsletter")).check()
    embed.get_by_role("button", name="Send me the guide").click()
    expect(embed.locator(".wm-error")).to_have_text("Enter a valid email address.")  # re-rendered in place
    expect(embed.get_by_label("First name")).to_have_value("Sam")
    expect(embed.get_by_label(re.compile("newsletter"))).to_be_checked()
    assert not FormSubmission.objects.exists()
    embed.get_by_label(re.compile(r"^Email")).fill("sam@example.com")
    embed.get_by_role("button", name="Send me the guide").click()
    expect(embed.get_by_role("status")).to_contain_text("Download your guide")
    submission = FormSubmission.objects.get(form__slug="french-press-brew-guide")
    assert submission.page_url == f"{other_site}/"
    assert submission.lead.email == "sam@example.com"

    frame = page.frame_locator("#quote")
    frame.get_by_label("Company").fill("Tailspin")
    page.locator("#quote").scroll_into_view_if_needed()
    screenshot("embedded-iframe-form", full_page=False)
    frame.get_by_label("First name").fill("Kim")
    frame.get_by_label("Last name").fill("Ng")
    frame.get_by_label("Work email").fill("kim@tailspin.example")
    frame.get_by_label("Number of guests").fill("50")
    frame.get_by_label("Date of the event").fill("2026-12-20")
    frame.get_by_role("button", name="Request my quote").click()
    expect(frame.get_by_role("status")).to_contain_text("Our catering team")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("embedded-after-submitting", full_page=False)
    assert Lead.objects.filter(company="Tailspin").count() == 1


def log_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill("marketer")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base_url}/")


def test_a_marketer_designs_a_form_sets_it_live_and_sees_its_submission(page: Page, site, marketer, screenshot):
    page.set_viewport_size(DESKTOP)
    log_in(page, site)
    page.goto(f"{site}/forms/")
    expect(page.locator("#form-rows")).to_contain_text("French Press Brew Guide")
    screenshot("forms-list")
    page.get_by_role("link", name="New form").click()
    page.get_by_label("Name").first.fill("Tasting night")
    page.get_by_label("Slug").fill("tasting-night")
    page.get_by_label("Status").select_option("live")
    page.get_by_role("button", name="Create and add fields").click()

    row = page.locator('[data-row="field"]').last
    row.get_by_label("Label").fill("Email")
    row.get_by_label("Key").fill("email")
    row.get_by_label("Kind").select_option("email")
    row.get_by_label("Saves to").select_option("email")
    row.get_by_label("Required").check()
    consent = page.locator('[data-row="consent"]').last
    consent.get_by_label("Topic").select_option(label="Newsletter")
    consent.get_by_label("Wording").fill("Email me about tastings.")
    page.get_by_role("button", name="Save form").click()
    expect(page.locator(".flash-success")).to_contain_text("saved")
    screenshot("form-designer")

    page.goto(f"{site}/f/tasting-night/")
    page.get_by_label(re.compile(r"^Email")).fill("guest@example.com")
    page.get_by_label("Email me about tastings.").check()
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you")

    page.goto(f"{site}/forms/")
    page.get_by_role("link", name="Tasting night").click()
    expect(page.locator("#code-script")).to_have_value(re.compile(r"/f/tasting-night/embed\.js"))
    expect(page.locator("#recent")).to_contain_text("guest@example.com")
    screenshot("form-detail")
    page.get_by_role("link", name=re.compile("Submissions")).first.click()
    expect(page.locator("#submission-rows")).to_contain_text("guest@example.com")
    screenshot("form-submissions")


def test_a_marketer_builds_and_publishes_a_landing_page(page: Page, site, marketer, screenshot):
    page.set_viewport_size(DESKTOP)
    log_in(page, site)
    page.goto(f"{site}/pages/new/")
    page.get_by_label("Name").fill("Cold brew")
    page.get_by_label("Slug").fill("cold-brew")
    page.get_by_label("Title").fill("Cold brew at home")
    page.get_by_role("button", name="Create and add blocks").click()

    block = page.locator('[data-row="block"]').last
    block.get_by_label("Type").select_option("heading")
    block.get_by_label("Text (heading, button label)").fill("Cold brew at home")
    page.get_by_role("button", name="Save draft").click()
    block = page.locator('[data-row="block"]').last
    block.get_by_label("Type").select_option("form")
    expect(block.get_by_label("Image address")).to_be_hidden()
    block.get_by_label("Form").select_option(label="Request a catering quote")
    page.get_by_role("button", name="Save and publish").click()
    expect(page.locator(".flash-success")).to_contain_text("is published at /p/cold-brew/")
    screenshot("page-designer")

    page.goto(f"{site}/p/cold-brew/")
    expect(page.get_by_role("heading", name="Cold brew at home")).to_be_visible()
    expect(page.get_by_role("button", name="Request my quote")).to_be_visible()
