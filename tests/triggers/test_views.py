"""The marketer's trigger pages and admin."""

import html

import pytest

from journeys.models import CustomTrigger, TriggerEvent
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cart(db):
    return CustomTrigger.objects.create(name="Cart abandoned", key="basket.abandoned", person_field="email",
                                        attributes=[{"name": "items", "type": "list", "required": True}])


def test_the_catalog_shows_every_trigger_with_its_attributes(marketer_client, cart):
    page = marketer_client.get("/triggers/").content.decode()
    for key in ("contact.updated", "email.complained", "segment.entered", "journey.goal_reached", "basket.abandoned"):
        assert f'data-trigger="{key}"' in page
    assert "<b>items</b> · list of string*" in page


def test_a_trigger_page_has_a_curl_example_and_a_test_form(marketer_client, cart):
    page = marketer_client.get("/triggers/basket.abandoned/").content.decode()
    assert "/api/triggers/basket.abandoned/fire/" in page and "Idempotency-Key" in page
    assert "Fire test event" in page
    assert marketer_client.get("/triggers/no.such/").status_code == 404


def test_firing_a_test_event_stores_it_and_lists_it(marketer_client, cart, committed):
    ada = ContactFactory(email="ada@example.com")
    with committed():
        response = marketer_client.post("/triggers/fire/", {
            "key": "basket.abandoned", "email": "ada@example.com",
            "payload": '{"email": "ada@example.com", "items": ["Kit"]}'})
    assert response.status_code == 302
    event = TriggerEvent.objects.get(key="basket.abandoned")
    assert event.contact == ada and event.source == "test by marketer"
    listing = marketer_client.get("/triggers/events/?key=basket.abandoned").content.decode()
    assert f'data-event="{event.pk}"' in listing and "Kit" in listing
    rows = marketer_client.get("/triggers/events/?key=basket.abandoned", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 3s"' in rows and "<html" not in rows


def test_a_bad_test_event_is_explained_and_stores_nothing(marketer_client, cart):
    ContactFactory(email="ada@example.com")
    response = marketer_client.post("/triggers/fire/", {"key": "basket.abandoned", "email": "nobody@example.com",
                                                        "payload": '{"items": "Kit"}'})
    assert response.status_code == 400
    page = response.content.decode()
    assert "No contact or lead has this email." in page and "is not of type" in page
    assert not TriggerEvent.objects.exists()


def test_the_designer_creates_a_custom_trigger_with_typed_attributes(marketer_client):
    response = marketer_client.post("/triggers/custom/new/", {
        "name": "Cart abandoned", "key": "basket.abandoned", "kind": "api", "person_field": "email",
        "identifies": "email", "when_unmatched": "create_lead", "condition": "changed", "active": "on",
        "attributes-TOTAL_FORMS": "2", "attributes-INITIAL_FORMS": "0",
        "attributes-0-name": "items", "attributes-0-type": "list", "attributes-0-required": "on",
        "attributes-1-name": "total", "attributes-1-type": "number",
    })
    assert response.status_code == 302, response.content.decode()[-2000:]
    trigger = CustomTrigger.objects.get()
    assert trigger.attributes == [{"name": "items", "type": "list", "required": True},
                                  {"name": "total", "type": "number", "required": False}]
    assert marketer_client.get(f"/triggers/custom/{trigger.pk}/edit/").status_code == 200


def test_the_designer_refuses_a_bad_key_and_binding(marketer_client):
    response = marketer_client.post("/triggers/custom/new/", {
        "name": "Won", "key": "Deal Won", "kind": "record", "record_table": "opportunity", "record_field": "colour",
        "condition": "changed_to", "value": "", "identifies": "email", "when_unmatched": "reject",
        "attributes-TOTAL_FORMS": "1", "attributes-INITIAL_FORMS": "0", "attributes-0-name": "Bad Name",
        "attributes-0-type": "text",
    })
    assert response.status_code == 200
    page = response.content.decode()
    assert "nothing was saved" in page and "dotted noun.past_verb" in page and "Choose one of" in page
    assert "Give the value the field changes to." in page and "lower case letters" in page
    assert not CustomTrigger.objects.exists()


def test_the_designer_refuses_duplicate_attributes(marketer_client):
    response = marketer_client.post("/triggers/custom/new/", {
        "name": "Cart", "key": "basket.abandoned", "kind": "api", "person_field": "email", "identifies": "email",
        "when_unmatched": "reject", "condition": "changed", "attributes-TOTAL_FORMS": "2",
        "attributes-INITIAL_FORMS": "0", "attributes-0-name": "items", "attributes-0-type": "list",
        "attributes-1-name": "items", "attributes-1-type": "text",
    })
    assert response.status_code == 200
    assert "Attribute 2: items appears twice." in response.content.decode()
    assert not CustomTrigger.objects.exists()


def test_sales_cannot_design_triggers(sales_client):
    assert sales_client.get("/triggers/custom/new/").status_code == 403


def test_the_admin_shows_events_read_only(client, admin_user, cart):
    client.force_login(admin_user)
    event = TriggerEvent.objects.create(contact=ContactFactory(), key="basket.abandoned", payload={"items": ["x"]},
                                        occurred_at="2026-11-23T09:00:00Z")
    assert client.get(f"/admin/journeys/triggerevent/{event.pk}/change/").status_code == 200
    assert client.get("/admin/journeys/triggerevent/add/").status_code == 403
    assert client.get(f"/admin/journeys/customtrigger/{cart.pk}/change/").status_code == 200


def test_a_custom_trigger_a_journey_uses_is_not_deleted(marketer_client, cart, now):
    from journeys.models import Journey, JourneyVersion

    Journey.objects.create(name="Recover carts", entry_trigger="basket.abandoned")
    live = Journey.objects.create(name="Nudge", status="live")
    JourneyVersion.objects.create(journey=live, number=2, created_at=now, tiles={"start": "w", "tiles": {
        "w": {"type": "wait_trigger", "trigger": "basket.abandoned", "timeout": {"days": 1}, "next": "x",
              "timeout_next": "x"}, "x": {"type": "exit"}}})
    response = marketer_client.post(f"/triggers/custom/{cart.pk}/delete/", follow=True)
    page = html.unescape(response.content.decode())
    assert "cannot be deleted while journeys use it" in page
    assert "journey “Recover carts” (entry trigger)" in page and "journey “Nudge” (tile “w” in version 2)" in page
    assert CustomTrigger.objects.filter(pk=cart.pk).exists()
    Journey.objects.all().delete()
    marketer_client.post(f"/triggers/custom/{cart.pk}/delete/")
    assert not CustomTrigger.objects.filter(pk=cart.pk).exists()


def test_the_admin_refuses_to_delete_a_custom_trigger_a_journey_uses(client, admin_user, cart):
    from journeys.models import Journey

    Journey.objects.create(name="Recover carts", entry_trigger="basket.abandoned")
    client.force_login(admin_user)
    url = f"/admin/journeys/customtrigger/{cart.pk}/delete/"
    page = html.unescape(client.get(url).content.decode())
    assert "journey “Recover carts” (entry trigger)" in page
    client.post(url, {"post": "yes"})
    assert CustomTrigger.objects.filter(pk=cart.pk).exists()
