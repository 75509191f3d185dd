"""The REST API for interactions, consent, tasks, opportunities and custom attribute definitions."""

import datetime

import pytest
from django.test import Client
from rest_framework.test import APIClient

from contacts.models import APIKey, Consent, ConsentChange, CustomAttribute, Interaction, Task
from tests.factories import (
    AccountFactory,
    ContactFactory,
    InteractionFactory,
    LeadFactory,
    SalesQueueFactory,
    TaskFactory,
    TopicFactory,
    UserFactory,
)

T0 = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def api(marketer_client):
    return marketer_client


def post(client: Client, url: str, data: dict):
    return client.post(url, data, content_type="application/json")


# --- Interactions -----------------------------------------------------------------------------
def test_a_recorded_interaction_shows_up_in_its_contacts_timeline(api):
    ann, bob = ContactFactory(), ContactFactory()
    InteractionFactory(contact=bob)
    response = post(api, "/api/interactions/", {
        "contact": ann.pk, "type": "purchase", "occurred_at": T0.isoformat(), "product": "Boots",
        "amount": "59.90", "properties": {"size": 42},
    })
    assert response.status_code == 201, response.content

    timeline = api.get("/api/interactions/", {"contact": ann.pk}).json()
    assert timeline["count"] == 1
    [line] = timeline["results"]
    assert (line["contact"], line["lead"], line["type"]) == (ann.pk, None, "purchase")
    assert (line["product"], line["amount"], line["properties"]) == ("Boots", "59.90", {"size": 42})
    assert line["source"] == "api"


def test_an_interaction_may_belong_to_a_lead(api):
    lead = LeadFactory()
    response = post(api, "/api/interactions/", {"lead": lead.pk, "type": "page_visited",
                                                 "occurred_at": T0.isoformat(), "link": "/pricing"})
    assert response.status_code == 201
    assert Interaction.objects.get().lead == lead


@pytest.mark.parametrize("person", ["both", "neither"])
def test_an_interaction_needs_exactly_one_person(api, person):
    keys = {"both": {"contact": ContactFactory().pk, "lead": LeadFactory().pk}, "neither": {}}[person]
    response = post(api, "/api/interactions/", {**keys, "type": "purchase", "occurred_at": T0.isoformat()})
    assert response.status_code == 400
    assert set(response.json()) == {"contact", "lead"}
    assert not Interaction.objects.exists()


def test_an_interaction_of_an_unknown_type_is_a_field_error(api):
    response = post(api, "/api/interactions/", {"contact": ContactFactory().pk, "type": "teleported",
                                                "occurred_at": T0.isoformat()})
    assert response.status_code == 400
    assert "type" in response.json()


def test_an_interaction_for_a_missing_contact_is_a_field_error(api):
    response = post(api, "/api/interactions/", {"contact": 999999, "type": "purchase",
                                                "occurred_at": T0.isoformat()})
    assert response.status_code == 400
    assert "contact" in response.json()


def test_the_timeline_is_append_only(api):
    interaction = InteractionFactory()
    url = f"/api/interactions/{interaction.pk}/"
    assert api.patch(url, {"product": "x"}, content_type="application/json").status_code == 405
    assert api.delete(url).status_code == 405
    assert Interaction.objects.filter(pk=interaction.pk).exists()


def test_interactions_filter_by_type_time_product_and_email(api):
    contact = ContactFactory()
    InteractionFactory(contact=contact, type="purchase", product="Boots", occurred_at=T0)
    InteractionFactory(contact=contact, type="email_opened", email_key="welcome",
                       occurred_at=T0 + datetime.timedelta(days=2))

    def types(**params):
        return [i["type"] for i in api.get("/api/interactions/", params).json()["results"]]

    assert types(type="purchase") == ["purchase"]
    assert types(product="Boots") == ["purchase"]
    assert types(email_key="welcome") == ["email_opened"]
    assert types(occurred_after=(T0 + datetime.timedelta(days=1)).isoformat()) == ["email_opened"]
    assert types(occurred_before=(T0 + datetime.timedelta(days=1)).isoformat()) == ["purchase"]


