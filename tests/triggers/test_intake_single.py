"""Firing one event: one INSERT per event in the usual case, kept definitions re-checked by that
INSERT, and a retry (same Idempotency-Key) answered with the first event whatever changed since."""

import datetime

import pytest
from django.utils import timezone

from contacts.models import Lead
from journeys import ingest
from journeys.api.triggers import FiredSerializer
from journeys.models import CustomTrigger, TriggerEvent
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
ADA = "ada@example.com"




def fire(api, payload, key="store.visited", **headers):
    return api.post(f"/api/triggers/{key}/fire/", {"payload": payload}, content_type="application/json", **headers)


def test_a_known_contact_s_event_is_one_insert(api, visit, django_assert_num_queries):
    ContactFactory(email=ADA)
    assert fire(api, {"email": ADA, "store": "Oslo"}).status_code == 202  # reads the key and the trigger
    with django_assert_num_queries(1) as queries:
        response = fire(api, {"email": ADA, "store": "Bergen"})
    assert response.status_code == 202
    assert queries.captured_queries[0]["sql"].startswith('INSERT INTO "journeys_triggerevent"')
    assert TriggerEvent.objects.count() == 2


def test_the_answer_is_the_stored_event_as_the_serializer_words_it(api, visit):
    ContactFactory(email=ADA)
    response = fire(api, {"email": " Ada@Example.com ", "store": "Oslo"})
    event = TriggerEvent.objects.get()
    assert response.json() == FiredSerializer(event).data
    assert (event.payload, event.source) == ({"email": " Ada@Example.com ", "store": "Oslo"}, "api: Shop integration")


def test_a_trigger_changed_elsewhere_is_read_again_before_the_event_is_stored(api, visit):
    """Another process saving the trigger changes its row (updated_at), not this process's copy."""
    ContactFactory(email=ADA)
    assert fire(api, {"email": ADA, "store": "Oslo"}).status_code == 202
    attributes = [*visit.attributes, {"name": "basket", "type": "list", "required": True}]
    CustomTrigger.objects.filter(pk=visit.pk).update(attributes=attributes,
                                                     updated_at=timezone.now() + datetime.timedelta(seconds=1))
    refused = fire(api, {"email": ADA, "store": "Oslo"})
    assert refused.status_code == 400
    assert refused.json() == {"payload": ["'basket' is a required property"]}
    assert fire(api, {"email": ADA, "store": "Oslo", "basket": ["Beans"]}).status_code == 202
    CustomTrigger.objects.filter(pk=visit.pk).update(active=False,
                                                     updated_at=timezone.now() + datetime.timedelta(seconds=2))
    assert fire(api, {"email": ADA, "store": "Oslo", "basket": ["Beans"]}).status_code == 404
    assert TriggerEvent.objects.count() == 2


def test_a_refusal_is_judged_again_by_the_trigger_as_it_is_now(api, visit):
    """A kept copy never refuses what the trigger, changed elsewhere, now accepts."""
    ContactFactory(email=ADA)
    assert fire(api, {"email": ADA, "store": "Oslo"}).status_code == 202
    optional = [{**attribute, "required": False} for attribute in visit.attributes]
    CustomTrigger.objects.filter(pk=visit.pk).update(attributes=optional,
                                                     updated_at=timezone.now() + datetime.timedelta(seconds=1))
    assert fire(api, {"email": ADA}).status_code == 202


def test_a_trigger_saved_in_this_process_is_read_again_at_once(api, visit):
    ContactFactory(email=ADA)
    assert fire(api, {"email": ADA, "store": "Oslo"}).status_code == 202
    visit.active = False
    visit.save()
    assert fire(api, {"email": ADA, "store": "Oslo"}).status_code == 404


def test_a_retry_gets_the_first_event_even_past_the_rate_or_with_a_payload_now_invalid(api, visit):
    visit.rate_limit_per_minute = 2
    visit.save()
    ContactFactory(email=ADA)
    first = fire(api, {"email": ADA, "store": "Oslo"}, HTTP_IDEMPOTENCY_KEY="v1")
    again = fire(api, {"email": ADA, "store": "Oslo"}, HTTP_IDEMPOTENCY_KEY="v1")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    # The replay was not counted against the rate.
    assert fire(api, {"email": ADA, "store": "Oslo"}, HTTP_IDEMPOTENCY_KEY="v2").status_code == 202
    assert fire(api, {"email": ADA, "store": "Oslo"}, HTTP_IDEMPOTENCY_KEY="v3").status_code == 429
    past_rate = fire(api, {"email": ADA, "store": "Oslo"}, HTTP_IDEMPOTENCY_KEY="v1")
    invalid_now = fire(api, {"email": ADA}, HTTP_IDEMPOTENCY_KEY="v1")
    assert past_rate.status_code == invalid_now.status_code == 202
    assert past_rate.json() == invalid_now.json() == first.json()
    assert TriggerEvent.objects.count() == 2


def test_a_lead_is_found_by_email_when_no_contact_has_it_and_a_contact_wins(api, visit):
    older, _newer = Lead.objects.create(email=ADA), Lead.objects.create(email=ADA)
    assert fire(api, {"email": ADA, "store": "Oslo"}).json()["lead"] == older.pk
    ada = ContactFactory(email=ADA)
    assert fire(api, {"email": ADA, "store": "Oslo"}).json()["contact"] == ada.pk
    assert [(e.contact_id, e.lead_id) for e in TriggerEvent.objects.order_by("id")] == [(None, older.pk),
                                                                                         (ada.pk, None)]


@pytest.mark.parametrize("identifies", ["contact_id", "lead_id"])
def test_a_person_named_by_id_is_found_in_one_insert(api, identifies, django_assert_num_queries):
    CustomTrigger.objects.create(name="Seen", key="person.seen", person_field="who", identifies=identifies)
    person = ContactFactory() if identifies == "contact_id" else Lead.objects.create(email="lee@example.com")
    other_kind = Lead.objects.create(email="x@example.com") if identifies == "contact_id" else ContactFactory()
    assert fire(api, {"who": person.pk}, key="person.seen").status_code == 202
    with django_assert_num_queries(1):
        assert fire(api, {"who": person.pk}, key="person.seen").status_code == 202
    missing = max(person.pk, other_kind.pk) + 1000
    refused = fire(api, {"who": missing}, key="person.seen")
    assert refused.status_code == 400 and str(missing) in refused.json()["who"][0]
    field = "contact_id" if identifies == "contact_id" else "lead_id"
    assert list(TriggerEvent.objects.values_list(field, flat=True)) == [person.pk, person.pk]


def test_ingest_fire_names_a_stale_trigger_and_stores_nothing(visit, now):
    ContactFactory(email=ADA)
    stale = CustomTrigger.objects.get(pk=visit.pk)
    visit.save()  # a new updated_at
    with pytest.raises(ingest.StaleTrigger):
        ingest.fire(stale, {"email": ADA, "store": "Oslo"}, idempotency_key=None, source="test", now=now)
    assert not TriggerEvent.objects.exists()


def test_a_trigger_that_keeps_changing_during_the_request_answers_409_and_stores_nothing(api, visit, monkeypatch):
    ContactFactory(email=ADA)

    def always_stale(*args, **kwargs):
        raise ingest.StaleTrigger("edited meanwhile")

    monkeypatch.setattr(ingest, "fire", always_stale)
    response = fire(api, {"email": ADA, "store": "Oslo"})
    assert response.status_code == 409 and "Send it again" in response.json()["detail"]
    assert not TriggerEvent.objects.exists()
