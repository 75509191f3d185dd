"""Record triggers fire from every write path, after commit, with field-level change detection."""

import pytest

from contacts import imports
from contacts.models import Account, Contact, Lead, Opportunity
from journeys import services
from journeys.models import EXIT, TriggerEvent
from tests.factories import AccountFactory, ContactFactory, LeadFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


def test_creating_a_contact_fires_contact_created_after_commit(committed, events):
    with committed() as callbacks:
        contact = Contact.objects.create(email="ada@example.com", first_name="Ada", last_name="Lovelace")
        assert not TriggerEvent.objects.exists()  # nothing before the commit
    assert callbacks
    assert events("contact.created") == [(contact, {"contact": contact.pk, "email": "ada@example.com",
                                                    "first_name": "Ada", "last_name": "Lovelace"})]


def test_updating_a_contact_names_the_changed_fields(committed, events):
    contact = ContactFactory(first_name="Ada", city="London")
    with committed():
        contact = Contact.objects.get(pk=contact.pk)
        contact.first_name, contact.city = "Augusta", "Paris"
        contact.save()
    [(person, payload)] = events("contact.updated")
    assert person == contact and payload["fields"] == ["city", "first_name"]
    assert payload["first_name"] == "Augusta"


def test_saving_a_contact_unchanged_fires_nothing(committed):
    contact = ContactFactory()
    with committed():
        Contact.objects.get(pk=contact.pk).save()
    assert not TriggerEvent.objects.filter(key="contact.updated").exists()


def test_a_contact_created_through_the_api_fires_contact_created(marketer_client, committed, events):
    with committed():
        response = marketer_client.post("/api/contacts/", {"email": "api@example.com", "first_name": "Api"},
                                        content_type="application/json")
    assert response.status_code == 201, response.content
    [(person, payload)] = events("contact.created")
    assert person.email == "api@example.com" and payload["first_name"] == "Api"


def test_a_lead_qualified_fires_updated_and_qualified(committed, events):
    lead = LeadFactory(company="Fabrikam", status="new")
    with committed():
        lead = Lead.objects.get(pk=lead.pk)
        lead.status = "qualified"
        lead.save()
    [(person, payload)] = events("lead.qualified")
    assert person == lead and payload["status"] == "qualified" and payload["company"] == "Fabrikam"
    assert events("lead.updated")[0][1]["fields"] == ["status"]
    assert events("lead.disqualified") == []


def test_a_lead_disqualified_fires_lead_disqualified(committed, events):
    lead = LeadFactory(status="contacted")
    with committed():
        lead.status = "disqualified"
        lead.save()
    assert [p for p, _ in events("lead.disqualified")] == [lead]


def test_a_new_lead_fires_lead_created(committed, events):
    with committed():
        lead = Lead.objects.create(email="new@example.com", company="Contoso", source="web form")
    assert events("lead.created") == [(lead, {"lead": lead.pk, "email": "new@example.com", "first_name": "",
                                              "last_name": "", "company": "Contoso", "status": "new",
                                              "source": "web form"})]


def test_opportunity_triggers_fire_for_its_contact(committed, events):
    contact = ContactFactory()
    with committed():
        opportunity = Opportunity.objects.create(name="Espresso machines", contact=contact, estimated_revenue=1200)
    [(person, created)] = events("opportunity.created")
    assert person == contact and created["opportunity"] == opportunity.pk and created["estimated_revenue"] == 1200.0
    with committed():
        opportunity.stage = "propose"
        opportunity.save()
    [(_, moved)] = events("opportunity.stage_changed")
    assert (moved["stage"], moved["previous_stage"]) == ("propose", "qualify")
    with committed():
        opportunity.status = "won"
        opportunity.save()
    assert [(p, payload["status"]) for p, payload in events("opportunity.won")] == [(contact, "won")]
    assert events("opportunity.lost") == []


def test_a_lost_opportunity_fires_opportunity_lost(committed, events):
    opportunity = OpportunityFactory(contact=ContactFactory())
    with committed():
        opportunity.status = "lost"
        opportunity.save()
    assert len(events("opportunity.lost")) == 1


def test_an_opportunity_without_a_contact_fires_nothing(committed):
    with committed():
        opportunity = Opportunity.objects.create(name="Fleet", account=AccountFactory())
        opportunity.status = "won"
        opportunity.save()
    assert not TriggerEvent.objects.filter(key__startswith="opportunity.").exists()


def test_account_created_fires_for_the_contacts_it_has_at_commit(committed, events):
    with committed():
        account = Account.objects.create(name="Fabrikam", industry="Retail")
        ann = ContactFactory(account=account)
        bob = ContactFactory(account=account)
    assert events("account.created") == [
        (ann, {"account": account.pk, "name": "Fabrikam", "industry": "Retail", "country": ""}),
        (bob, {"account": account.pk, "name": "Fabrikam", "industry": "Retail", "country": ""}),
    ]


def test_an_account_without_contacts_fires_nothing(committed):
    with committed():
        Account.objects.create(name="Lonely")
    assert not TriggerEvent.objects.filter(key="account.created").exists()


def test_record_triggers_wait_for_the_commit_and_vanish_with_a_rollback(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ContactFactory()
    assert callbacks and not TriggerEvent.objects.exists()


def test_an_import_fires_one_event_per_person_in_one_call_per_batch(tmp_path, committed, events, now):
    existing = ContactFactory(email="old@example.com", city="Oslo")
    csv = tmp_path / "people.csv"
    csv.write_text("email,first_name,city,account\nnew@example.com,Nia,Bergen,Fabrikam\nold@example.com,,Paris,\n")
    with committed():
        imports.import_contacts_file(str(csv), now=now)
    [(created, payload)] = events("contact.created")
    assert created.email == "new@example.com" and payload["first_name"] == "Nia"
    [(updated, changes)] = events("contact.updated")
    assert updated == existing and "city" in changes["fields"]
    assert [p.email for p, _ in events("account.created")] == ["new@example.com"]


def test_a_journeys_update_record_tile_fires_contact_updated(journey_of, committed, events, now):
    journey = journey_of("move", {"move": {"type": "update_record", "field": "city", "value": "Oslo", "next": EXIT}},
                         entry_trigger="form.submitted")
    services.go_live(journey, now=now)
    contact = ContactFactory(city="Bergen")
    with committed():
        services.publish("form.submitted", person=contact, payload={"form": "move"}, source="test", now=now)
    [(person, payload)] = events("contact.updated")
    assert person == contact and payload["fields"] == ["city"]