# --- Consent ----------------------------------------------------------------------------------
def test_each_consent_decision_appends_history(api, marketer):
    contact = ContactFactory()
    for status in ("opted_in", "opted_out"):
        response = post(api, "/api/consent/", {"contact": contact.pk, "channel": "email", "status": status,
                                               "note": "Checkbox on the shop's checkout"})
        assert response.status_code == 201, response.content
        assert response.json()["status"] == status

    assert Consent.objects.get().status == "opted_out"
    history = api.get("/api/consent-history/", {"contact": contact.pk}).json()["results"]
    assert [(h["old_status"], h["new_status"]) for h in history] == [
        ("opted_in", "opted_out"), ("not_set", "opted_in"),
    ]
    assert {h["changed_by"] for h in history} == {marketer.pk}
    assert {h["source"] for h in history} == {"api"}


def test_consent_is_listed_by_person_and_channel(api):
    ann, bob = ContactFactory(), ContactFactory()
    post(api, "/api/consent/", {"contact": ann.pk, "channel": "email", "status": "opted_in"})
    post(api, "/api/consent/", {"contact": ann.pk, "channel": "sms", "status": "opted_out"})
    post(api, "/api/consent/", {"contact": bob.pk, "channel": "email", "status": "opted_in"})

    rows = api.get("/api/consent/", {"contact": ann.pk, "channel": "email"}).json()["results"]
    assert [(r["contact"], r["channel"], r["status"], r["effective"]) for r in rows] == [
        (ann.pk, "email", "opted_in", True),
    ]


def test_topic_consent_is_given_by_topic_key(api):
    lead = LeadFactory()
    TopicFactory(key="newsletter")
    response = post(api, "/api/consent/", {"lead": lead.pk, "channel": "email", "topic": "newsletter",
                                           "status": "opted_in", "double_opt_in": "pending"})
    assert response.status_code == 201
    assert (response.json()["topic"], response.json()["effective"]) == ("newsletter", False)
    assert ConsentChange.objects.get().topic.key == "newsletter"


def test_a_consent_decision_needs_a_status_and_a_known_topic(api):
    contact = ContactFactory()
    response = post(api, "/api/consent/", {"contact": contact.pk, "channel": "email", "topic": "nope"})
    assert response.status_code == 400
    assert set(response.json()) == {"status", "topic"}
    assert not ConsentChange.objects.exists()


def test_consent_history_is_read_only(api):
    assert post(api, "/api/consent-history/", {}).status_code == 405


# --- Tasks ------------------------------------------------------------------------------------
def test_a_task_created_through_the_api_records_who_and_where(api, marketer, sales_user):
    contact = ContactFactory()
    response = post(api, "/api/tasks/", {"contact": contact.pk, "subject": "Call back",
                                         "assigned_to": sales_user.pk, "priority": "high"})
    assert response.status_code == 201, response.content
    task = Task.objects.get()
    assert (task.created_by, task.source, task.assigned_to, task.status) == (marketer, "api", sales_user, "open")


def test_a_task_needs_a_user_or_a_queue(api):
    response = post(api, "/api/tasks/", {"contact": ContactFactory().pk, "subject": "Call back"})
    assert response.status_code == 400
    assert "assigned_to" in response.json()


def test_a_task_may_go_to_a_sales_queue(api):
    queue = SalesQueueFactory()
    response = post(api, "/api/tasks/", {"lead": LeadFactory().pk, "subject": "Qualify", "queue": queue.pk})
    assert response.status_code == 201
    assert Task.objects.get().queue == queue


def test_completing_a_task_marks_it_done_once(sales_client):
    task = TaskFactory()
    url = f"/api/tasks/{task.pk}/complete/"
    response = sales_client.post(url)
    assert response.status_code == 200
    assert response.json()["status"] == "done"
    assert response.json()["completed_at"] is not None

    assert sales_client.post(url).status_code == 409


