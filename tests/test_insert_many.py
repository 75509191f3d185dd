"""config.db.insert_many: what bulk_create stores, in one statement, with primary keys set."""

import datetime
import decimal

import pytest
from django.db import IntegrityError, transaction

from config.db import insert_many
from contacts.models import Interaction
from journeys.models import Journey, JourneyRun, JourneyVersion, StepLog
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
AT = datetime.datetime(2026, 11, 2, 9, 0, 0, 123456, tzinfo=datetime.UTC)


def test_rows_are_stored_as_bulk_create_would_store_them(django_assert_num_queries):
    contact = ContactFactory()
    made = [Interaction(contact=contact, type="purchase", occurred_at=AT + datetime.timedelta(seconds=n),
                        product=f"Beans {n}", amount=decimal.Decimal("12.50"), properties={"order": n, "items": ["a"]})
            for n in range(3)]
    with django_assert_num_queries(1):
        insert_many(made)
    stored = {i.pk: i for i in Interaction.objects.filter(contact=contact)}
    assert [i.pk for i in made] == sorted(stored)  # keys set, in order
    for n, interaction in enumerate(made):
        again = stored[interaction.pk]
        assert (again.occurred_at, again.product, again.amount, again.properties) == (
            AT + datetime.timedelta(seconds=n), f"Beans {n}", decimal.Decimal("12.50"), {"order": n, "items": ["a"]})
        assert again.recorded_at is not None  # auto_now_add, as bulk_create sets it
        assert not interaction._state.adding


def test_a_unique_violation_raises_djangos_integrity_error():
    journey = Journey.objects.create(name="J", tiles={"start": "a", "tiles": {"a": {"type": "exit"}}})
    version = JourneyVersion.objects.create(journey=journey, number=1, tiles=journey.tiles, created_at=AT)
    run = JourneyRun.objects.create(journey=journey, version=version, contact=ContactFactory(), tile_key="a",
                                    state="active", entered_at=AT)
    line = {"run": run, "tile_key": "a", "attempt": 1, "outcome": "next", "at": AT}
    insert_many([StepLog(**line)])
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_many([StepLog(**line)])
    assert StepLog.objects.filter(run=run).count() == 1


def test_nothing_to_insert_costs_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        insert_many([])


def test_values_already_taken_are_skipped_and_left_out_of_the_answer(django_assert_num_queries):
    from channels.models import BrandProfile, Delivery, Email, EmailVersion, SenderProfile

    sender = SenderProfile.objects.create(name="S", from_name="Contoso", from_email="shop@contoso.test")
    brand = BrandProfile.objects.create(name="B", postal_address="1 Bean Street", footer_text="Contoso")
    email = Email.objects.create(name="E", key="e", sender=sender, brand=brand, subject="Hi")
    version = EmailVersion.objects.create(email=email, number=1, subject="Hi", html="", text="", published_at=AT)
    contact = ContactFactory()

    def delivery(key):
        return Delivery(contact=contact, email=email, version=version, idempotency_key=key, queued_at=AT)

    first = insert_many([delivery("a")], skip_taken="idempotency_key")
    again, new, repeat = delivery("a"), delivery("b"), delivery("b")
    with django_assert_num_queries(1):
        inserted = insert_many([again, new, repeat], skip_taken="idempotency_key")
    assert inserted == [new] and new.pk and again.pk is None and repeat.pk is None
    assert set(Delivery.objects.values_list("idempotency_key", "pk")) == {("a", first[0].pk), ("b", new.pk)}
