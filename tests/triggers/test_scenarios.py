"""End to end: an integration's abandoned cart starts a reminder naming the items, a purchase
cancels it; a custom trigger bound to "Opportunity status changes to won" starts a journey."""

import pytest
from django.utils import timezone

from channels import services as channels
from contacts.models import Account, Opportunity
from journeys import services
from journeys.models import EXIT, CustomTrigger, JourneyRun
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cart_abandoned(db):
    return CustomTrigger.objects.create(
        name="Cart abandoned", key="basket.abandoned", person_field="email", identifies="email",
        attributes=[{"name": "items", "type": "list", "required": True}, {"name": "total", "type": "number"}])


@pytest.fixture
def reminder_journey(cart_abandoned, make_email, journey_of):
    now = timezone.now()
    email = make_email(name="Cart reminder", key="cart-reminder", subject="You left {{ trigger.items }} behind",
                       blocks=[{"type": "text", "html": "<p>Still thinking about {{ trigger.items }}? "
                                                        "Your total: {{ trigger.total }}.</p>"}])
    channels.publish(email, now=now)
    journey = journey_of("remind", {
        "remind": {"type": "send_email", "email": "cart-reminder", "next": "later"},
        "later": {"type": "wait", "hours": 48, "next": EXIT},
    }, name="Cart reminder", entry_trigger="basket.abandoned", exit_trigger="purchase.completed")
    services.go_live(journey, now=now)
    return journey


def test_an_abandoned_cart_reminds_with_the_items_and_a_purchase_cancels_it(
        reminder_journey, api, subscribed, smtp_server, committed):
    ada = subscribed(email="ada@example.com", first_name="Ada")
    with committed():
        response = api.post("/api/triggers/basket.abandoned/fire/", {"payload": {
            "email": "ada@example.com", "items": ["Cold brew kit", "Ethiopia beans"], "total": 42.5}},
            content_type="application/json")
    assert response.status_code == 202, response.content
    run = JourneyRun.objects.get(journey=reminder_journey)
    assert (run.person, run.state, run.tile_key) == (ada, JourneyRun.State.WAITING, "later")
    channels.send_queued(now=timezone.now())  # the wake-up after commit may have sent it already
    [message] = smtp_server.messages
    body = message.get_body(("plain",)).get_content()
    assert message["Subject"] == "You left Cold brew kit, Ethiopia beans behind"
    assert "Still thinking about Cold brew kit, Ethiopia beans?" in body and "42.5" in body

    with committed():
        bought = api.post("/api/interactions/", {
            "contact": ada.pk, "type": "purchase", "occurred_at": timezone.now().isoformat(), "amount": "42.50",
            "product": "Cold brew kit"}, content_type="application/json")
    assert bought.status_code == 201, bought.content
    run.refresh_from_db()
    assert run.state == JourneyRun.State.EXITED
    assert run.exit_reason["code"] == "exit_trigger" and run.exit_reason["key"] == "purchase.completed"


def test_a_trigger_bound_to_opportunity_won_starts_a_journey(journey_of, committed, events):
    CustomTrigger.objects.create(name="Deal won", key="deal.won", kind="record", record_table="opportunity",
                                 record_field="status", condition="changed_to", value="Won")
    journey = journey_of("wait", {"wait": {"type": "wait", "hours": 1, "next": EXIT}}, name="Welcome customers",
                         entry_trigger="deal.won")
    services.go_live(journey, now=timezone.now())
    contact = ContactFactory()
    opportunity = Opportunity.objects.create(name="Espresso machines", contact=contact)
    with committed():
        opportunity.stage = "close"
        opportunity.save()
    assert not JourneyRun.objects.exists()  # a stage change is not a win
    with committed():
        opportunity.status = "won"
        opportunity.save()
    run = JourneyRun.objects.get(journey=journey)
    assert run.person == contact
    assert run.context == {"record": opportunity.pk, "table": "opportunity", "field": "status", "value": "won",
                           "previous": "open"}


def test_a_trigger_bound_to_account_industry_fires_for_its_contacts(committed, events):
    CustomTrigger.objects.create(name="Industry changed", key="account.industry_changed", kind="record",
                                 record_table="account", record_field="industry")
    account = Account.objects.create(name="Fabrikam", industry="Retail")
    ann, bob = ContactFactory(account=account), ContactFactory(account=account)
    with committed():
        account = Account.objects.get(pk=account.pk)
        account.name = "Fabrikam Inc"
        account.save()
    assert events("account.industry_changed") == []
    with committed():
        account.industry = "Manufacturing"
        account.save()
    fired = events("account.industry_changed")
    assert [p for p, _ in fired] == [ann, bob]
    assert fired[0][1] == {"record": account.pk, "table": "account", "field": "industry", "value": "Manufacturing",
                           "previous": "Retail"}
