"""The people schema's invariants hold on every write path: constraints, clean(), the change hook."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from contacts import hooks, services
from contacts.models import Contact, CustomAttribute, Interaction, Task
from tests.factories import AccountFactory, ContactFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_contact_email_is_unique_whatever_its_case():
    ContactFactory(email="Ann@Example.com")
    with pytest.raises(IntegrityError):
        ContactFactory(email="ann@EXAMPLE.com")


def test_contact_email_is_stored_lower_case_even_through_bulk_create():
    Contact.objects.bulk_create([Contact(email="BULK@Example.COM")])
    assert Contact.objects.get().email == "bulk@example.com"


def test_contacts_without_email_may_coexist():
    ContactFactory(email=None)
    ContactFactory(email=None)
    assert Contact.objects.count() == 2


def test_an_interaction_points_at_exactly_one_person(now):
    contact, lead = ContactFactory(), LeadFactory()
    with pytest.raises(IntegrityError):
        Interaction.objects.create(contact=contact, lead=lead, type="purchase", occurred_at=now)


def test_an_interaction_without_a_person_is_refused(now):
    with pytest.raises(IntegrityError):
        Interaction.objects.create(type="purchase", occurred_at=now)


def test_custom_attributes_are_validated_by_type_and_choice():
    CustomAttribute.objects.create(key="tier", label="Tier", type="choice", choices=["gold", "silver"])
    CustomAttribute.objects.create(key="visits", label="Visits", type="number")
    contact = ContactFactory.build(attributes={"tier": "platinum", "visits": "many", "shoe_size": 42})
    with pytest.raises(ValidationError) as error:
        contact.full_clean()
    messages = error.value.message_dict["attributes"]
    assert any("tier" in m and "platinum" in m for m in messages)
    assert any("visits" in m for m in messages)
    assert any("shoe_size" in m and "no such" in m for m in messages)


def test_custom_attributes_are_coerced_to_their_type():
    CustomAttribute.objects.create(key="visits", label="Visits", type="number")
    CustomAttribute.objects.create(key="member", label="Member", type="boolean")
    contact = ContactFactory.build(attributes={"visits": "12", "member": "yes"})
    contact.full_clean()
    assert contact.attributes == {"visits": 12, "member": True}


def test_a_required_custom_attribute_must_be_present():
    CustomAttribute.objects.create(key="region_code", label="Region code", type="text", required=True)
    with pytest.raises(ValidationError, match="required"):
        ContactFactory.build(attributes={}).full_clean()


def test_a_choice_attribute_needs_choices():
    with pytest.raises(ValidationError):
        CustomAttribute(key="tier", label="Tier", type="choice", choices=[]).full_clean()


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ValidationError, match="time zone"):
        ContactFactory.build(time_zone="Mars/Olympus").full_clean()


def test_a_task_is_assigned_to_a_user_or_a_queue(now):
    with pytest.raises(ValidationError, match="user or a sales queue"):
        services.create_task(ContactFactory(), subject="Call back", now=now)


def test_completing_a_task_twice_counts_once(now):
    task = services.create_task(ContactFactory(), subject="Call", assigned_to=UserFactory(), now=now)
    assert services.complete_task(task, now=now)
    assert not services.complete_task(task, now=now)
    assert Task.objects.get().status == "done"


def test_record_interaction_refuses_unknown_columns(now):
    with pytest.raises(TypeError, match="colour"):
        services.record_interaction(ContactFactory(), type="purchase", occurred_at=now, colour="red")


@pytest.fixture
def changes():
    seen: list[hooks.PeopleChange] = []
    hooks.subscribe(seen.append)
    yield seen
    hooks.unsubscribe(seen.append)


@pytest.mark.django_db(transaction=True)
def test_saving_a_contact_reports_the_fields_that_changed_after_commit(changes):
    contact = ContactFactory(city="Austin")
    assert changes[-1].created
    contact = Contact.objects.get(pk=contact.pk)
    contact.city = "Dallas"
    contact.save()
    assert changes[-1] == hooks.PeopleChange(frozenset({contact.pk}), frozenset(), frozenset({"city"}))


@pytest.mark.django_db(transaction=True)
def test_a_save_that_changes_nothing_reports_nothing(changes):
    contact = ContactFactory()
    before = len(changes)
    Contact.objects.get(pk=contact.pk).save()
    assert len(changes) == before


@pytest.mark.django_db(transaction=True)
def test_nothing_is_reported_for_a_rolled_back_write(changes):
    with pytest.raises(RuntimeError), transaction.atomic():
        ContactFactory()
        raise RuntimeError("rollback")
    assert changes == []


@pytest.mark.django_db(transaction=True)
def test_interactions_consent_and_account_changes_report_their_people(changes, now):
    account = AccountFactory()
    contact = ContactFactory(account=account)
    lead = LeadFactory()
    changes.clear()
    services.record_interaction(contact, type="purchase", occurred_at=now, product="cold brew")
    services.set_consent(lead, channel="email", status="opted_in", now=now)
    account.industry = "Manufacturing"
    account.save()
    assert ("interaction.purchase" in changes[0].fields) and changes[0].contact_ids == {contact.pk}
    assert changes[1].lead_ids == {lead.pk} and "consent.email" in changes[1].fields
    assert changes[-1].contact_ids == {contact.pk} and changes[-1].fields == {"account.industry"}


@pytest.mark.django_db(transaction=True)
def test_a_failing_subscriber_does_not_stop_the_others(changes):
    def broken(change):
        raise RuntimeError("boom")

    hooks.subscribe(broken)
    try:
        ContactFactory()
    finally:
        hooks.unsubscribe(broken)
    assert changes
