"""Consent per channel and topic, with an append-only history, and the may-we-send helper."""

import datetime

import pytest
from django.db import IntegrityError

from contacts import services
from contacts.models import Consent, ConsentChange
from tests.factories import ContactFactory, LeadFactory, TopicFactory

pytestmark = pytest.mark.django_db
LATER = datetime.timedelta(hours=1)


def test_every_decision_appends_history_and_updates_the_current_state(now):
    contact = ContactFactory()
    services.set_consent(contact, channel="email", status="opted_in", source="form", now=now)
    services.set_consent(contact, channel="email", status="opted_out", source="unsubscribe link", now=now + LATER)
    consent = Consent.objects.get(contact=contact, channel="email", topic=None)
    assert consent.status == "opted_out"
    history = list(ConsentChange.objects.filter(contact=contact).order_by("changed_at"))
    assert [(h.old_status, h.new_status, h.source) for h in history] == [
        ("not_set", "opted_in", "form"), ("opted_in", "opted_out", "unsubscribe link"),
    ]


def test_history_rows_cannot_be_changed(now):
    contact = ContactFactory()
    services.set_consent(contact, channel="sms", status="opted_in", now=now)
    change = ConsentChange.objects.get()
    change.new_status = "opted_out"
    with pytest.raises(ValueError, match="append-only"):
        change.save()


def test_commercial_email_needs_an_effective_channel_opt_in(now):
    contact = ContactFactory()
    assert not services.may_send(contact, channel="email")
    services.set_consent(contact, channel="email", status="opted_in", now=now)
    assert services.may_send(contact, channel="email")
    assert not services.may_send(contact, channel="sms")


def test_a_pending_double_opt_in_counts_only_once_confirmed(now):
    lead = LeadFactory()
    services.set_consent(lead, channel="email", status="opted_in", double_opt_in="pending", now=now)
    assert not services.may_send(lead, channel="email")
    services.confirm_double_opt_in(lead, channel="email", now=now + LATER)
    assert services.may_send(lead, channel="email")
    assert ConsentChange.objects.filter(lead=lead).count() == 2


def test_a_topic_opt_out_blocks_that_topic_only(now):
    contact = ContactFactory()
    newsletter = TopicFactory(key="newsletter", name="Newsletter")
    events = TopicFactory(key="events", name="Events")
    services.set_consent(contact, channel="email", status="opted_in", now=now)
    services.set_consent(contact, channel="email", topic=newsletter, status="opted_out", now=now)
    assert not services.may_send(contact, channel="email", topic=newsletter)
    assert services.may_send(contact, channel="email", topic=events)


def test_a_topic_that_requires_opt_in_needs_one(now):
    contact = ContactFactory()
    vip = TopicFactory(key="vip", name="VIP offers", requires_opt_in=True)
    services.set_consent(contact, channel="email", status="opted_in", now=now)
    assert not services.may_send(contact, channel="email", topic=vip)
    services.set_consent(contact, channel="email", topic=vip, status="opted_in", now=now)
    assert services.may_send(contact, channel="email", topic=vip)


def test_transactional_messages_are_not_a_consent_matter():
    assert services.may_send(ContactFactory(), channel="email", commercial=False)


def test_one_current_row_per_person_channel_and_topic(now):
    contact = ContactFactory()
    services.set_consent(contact, channel="email", status="opted_in", now=now)
    with pytest.raises(IntegrityError):
        Consent.objects.create(contact=contact, channel="email", status="opted_out", updated_at=now)


def test_unknown_channels_and_statuses_are_refused(now):
    contact = ContactFactory()
    with pytest.raises(ValueError, match="channel"):
        services.set_consent(contact, channel="fax", status="opted_in", now=now)
    with pytest.raises(ValueError, match="status"):
        services.set_consent(contact, channel="email", status="maybe", now=now)