def test_a_read_scope_key_cannot_complete_a_task(sales_user):
    key = APIKey(name="Dashboard", user=sales_user, scope=APIKey.Scope.READ)
    raw_key = key.generate()
    key.save()
    task = TaskFactory()
    response = Client(HTTP_AUTHORIZATION=f"Api-Key {raw_key}").post(f"/api/tasks/{task.pk}/complete/")
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.status == "open"


def test_my_tasks_include_my_queues(sales_client, sales_user):
    queue = SalesQueueFactory()
    queue.members.add(sales_user)
    mine = {TaskFactory(assigned_to=sales_user).pk, TaskFactory(assigned_to=None, queue=queue).pk}
    TaskFactory()
    results = sales_client.get("/api/tasks/", {"mine": "true"}).json()["results"]
    assert {t["id"] for t in results} == mine


# --- Leads, opportunities -------------------------------------------------------------------------
def test_leads_filter_by_status_and_source(api):
    LeadFactory(email="web@example.com", status="new", source="web form")
    LeadFactory(email="fair@example.com", status="qualified", source="event")
    results = api.get("/api/leads/", {"status": "qualified"}).json()["results"]
    assert [r["email"] for r in results] == ["fair@example.com"]
    results = api.get("/api/leads/", {"source": "web form"}).json()["results"]
    assert [r["email"] for r in results] == ["web@example.com"]


def test_an_opportunity_needs_an_account_or_a_contact(api):
    response = post(api, "/api/opportunities/", {"name": "Renewal"})
    assert response.status_code == 400
    assert "account" in response.json()
    assert post(api, "/api/opportunities/", {"name": "Renewal", "contact": ContactFactory().pk}).status_code == 201


def test_opportunities_filter_by_account_and_stage(api):
    acme = AccountFactory()
    post(api, "/api/opportunities/", {"name": "Acme renewal", "account": acme.pk, "stage": "propose"})
    post(api, "/api/opportunities/", {"name": "Other", "account": AccountFactory().pk})
    results = api.get("/api/opportunities/", {"account": acme.pk, "stage": "propose"}).json()["results"]
    assert [(r["name"], r["account_name"]) for r in results] == [("Acme renewal", acme.name)]


# --- Custom attribute definitions ---------------------------------------------------------------
def test_any_signed_in_user_may_read_custom_attribute_definitions(client, db):
    CustomAttribute.objects.create(key="tier", label="Tier")
    user = UserFactory(username="integration")
    user.save()  # the factory does not save the password it sets; the session checks it
    client.force_login(user)
    assert [a["key"] for a in client.get("/api/custom-attributes/").json()["results"]] == ["tier"]
    response = post(client, "/api/custom-attributes/", {"key": "size", "label": "Size"})
    assert response.status_code == 403


def test_a_marketer_defines_a_custom_attribute(api):
    response = post(api, "/api/custom-attributes/", {"key": "tier", "label": "Tier", "type": "choice",
                                                     "choices": ["gold", "silver"]})
    assert response.status_code == 201
    assert CustomAttribute.objects.get().choices == ["gold", "silver"]


def test_a_choice_attribute_needs_choices(api):
    response = post(api, "/api/custom-attributes/", {"key": "tier", "label": "Tier", "type": "choice"})
    assert response.status_code == 400
    assert "choices" in response.json()


def test_a_sales_user_cannot_define_custom_attributes(sales_client):
    response = post(sales_client, "/api/custom-attributes/", {"key": "tier", "label": "Tier"})
    assert response.status_code == 403


def test_sales_queues_are_listed_with_their_members(db, marketer):
    queue = SalesQueueFactory(name="Inbound")
    queue.members.add(marketer)
    client = APIClient()
    client.force_authenticate(marketer)
    response = client.get("/api/sales-queues/")
    assert response.status_code == 200
    assert response.json()["results"] == [{"id": queue.pk, "name": "Inbound", "description": "",
                                           "members": [marketer.pk]}]
    assert client.post("/api/sales-queues/", {"name": "x"}).status_code == 405
