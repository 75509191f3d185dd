"""queue_email and queue_emails: one INSERT per call in the caller's transaction (however many
messages), the first Delivery for a key used twice, and one wake-up of the sender after commit."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from channels import services, tasks
from channels.models import Delivery
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(make_email, now):
    email = make_email()
    return email, services.publish(email, now=now)


def test_a_caller_holding_the_version_queues_with_one_statement(published, now, django_assert_num_queries):
    email, version = published
    contact = ContactFactory()
    with django_assert_num_queries(1) as captured:
        delivery = services.queue_email(email, person=contact, idempotency_key="run:1:t:1", now=now, version=version)
    assert "ON CONFLICT" in captured.captured_queries[0]["sql"].upper()
    stored = Delivery.objects.get(pk=delivery.pk)
    assert (stored.version, stored.contact, stored.status, stored.to_address) == (version, contact, "queued",
                                                                                  contact.email)
    assert stored.message_id == delivery.message_id and stored.message_id.endswith("@contoso.test>")


def test_without_a_version_the_latest_published_one_is_looked_up(published, make_email, now,
                                                                  django_assert_num_queries):
    email, _first = published
    email.subject = "Second thoughts"
    email.save()
    second = services.publish(email, now=now)
    contact = ContactFactory()
    with django_assert_num_queries(2):
        delivery = services.queue_email(email, person=contact, idempotency_key="k", now=now)
    assert Delivery.objects.get(pk=delivery.pk).version == second


def test_a_key_used_twice_returns_the_first_delivery_without_breaking_the_transaction(
        published, now, django_assert_num_queries):
    email, version = published
    first = services.queue_email(email, person=ContactFactory(), idempotency_key="dup", now=now, version=version,
                                 context={"trigger": {"order": 1}})
    other = ContactFactory()
    with django_assert_num_queries(2):  # the insert that does nothing, then the first row
        again = services.queue_email(email, person=other, idempotency_key="dup", now=now,
                                     version=version, context={"trigger": {"order": 2}})
    assert again.pk == first.pk and again.context == {"trigger": {"order": 1}}
    assert again.message_id == first.message_id
    assert Delivery.objects.filter(idempotency_key="dup").count() == 1  # the transaction is still usable
    assert not connection.needs_rollback


def test_the_sender_is_woken_once_after_commit_however_many_are_queued(published, now, monkeypatch,
                                                                       django_capture_on_commit_callbacks):
    email, version = published
    woken = []
    monkeypatch.setattr(tasks.send_queued, "delay", lambda *args: woken.append(args))
    contacts = [ContactFactory() for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        for n, contact in enumerate(contacts):
            services.queue_email(email, person=contact, idempotency_key=f"k{n}", now=now, version=version)
        services.queue_email(email, person=contacts[1], idempotency_key="k0", now=now, version=version)
        assert woken == []  # nothing before the commit
    assert woken == [()]


def test_a_duplicate_alone_does_not_wake_the_sender(published, now, monkeypatch, django_capture_on_commit_callbacks):
    email, version = published
    contact = ContactFactory()
    services.queue_email(email, person=contact, idempotency_key="once", now=now, version=version)
    woken = []
    monkeypatch.setattr(tasks.send_queued, "delay", lambda *args: woken.append(args))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.queue_email(email, person=contact, idempotency_key="once", now=now, version=version)
    assert callbacks == [] and woken == []


def test_many_messages_queue_in_one_statement_in_order_with_the_first_row_for_a_used_key(
        published, make_email, now, django_assert_num_queries):
    email, version = published
    ann, bob, cid = ContactFactory(), ContactFactory(), ContactFactory()
    first = services.queue_email(email, person=ann, idempotency_key="used", now=now, version=version)
    messages = [services.EmailToQueue(email, bob, "b", {"trigger": {"n": 1}}, None, "send", version),
                services.EmailToQueue(email, cid, "used", version=version),  # queued before: the first row
                services.EmailToQueue(email, cid, "c", version=version),
                services.EmailToQueue(email, cid, "c", version=version)]  # twice in this call: one row
    with django_assert_num_queries(2):  # one INSERT for the lot, one SELECT for the used key
        deliveries = services.queue_emails(messages, now=now)
    assert [d.idempotency_key for d in deliveries] == ["b", "used", "c", "c"]
    assert deliveries[1].pk == first.pk and deliveries[1].contact_id == ann.pk
    assert deliveries[2].pk == deliveries[3].pk
    assert Delivery.objects.count() == 3
    stored = Delivery.objects.get(idempotency_key="b")
    assert (stored.contact, stored.context, stored.tile_key, stored.version) == (bob, {"trigger": {"n": 1}}, "send",
                                                                                 version)


def test_queue_emails_refuses_an_unpublished_email_and_stores_nothing(make_email, now):
    draft = make_email()
    with pytest.raises(ValidationError, match="no published version"):
        services.queue_emails([services.EmailToQueue(draft, ContactFactory(), "k")], now=now)
    assert not Delivery.objects.exists()


def test_a_batch_claimed_in_full_wakes_a_helper_even_when_none_of_it_was_sent(published, now, monkeypatch):
    email, version = published
    for n in range(3):  # no consent: each is claimed and suppressed, none sent
        services.queue_email(email, person=ContactFactory(), idempotency_key=f"k{n}", now=now, version=version)
    woken = []
    monkeypatch.setattr(tasks.send_queued, "delay", lambda *args: woken.append(args))
    assert tasks.send_queued(limit=2) == 2  # claimed in full: more may wait
    assert woken == [()]
    assert services.send_next(now=now, limit=2) == services.Sent(claimed=1, sent=0)
    assert Delivery.objects.filter(status="suppressed").count() == 3
