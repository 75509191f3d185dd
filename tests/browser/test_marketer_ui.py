"""The marketer UI in a real browser: log in, find a contact, read their consent and timeline."""

import datetime
import re

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from playwright.sync_api import Page, expect

from contacts import services
from contacts.models import CustomAttribute, ImportJob, Topic
from tests.factories import (
    AccountFactory,
    ContactFactory,
    InteractionFactory,
    LeadFactory,
    OpportunityFactory,
    SalesQueueFactory,
    TaskFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def ada(marketer):
    """A contact with everything a contact page shows, among a few dozen others."""
    marketer.first_name, marketer.last_name = "Maria", "Marketer"
    marketer.save()
    now = timezone.now()
    CustomAttribute.objects.create(entity="contact", key="loyalty_tier", label="Loyalty tier", type="choice",
                                   choices=["gold", "silver"])
    CustomAttribute.objects.create(entity="contact", key="lifetime_value", label="Lifetime value", type="number")
    engines = AccountFactory(name="Analytical Engines", industry="Manufacturing", country="United Kingdom")
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", email="ada@engines.example", account=engines,
                         job_title="Head of Research", country="United Kingdom", state="London", city="London",
                         time_zone="Europe/London", owner=marketer,
                         attributes={"loyalty_tier": "gold", "lifetime_value": 1840})
    for i, (first, last, company) in enumerate([
        ("Grace", "Hopper", "Cobol Systems"), ("Alan", "Turing", "Bletchley Analytics"),
        ("Katherine", "Johnson", "Langley Research"), ("Edsger", "Dijkstra", "Shortest Path BV"),
        ("Barbara", "Liskov", "Substitution Labs"), ("Donald", "Knuth", "Typeset Press"),
        ("Margaret", "Hamilton", "Apollo Guidance"), ("Tim", "Berners-Lee", "Hypertext Works"),
    ]):
        ContactFactory(first_name=first, last_name=last, email=f"{first.lower()}@example.com",
                       account=AccountFactory(name=company, industry=["Software", "Research", "Retail"][i % 3]),
                       job_title=["CTO", "Engineer", "Marketing lead"][i % 3], owner=marketer if i % 2 else None)
    newsletter = Topic.objects.create(key="newsletter", name="Newsletter")
    events = Topic.objects.create(key="events", name="Events", requires_opt_in=True)
    services.set_consent(ada, channel="email", status="opted_in", now=now - datetime.timedelta(days=40),
                         source="web form", note="Checked the box on the pricing page")
    services.set_consent(ada, channel="email", topic=newsletter, status="opted_in", double_opt_in="confirmed",
                         now=now - datetime.timedelta(days=39), source="double opt-in")
    services.set_consent(ada, channel="email", topic=events, status="opted_in", double_opt_in="pending",
                         now=now - datetime.timedelta(days=2), source="event form")
    services.set_consent(ada, channel="sms", status="opted_out", now=now - datetime.timedelta(days=10),
                         source="STOP reply")
    for hours, kind, extra in [
        (1, "purchase", {"product": "Difference engine kit", "amount": "249.00"}),
        (3, "email_clicked", {"email_key": "spring-launch", "link": "https://waymark.example/launch"}),
        (4, "email_opened", {"email_key": "spring-launch"}),
        (30, "page_visited", {"link": "https://waymark.example/pricing"}),
        (50, "form_submitted", {"source": "pricing form"}),
        (75, "event_registered", {"source": "events"}),
        (200, "email_delivered", {"email_key": "welcome"}),
    ]:
        InteractionFactory(contact=ada, type=kind, occurred_at=now - datetime.timedelta(hours=hours), **extra)
    OpportunityFactory(account=engines, contact=ada, name="Engine fleet renewal", estimated_revenue=48000,
                       stage="propose", close_date=now.date() + datetime.timedelta(days=30))
    TaskFactory(contact=ada, assigned_to=marketer, subject="Send the renewal proposal",
                due_at=now - datetime.timedelta(days=1), priority="high")
    queue = SalesQueueFactory(name="Inbound")
    queue.members.add(marketer)
    TaskFactory(contact=ada, assigned_to=None, queue=queue, subject="Qualify event interest",
                due_at=now + datetime.timedelta(days=2))
    LeadFactory(first_name="Quinn", last_name="Rivera", company="Fabrikam", status="qualified")
    return ada


def log_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill("marketer")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Welcome back, Maria")).to_be_visible()


