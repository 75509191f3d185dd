"""The marketer pages: lists, contact page, consent, forms, export, tasks, import, permissions."""

import csv
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from contacts import queries, services
from contacts.models import ConsentChange, Contact, CustomAttribute, ImportJob, Lead, Task, Topic
from tests.factories import (
    AccountFactory,
    ContactFactory,
    InteractionFactory,
    LeadFactory,
    OpportunityFactory,
    SalesQueueFactory,
    TaskFactory,
    UserFactory,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def loyalty_tier(db):
    return CustomAttribute.objects.create(
        entity="contact", key="loyalty_tier", label="Loyalty tier", type="choice", choices=["gold", "silver"]
    )


@pytest.fixture
def lifetime_value(db):
    return CustomAttribute.objects.create(entity="contact", key="lifetime_value", label="Lifetime value",
                                          type="number")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def content(response) -> str:
    return response.content.decode()


# --- Site pages ---------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/", "/contacts/", "/contacts/tasks/", "/contacts/import/", "/section/events/"])
def test_pages_redirect_anonymous_users_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


def test_login_page_logs_a_user_in(client, marketer):
    assert "Log in" in content(client.get("/login/"))
    response = client.post("/login/", {"username": "marketer", "password": "pw-for-tests-1"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_logout_is_a_post_from_the_user_menu(marketer_client):
    page = content(marketer_client.get("/"))
    assert 'action="/logout/"' in page and 'method="post"' in page
    assert marketer_client.post("/logout/").status_code == 302
    assert marketer_client.get("/").status_code == 302


def test_dashboard_shows_real_counts(marketer_client, marketer):
    account = AccountFactory()
    ContactFactory.create_batch(3, account=account)
    LeadFactory.create_batch(2)
    OpportunityFactory(account=account)
    OpportunityFactory(account=account, status="won")
    TaskFactory(assigned_to=marketer)
    InteractionFactory(occurred_at=timezone.now() - datetime.timedelta(days=8))
    InteractionFactory()
    stats = marketer_client.get("/").context["stats"]
    # 3 contacts, plus one for the task and one per interaction (their factories make them)
    assert stats == {"contacts": 6, "leads": 2, "accounts": 1, "open_opportunities": 1, "my_open_tasks": 1,
                     "interactions_last_7_days": 1}


def test_dashboard_counts_the_users_queue_tasks(marketer, now):
    queue = SalesQueueFactory()
    queue.members.add(marketer)
    TaskFactory(assigned_to=None, queue=queue)
    TaskFactory(assigned_to=marketer, status=Task.Status.DONE)
    TaskFactory()  # someone else's
    assert queries.dashboard_counts(user=marketer, now=now)["my_open_tasks"] == 1


def test_navigation_lists_every_section(marketer_client):
    page = content(marketer_client.get("/"))
    for label in ["Contacts", "Segments", "Journeys", "Email", "Events", "Scoring", "Analytics", "My tasks"]:
        assert label in page
    assert 'href="/segments/"' in page


def test_navigation_hides_import_from_sales(sales_client):
    assert 'href="/contacts/import/"' not in content(sales_client.get("/contacts/tasks/"))


def test_navigation_shows_import_to_marketers(marketer_client):
    assert 'href="/contacts/import/"' in content(marketer_client.get("/contacts/tasks/"))


def test_section_not_built_says_so_plainly(marketer_client):
    response = marketer_client.get("/section/events/")
    assert response.status_code == 200
    assert "Events is not built yet" in content(response)


def test_unknown_section_is_not_found(marketer_client):
    assert marketer_client.get("/section/payroll/").status_code == 404


# --- Contact list -------------------------------------------------------------------------------
def test_contact_list_searches_name_email_and_account(marketer_client):
    ContactFactory(first_name="Ada", last_name="Lovelace", email="ada@engines.example")
    ContactFactory(first_name="Grace", last_name="Hopper", account=AccountFactory(name="Cobol Corp"))
    ContactFactory(first_name="Alan", last_name="Turing")

    def names(q):
        return {str(c) for c in marketer_client.get("/contacts/", {"q": q}).context["page"].object_list}

    assert names("lovelace") == {"Ada Lovelace"}
    assert names("ENGINES") == {"Ada Lovelace"}
    assert names("cobol") == {"Grace Hopper"}
    assert names("grace cobol") == {"Grace Hopper"}
    assert names("grace turing") == set()


def test_contact_list_filters_by_place_industry_owner_and_created_date(marketer_client, marketer):
    bank = AccountFactory(industry="Banking")
    match = ContactFactory(country="Sweden", state="Skåne", account=bank, owner=marketer)
    ContactFactory(country="Sweden", state="Skåne", account=bank)  # other owner
    ContactFactory(country="Sweden", state="Uppsala", account=bank, owner=marketer)
    ContactFactory(country="Norway", state="Skåne", account=bank, owner=marketer)
    ContactFactory(country="Sweden", state="Skåne", account=AccountFactory(industry="Retail"), owner=marketer)
    today = timezone.localdate()
    params = {"country": "Sweden", "state": "Skåne", "industry": "Banking", "owner": marketer.pk,
              "created_from": today.isoformat(), "created_to": today.isoformat()}
    assert list(marketer_client.get("/contacts/", params).context["page"].object_list) == [match]
    params["created_to"] = (today - datetime.timedelta(days=1)).isoformat()
    params["created_from"] = params["created_to"]
    assert list(marketer_client.get("/contacts/", params).context["page"].object_list) == []


def test_contact_list_offers_filter_values_from_the_data(marketer_client):
    ContactFactory(country="Sweden", state="Skåne", account=AccountFactory(industry="Banking"))
    page = content(marketer_client.get("/contacts/"))
    assert '<option value="Sweden">Sweden</option>' in page
    assert '<option value="Banking">Banking</option>' in page


def test_contact_list_paginates_fifty_per_page(marketer_client):
    ContactFactory.create_batch(55)
    first = marketer_client.get("/contacts/").context["page"]
    second = marketer_client.get("/contacts/", {"page": 2}).context["page"]
    assert (len(first.object_list), len(second.object_list)) == (50, 5)
    assert first.paginator.count == 55


def test_pagination_links_keep_the_filters(marketer_client):
    ContactFactory.create_batch(51, country="Sweden")
    page = content(marketer_client.get("/contacts/", {"country": "Sweden"}))
    assert 'href="?country=Sweden&amp;page=2"' in page
    assert 'hx-get="?country=Sweden&amp;page=2"' in page


def test_htmx_search_returns_only_the_rows_fragment(marketer_client):
    ContactFactory(first_name="Ada", last_name="Lovelace")
    response = marketer_client.get("/contacts/", {"q": "ada"}, **HTMX)
    page = content(response)
    assert "Ada Lovelace" in page
    assert "<html" not in page and 'id="filters"' not in page
    assert 'id="contact-rows"' in page
    assert "HX-Request" in response.get("Vary", "")


def test_live_search_is_wired_with_a_plain_link_fallback(marketer_client):
    page = content(marketer_client.get("/contacts/"))
    assert 'hx-get="/contacts/"' in page and 'hx-target="#results"' in page
    assert 'method="get" action="/contacts/"' in page


def test_contact_list_has_an_empty_state(marketer_client):
    assert "No contacts yet" in content(marketer_client.get("/contacts/"))
    assert "No contacts match" in content(marketer_client.get("/contacts/", {"q": "nobody"}))


def test_contact_list_runs_a_fixed_number_of_queries(marketer_client, django_assert_max_num_queries):
    owners = UserFactory.create_batch(3)
    for i in range(60):
        ContactFactory(account=AccountFactory(industry=f"Industry {i % 4}"), owner=owners[i % 3])
    with django_assert_max_num_queries(10):
        response = marketer_client.get("/contacts/", {"country": "United States"})
    assert len(response.context["page"].object_list) == 50
    with django_assert_max_num_queries(6):
        marketer_client.get("/contacts/", {"q": "example"}, **HTMX)


# --- CSV export ---------------------------------------------------------------------------------
def test_export_streams_the_filtered_list_with_custom_attributes(marketer_client, loyalty_tier, marketer):
    account = AccountFactory(name="Contoso", industry="Retail")
    ContactFactory(first_name="Ada", email="ada@example.com", country="Sweden", account=account,
                   owner=marketer, attributes={"loyalty_tier": "gold"})
    ContactFactory(first_name="Bob", email="bob@example.com", country="Norway")
    response = marketer_client.get("/contacts/export/", {"country": "Sweden"})
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    assert rows[0]["email"] == "ada@example.com"
    assert rows[0]["account"] == "Contoso" and rows[0]["account_industry"] == "Retail"
    assert rows[0]["owner"] == "marketer"
    assert rows[0]["loyalty_tier"] == "gold"


def test_export_neutralizes_spreadsheet_formulas_but_keeps_phone_numbers(marketer_client):
    ContactFactory(first_name="=HYPERLINK(1)", phone="+46 70 123 45 67")
    text = b"".join(marketer_client.get("/contacts/export/").streaming_content).decode("utf-8-sig")
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["first_name"] == "'=HYPERLINK(1)"
    assert row["phone"] == "+46 70 123 45 67"


def test_export_reads_contacts_in_constant_queries(marketer_client, django_assert_max_num_queries):
    ContactFactory.create_batch(30, account=AccountFactory())
    with django_assert_max_num_queries(6):
        response = marketer_client.get("/contacts/export/")
        lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert len(lines) == 31


# --- Contact page -------------------------------------------------------------------------------
def test_contact_page_shows_profile_attributes_consent_and_timeline(marketer_client, loyalty_tier, marketer):
    contact = ContactFactory(first_name="Ada", last_name="Lovelace", account=AccountFactory(name="Engines Ltd"),
                             owner=marketer, attributes={"loyalty_tier": "gold"})
    newsletter = Topic.objects.create(key="newsletter", name="Newsletter")
    now = timezone.now()
    services.set_consent(contact, channel="email", status="opted_in", now=now, source="web form")
    services.set_consent(contact, channel="email", topic=newsletter, status="opted_in", double_opt_in="pending",
                         now=now)
    InteractionFactory(contact=contact, type="email_opened", email_key="welcome",
                       occurred_at=now - datetime.timedelta(days=2))
    InteractionFactory(contact=contact, type="purchase", product="Cold brew", occurred_at=now)
    OpportunityFactory(account=contact.account, contact=contact, name="Espresso machines")
    TaskFactory(contact=contact, subject="Call Ada back")
    page = content(marketer_client.get(contact.get_absolute_url()))
    assert "Engines Ltd" in page and "Loyalty tier" in page and "gold" in page
    assert 'id="consent"' in page and "Newsletter" in page and "Awaiting confirmation" in page
    assert "web form" in page
    assert page.index("Cold brew") < page.index("welcome")  # newest first
    assert "Espresso machines" in page and "Call Ada back" in page


def test_timeline_loads_more_as_a_fragment(marketer_client):
    contact = ContactFactory()
    start = timezone.now()
    for minutes in range(25):
        InteractionFactory(contact=contact, type="page_visited", link=f"/page-{minutes}",
                           occurred_at=start - datetime.timedelta(minutes=minutes))
    first = content(marketer_client.get(contact.get_absolute_url()))
    assert "/page-0" in first and "/page-19" in first and "/page-20" not in first
    assert f'hx-get="{contact.get_absolute_url()}?timeline=2"' in first
    more = content(marketer_client.get(contact.get_absolute_url(), {"timeline": 2}, **HTMX))
    assert "/page-20" in more and "/page-24" in more and "/page-0<" not in more
    assert "<html" not in more and "Load more" not in more


def test_contact_page_query_count_is_bounded(marketer_client, django_assert_max_num_queries):
    contact = ContactFactory(account=AccountFactory())
    colleague = UserFactory()
    for _ in range(10):
        InteractionFactory(contact=contact)
        TaskFactory(contact=contact, assigned_to=colleague)
    with django_assert_max_num_queries(12):
        marketer_client.get(contact.get_absolute_url())


def test_changing_consent_in_the_ui_appends_history(marketer_client, marketer):
    contact = ContactFactory()
    url = reverse("contacts:consent", args=[contact.pk])
    response = marketer_client.post(url, {"channel": "email", "status": "opted_in", "note": "asked at booth"},
                                    **HTMX)
    assert response.status_code == 200
    assert 'id="consent"' in content(response) and "<html" not in content(response)
    marketer_client.post(url, {"channel": "email", "status": "opted_out"}, **HTMX)
    history = list(ConsentChange.objects.filter(contact=contact).order_by("id"))
    assert [(c.old_status, c.new_status) for c in history] == [("not_set", "opted_in"), ("opted_in", "opted_out")]
    assert {c.source for c in history} == {"marketer UI"} and {c.changed_by for c in history} == {marketer}
    assert history[0].note == "asked at booth"
    assert contact.consents.get().status == "opted_out"


def test_consent_form_can_ask_for_double_opt_in(marketer_client):
    contact = ContactFactory()
    marketer_client.post(reverse("contacts:consent", args=[contact.pk]),
                         {"channel": "email", "status": "opted_in", "double_opt_in": "on"})
    assert contact.consents.get().double_opt_in == "pending"


def test_consent_form_without_htmx_redirects_back_with_a_message(marketer_client):
    contact = ContactFactory()
    response = marketer_client.post(reverse("contacts:consent", args=[contact.pk]),
                                    {"channel": "sms", "status": "opted_in"}, follow=True)
    assert response.redirect_chain[-1][0] == contact.get_absolute_url() + "#consent"
    assert "Consent recorded" in content(response)


# --- Create and edit ----------------------------------------------------------------------------
def test_contact_form_renders_typed_inputs_for_custom_attributes(marketer_client, loyalty_tier, lifetime_value):
    CustomAttribute.objects.create(entity="contact", key="vip", label="VIP", type="boolean")
    CustomAttribute.objects.create(entity="contact", key="first_order", label="First order", type="date")
    page = content(marketer_client.get(reverse("contacts:create")))
    assert 'type="number" name="attr_lifetime_value"' in page
    assert 'type="date" name="attr_first_order"' in page
    assert 'type="checkbox" name="attr_vip"' in page
    assert '<select name="attr_loyalty_tier"' in page and '<option value="gold">gold</option>' in page


def test_creating_a_contact_stores_custom_attributes_typed(marketer_client, loyalty_tier, lifetime_value):
    response = marketer_client.post(reverse("contacts:create"), {
        "first_name": "Ada", "email": "ADA@Example.com", "time_zone": "Europe/London",
        "attr_loyalty_tier": "gold", "attr_lifetime_value": "12.50",
    })
    contact = Contact.objects.get()
    assert response.status_code == 302 and response["Location"] == contact.get_absolute_url()
    assert contact.email == "ada@example.com"
    assert contact.attributes == {"loyalty_tier": "gold", "lifetime_value": 12.5}


def test_invalid_custom_attribute_shows_the_error_and_saves_nothing(marketer_client, lifetime_value):
    response = marketer_client.post(reverse("contacts:create"), {
        "first_name": "Ada", "email": "ada@example.com", "attr_lifetime_value": "lots",
    })
    assert response.status_code == 200
    assert Contact.objects.count() == 0
    form = response.context["form"]
    assert form.errors["attr_lifetime_value"] == ["Enter a number."]
    page = content(response)
    assert "Enter a number." in page and 'value="ada@example.com"' in page


def test_model_validation_of_attributes_shows_beside_the_input(marketer_client, loyalty_tier):
    """A value the model rejects (here: a choice removed since) is reported on its own input."""
    contact = ContactFactory(attributes={"loyalty_tier": "gold"})
    loyalty_tier.choices = ["silver"]
    loyalty_tier.save()
    response = marketer_client.post(reverse("contacts:edit", args=[contact.pk]),
                                    {"first_name": "Ada", "email": contact.email, "attr_loyalty_tier": "gold"})
    assert response.status_code == 200
    assert "attr_loyalty_tier" in response.context["form"].errors


def test_unknown_time_zone_is_rejected_by_the_model(marketer_client):
    response = marketer_client.post(reverse("contacts:create"), {"email": "a@example.com", "time_zone": "Mars/Base"})
    assert "Unknown time zone" in response.context["form"].errors["time_zone"][0]
    assert Contact.objects.count() == 0


def test_duplicate_email_is_a_field_error(marketer_client):
    ContactFactory(email="ada@example.com")
    response = marketer_client.post(reverse("contacts:create"), {"email": "ADA@example.com"})
    assert response.status_code == 200 and "email" in response.context["form"].errors


def test_editing_a_contact_keeps_attributes_not_on_the_form(marketer_client, lifetime_value):
    contact = ContactFactory(first_name="Ada", attributes={"lifetime_value": 5})
    marketer_client.post(reverse("contacts:edit", args=[contact.pk]),
                         {"first_name": "Augusta", "email": contact.email, "attr_lifetime_value": "7"})
    contact.refresh_from_db()
    assert contact.first_name == "Augusta" and contact.attributes == {"lifetime_value": 7}


def test_editing_drops_values_of_deleted_attribute_definitions(marketer_client, lifetime_value):
    contact = ContactFactory(attributes={"lifetime_value": 5, "retired_field": "x"})
    response = marketer_client.post(reverse("contacts:edit", args=[contact.pk]),
                                    {"email": contact.email, "attr_lifetime_value": "5"})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.attributes == {"lifetime_value": 5}


def test_sales_can_edit_contacts(sales_client):
    contact = ContactFactory()
    response = sales_client.post(reverse("contacts:edit", args=[contact.pk]),
                                 {"first_name": "New", "email": contact.email})
    assert response.status_code == 302


def test_a_user_without_a_role_cannot_edit(client, db):
    user = UserFactory()
    user.save()  # keep the password set after creation, or the login session is invalidated
    client.force_login(user)
    contact = ContactFactory()
    assert client.get(reverse("contacts:edit", args=[contact.pk])).status_code == 403
    assert client.get("/contacts/").status_code == 403


# --- Leads and accounts -------------------------------------------------------------------------
def test_lead_list_searches_and_filters_by_status(marketer_client):
    LeadFactory(first_name="Quinn", company="Fabrikam", status="qualified")
    LeadFactory(first_name="Robin", company="Fabrikam", status="new")
    page = marketer_client.get("/contacts/leads/", {"q": "fabrikam", "status": "qualified"}).context["page"]
    assert [lead.first_name for lead in page.object_list] == ["Quinn"]


def test_lead_page_shows_profile_consent_and_timeline(marketer_client):
    lead = LeadFactory(first_name="Quinn", company="Fabrikam", topic="Espresso")
    services.set_consent(lead, channel="email", status="opted_out", now=timezone.now(), source="unsubscribe")
    InteractionFactory(contact=None, lead=lead, type="form_submitted")
    page = content(marketer_client.get(reverse("contacts:lead_detail", args=[lead.pk])))
    assert "Fabrikam" in page and "Espresso" in page and "Opted out" in page and "Form submitted" in page


def test_creating_a_lead_uses_lead_custom_attributes(sales_client):
    CustomAttribute.objects.create(entity="lead", key="budget", label="Budget", type="number")
    response = sales_client.post(reverse("contacts:lead_create"), {
        "first_name": "Quinn", "email": "quinn@example.com", "status": "new", "attr_budget": "5000",
    })
    lead = Lead.objects.get()
    assert response["Location"] == reverse("contacts:lead_detail", args=[lead.pk])
    assert lead.attributes == {"budget": 5000}


def test_lead_consent_change_appends_history(marketer_client):
    lead = LeadFactory()
    marketer_client.post(reverse("contacts:lead_consent", args=[lead.pk]), {"channel": "email", "status": "opted_in"})
    assert ConsentChange.objects.get(lead=lead).source == "marketer UI"


def test_account_list_and_page_show_contacts_and_opportunities(marketer_client):
    account = AccountFactory(name="Contoso", industry="Retail")
    ContactFactory(account=account, first_name="Ada")
    OpportunityFactory(account=account, name="Big deal")
    listed = marketer_client.get("/contacts/accounts/", {"industry": "Retail"}).context["page"].object_list
    assert [(a.name, a.contact_count, a.open_opportunity_count) for a in listed] == [("Contoso", 1, 1)]
    page = content(marketer_client.get(reverse("contacts:account_detail", args=[account.pk])))
    assert "Ada" in page and "Big deal" in page


# --- My tasks -----------------------------------------------------------------------------------
def test_my_tasks_lists_open_tasks_of_the_user_and_their_queues(sales_client, sales_user):
    queue = SalesQueueFactory(name="Inbound")
    queue.members.add(sales_user)
    TaskFactory(assigned_to=sales_user, subject="Mine")
    TaskFactory(assigned_to=None, queue=queue, subject="Queue's")
    TaskFactory(subject="Someone else's")
    TaskFactory(assigned_to=sales_user, subject="Finished", status=Task.Status.DONE)
    overdue = TaskFactory(assigned_to=sales_user, subject="Late", due_at=timezone.now() - datetime.timedelta(days=1))
    response = sales_client.get(reverse("contacts:my_tasks"))
    assert {t.subject for t in response.context["tasks"]} == {"Mine", "Queue's", "Late"}
    page = content(response)
    assert f'class="task is-overdue" id="task-{overdue.pk}"' in page
    assert "1 overdue" in page


def test_marking_a_task_done_with_htmx_swaps_the_row(sales_client, sales_user):
    task = TaskFactory(assigned_to=sales_user)
    response = sales_client.post(reverse("contacts:task_done", args=[task.pk]), **HTMX)
    assert response.status_code == 200
    assert f'id="task-{task.pk}"' in content(response) and "Done just now" in content(response)
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.completed_at is not None


def test_marking_a_task_done_without_htmx_redirects_to_next(sales_client, sales_user):
    task = TaskFactory(assigned_to=sales_user)
    response = sales_client.post(reverse("contacts:task_done", args=[task.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("contacts:my_tasks")


def test_marking_a_task_done_needs_a_post(sales_client):
    assert sales_client.get(reverse("contacts:task_done", args=[TaskFactory().pk])).status_code == 405


# --- Import -------------------------------------------------------------------------------------
def csv_file(text: str, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


@pytest.mark.parametrize("method, url", [
    ("get", "/contacts/import/"), ("post", "/contacts/import/"), ("post", "/contacts/import/preview/"),
])
def test_sales_cannot_import(sales_client, method, url):
    assert getattr(sales_client, method)(url).status_code == 403


def test_sales_cannot_see_import_jobs(sales_client, media):
    job = ImportJob.objects.create(file=csv_file("email\n"), original_name="x.csv")
    assert sales_client.get(job.get_absolute_url()).status_code == 403


def test_import_preview_suggests_a_target_per_column(marketer_client, loyalty_tier):
    response = marketer_client.post(reverse("contacts:import_preview"),
                                    {"file": csv_file("E-mail,First name,Loyalty tier,Shoe size\n")}, **HTMX)
    assert response.context["mapping_rows"] == [("E-mail", "email"), ("First name", "first_name"),
                                                ("Loyalty tier", "attributes.loyalty_tier"), ("Shoe size", "")]
    page = content(response)
    assert '<option value="attributes.loyalty_tier" selected>' in page and "<html" not in page


def test_import_preview_explains_an_unreadable_file(marketer_client):
    response = marketer_client.post(reverse("contacts:import_preview"), {"file": csv_file("")}, **HTMX)
    assert "The file is empty" in content(response)


def test_import_runs_end_to_end_and_reports_bad_rows(marketer_client, marketer, media, loyalty_tier):
    ContactFactory(email="known@example.com", first_name="Old")
    upload = csv_file("Mail,Given,Tier\nnew@example.com,Ada,gold\nknown@example.com,Kim,silver\n"
                      "bad@example.com,Bo,platinum\n")
    response = marketer_client.post(reverse("contacts:import"), {
        "file": upload, "on_duplicate": "update",
        "column": ["Mail", "Given", "Tier"], "target": ["email", "first_name", "attributes.loyalty_tier"],
    })
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.created_by == marketer and job.status == ImportJob.Status.DONE
    assert Contact.objects.get(email="known@example.com").first_name == "Kim"
    detail = marketer_client.get(job.get_absolute_url())
    page = content(detail)
    assert 'hx-trigger="every 1s"' not in page
    problem = ("Loyalty tier (custom)", "'platinum' is not one of gold, silver")
    assert detail.context["error_rows"] == [{"row": 4, "messages": [problem]}]
    assert ">4<" in page and "platinum" in page


def test_import_without_the_preview_uses_the_suggested_mapping(marketer_client, media):
    marketer_client.post(reverse("contacts:import"), {"file": csv_file("Email,First name\na@example.com,Ada\n"),
                                                      "on_duplicate": "skip"})
    assert Contact.objects.get().first_name == "Ada"


def test_import_with_a_bad_mapping_shows_the_problem(marketer_client, media):
    response = marketer_client.post(reverse("contacts:import"), {
        "file": csv_file("Mail,Given\na@example.com,Ada\n"), "on_duplicate": "update",
        "column": ["Mail", "Given"], "target": ["", "first_name"],
    })
    assert response.status_code == 200 and ImportJob.objects.count() == 0
    page = content(response)
    assert "Map a column to Email" in page
    assert '<option value="first_name" selected>' in page  # the choices made are shown again


def test_unfinished_import_page_polls_for_progress(marketer_client, media):
    job = ImportJob.objects.create(file=csv_file("email\n"), original_name="big.csv", total_rows=200, rows_done=50,
                                   status=ImportJob.Status.RUNNING)
    page = content(marketer_client.get(job.get_absolute_url()))
    assert 'hx-trigger="every 1s"' in page and 'aria-valuenow="25"' in page
    fragment = content(marketer_client.get(job.get_absolute_url(), **HTMX))
    assert fragment.lstrip().startswith('<div id="import-status"') and "<html" not in fragment


# --- People with little more than a name ------------------------------------------------------
def test_initials_fall_back_from_names_to_email_to_a_question_mark():
    assert Contact(first_name="ada", last_name="Lovelace").initials == "AL"
    assert Contact(last_name="Xu", email=None).initials == "X"
    assert Contact(email="bo@example.com").initials == "B"
    assert Contact(email=None).initials == "?"
    assert Lead(email="").initials == "?"


@pytest.mark.parametrize("role_client", ["marketer_client", "sales_client"])
def test_a_contact_with_only_a_last_name_renders_everywhere(db, request, role_client):
    client = request.getfixturevalue(role_client)
    contact = ContactFactory(first_name="", last_name="Xu", email=None)
    lead = LeadFactory(first_name="", last_name="Yi", email="")
    for url in ["/", "/contacts/", contact.get_absolute_url(), reverse("contacts:lead_list"),
                lead.get_absolute_url()]:
        response = client.get(url)
        assert response.status_code == 200, url
    assert '<span class="avatar avatar-lg">X</span>' in content(client.get(contact.get_absolute_url()))


def test_an_empty_contact_or_lead_form_is_refused_and_saves_nothing(marketer_client):
    response = marketer_client.post(reverse("contacts:create"), {"job_title": "  ", "city": ""})
    assert response.status_code == 200
    assert Contact.IDENTITY_REQUIRED in content(response) and not Contact.objects.exists()
    response = marketer_client.post(reverse("contacts:lead_create"), {"status": "new"})
    assert response.status_code == 200
    assert Lead.IDENTITY_REQUIRED in content(response) and not Lead.objects.exists()
    marketer_client.post(reverse("contacts:lead_create"), {"status": "new", "company": "Acme"})
    assert Lead.objects.get().company == "Acme"