def test_marketer_finds_a_contact_and_reads_consent_and_timeline(page: Page, live_server, ada, screenshot):
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/login/")
    screenshot("login-desktop")
    log_in(page, live_server.url)
    expect(page.locator('[data-stat="contacts"] .stat-value')).to_have_text("9")
    screenshot("dashboard-desktop")

    page.get_by_role("complementary", name="Main navigation").get_by_role("link", name="All contacts").click()
    expect(page.get_by_role("heading", name="Contacts", exact=True)).to_be_visible()
    expect(page.locator("#contact-rows tbody tr")).to_have_count(9)
    screenshot("contacts-list-desktop")

    page.get_by_label("Search", exact=True).fill("lovelace")  # live search: HTMX swaps only the rows
    expect(page.locator("#contact-rows tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/contacts/\?.*q=lovelace"))
    screenshot("contacts-search-desktop")

    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    consent = page.locator("#consent")
    expect(consent.locator("#consent-current")).to_contain_text("Opted in")
    expect(consent.locator("#consent-current")).to_contain_text("Awaiting confirmation")
    expect(consent.locator("#consent-history")).to_contain_text("STOP reply")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Difference engine kit")
    expect(timeline).to_contain_text("Email link clicked")
    expect(page.locator("#attributes")).to_contain_text("Loyalty tier")
    screenshot("contact-detail-desktop")

    consent.get_by_label("Channel").select_option("sms")
    consent.get_by_label("Status").select_option("opted_in")
    consent.get_by_label("Note").fill("Asked at the booth")
    consent.get_by_role("button", name="Record consent").click()
    expect(page.locator("#consent")).to_contain_text("Consent recorded: SMS: Opted in")
    expect(page.locator("#consent-history li")).to_have_count(5)

    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    screenshot("contact-detail-phone")
    expect(page.locator(".sidebar")).not_to_be_in_viewport()
    page.locator(".nav-burger").click()
    expect(page.locator(".sidebar")).to_have_css("transform", "none")  # slid fully in
    screenshot("navigation-phone", full_page=False)
    page.locator(".scrim").click(position={"x": 360, "y": 400})
    page.goto(f"{live_server.url}/contacts/")
    screenshot("contacts-list-phone")
    page.goto(f"{live_server.url}/")
    screenshot("dashboard-phone")


def test_import_maps_columns_and_shows_the_result(page: Page, live_server, ada, screenshot, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    upload = tmp_path / "expo-leads.csv"
    upload.write_text("E-mail,First name,Last name,Company,Loyalty tier\n"
                      "new@example.com,Nia,Okafor,Contoso,silver\n"
                      "ada@engines.example,Ada,Lovelace,Analytical Engines,gold\n"
                      "not-an-email,Bad,Row,Contoso,silver\n"
                      "kim@example.com,Kim,Lee,Contoso,platinum\n")
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/contacts/import/")
    page.get_by_label("CSV file").set_input_files(str(upload))
    mapping = page.locator("#mapping-table")
    expect(mapping.get_by_label("Field for column E-mail")).to_have_value("email")
    expect(mapping.get_by_label("Field for column Loyalty tier")).to_have_value("attributes.loyalty_tier")
    expect(mapping.get_by_label("Field for column Company")).to_have_value("account")
    screenshot("import-mapping-desktop")

    page.get_by_role("button", name="Start import").click()
    expect(page.get_by_role("heading", name="Import of expo-leads.csv")).to_be_visible()
    status = page.locator("#import-status")
    expect(status).to_contain_text("Done")
    expect(status.locator(".count.green strong")).to_have_text("1")
    expect(status.locator(".count.blue strong")).to_have_text("1")
    expect(page.locator("#import-errors tbody tr")).to_have_count(2)
    screenshot("import-result-desktop")


def test_import_progress_polls_until_the_job_finishes(page: Page, live_server, ada, screenshot, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    job = ImportJob.objects.create(file=ContentFile(b"email\n", name="big.csv"), original_name="big.csv",
                                   status=ImportJob.Status.RUNNING, total_rows=40000, rows_done=14000)
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}{job.get_absolute_url()}")
    expect(page.locator(".progress-meta")).to_contain_text("35%")
    screenshot("import-running-desktop", full_page=False)
    ImportJob.objects.filter(pk=job.pk).update(  # what the worker does as it goes
        status=ImportJob.Status.DONE, rows_done=40000, created_count=39990, error_count=1,
        errors=[{"row": 7, "errors": {"email": "Enter a valid email address."}}], finished_at=timezone.now())
    expect(page.locator("#import-status")).to_contain_text("Done", timeout=5000)
    expect(page.locator("#import-errors")).to_contain_text("Enter a valid email address.")


def test_tasks_and_sections_on_desktop_and_phone(page: Page, live_server, ada, screenshot):
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/contacts/tasks/")
    overdue = page.locator(".task.is-overdue")
    expect(overdue).to_contain_text("Send the renewal proposal")
    screenshot("my-tasks-desktop")
    overdue.get_by_role("button", name=re.compile("Mark .* done")).click()
    expect(page.locator(".task.is-done")).to_contain_text("Done just now")

    page.goto(f"{live_server.url}/contacts/leads/")
    expect(page.locator("#lead-rows")).to_contain_text("Quinn Rivera")
    screenshot("leads-list-desktop")
    page.goto(f"{live_server.url}/contacts/accounts/")
    page.get_by_role("link", name="Analytical Engines").click()
    expect(page.locator("#account-opportunities")).to_contain_text("Engine fleet renewal")
    screenshot("account-detail-desktop")

    page.goto(f"{live_server.url}/section/events/")
    expect(page.get_by_role("heading", name="Events is not built yet")).to_be_visible()
    screenshot("section-not-built-desktop")
    page.goto(f"{live_server.url}/contacts/new/")
    page.get_by_label("Email", exact=True).fill("someone@example.com")
    page.get_by_label("Time zone").fill("Mars/Olympus_Mons")
    page.get_by_role("button", name="Create contact").click()
    expect(page.locator(".has-error")).to_contain_text("Unknown time zone")
    expect(page.get_by_label("Email", exact=True)).to_have_value("someone@example.com")
    screenshot("contact-form-errors-desktop")

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/contacts/tasks/")
    screenshot("my-tasks-phone")
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Log out").click()  # a POST, as Django 5's LogoutView requires
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    screenshot("login-phone")
