"""Submitting the demo forms over plain HTTP: people, consent, interactions, triggers, double opt-in."""

import pytest

from channels.models import Delivery
from contacts import services as people
from contacts.demo import forms as demo_forms
from contacts.models import (
    ConsentChange,
    ConsentStatus,
    Contact,
    CustomAttribute,
    DoubleOptIn,
    FormConsent,
    FormField,
    FormSubmission,
    Interaction,
    LandingPage,
    Lead,
    WebForm,
)
from journeys.models import TriggerEvent
from tests.conftest import T0
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_brew_guide_creates_a_lead_with_pending_consent_history(brew_guide, post_form):
    response = post_form(brew_guide, {"email": "Nia@Example.com", "first_name": "Nia"}, consent=True)

    assert response.status_code == 302
    assert response["Location"] == f"/f/{brew_guide.slug}/thanks/"
    lead = Lead.objects.get(email="nia@example.com")
    assert lead.first_name == "Nia" and lead.source == "Form: French Press Brew Guide"
    history = list(ConsentChange.objects.filter(lead=lead).order_by("id"))
    assert [(c.topic.key if c.topic else None, c.new_status, c.double_opt_in) for c in history] == [
        (None, ConsentStatus.OPTED_IN, DoubleOptIn.PENDING),
        ("newsletter", ConsentStatus.OPTED_IN, DoubleOptIn.PENDING),
    ]
    assert history[1].note.startswith("Yes, send me the Contoso Coffee newsletter")
    submission = FormSubmission.objects.get()
    assert submission.lead == lead and submission.created_person
    assert submission.consents[0]["wording"] == brew_guide.consents.get().wording
    assert submission.consents[0]["given"] is True
    assert not people.may_send(lead, channel="email")  # not until the link is clicked


def test_the_trigger_fires_with_every_field_value(catering, post_form):
    post_form(catering, {"company": "Fabrikam", "first_name": "Ola", "last_name": "Berg",
                         "email": "ola@fabrikam.example", "phone": "+1 206 555 0100", "guests": "120",
                         "event_date": "2026-12-12",
                         "message": "Oat milk please", "campaign": "catering-2026"})

    lead = Lead.objects.get(email="ola@fabrikam.example")
    assert (lead.company, lead.first_name, lead.last_name, lead.phone) == ("Fabrikam", "Ola", "Berg", "+1 206 555 0100")
    event = TriggerEvent.objects.get(key="form.submitted")
    assert event.lead == lead and event.source == "form"
    assert event.payload["form"] == "catering-quote"
    assert event.payload["fields"] == {
        "company": "Fabrikam", "first_name": "Ola", "last_name": "Berg", "email": "ola@fabrikam.example",
        "phone": "+1 206 555 0100", "guests": 120, "event_date": "2026-12-12", "message": "Oat milk please",
        "campaign": "catering-2026",
    }
    submission = FormSubmission.objects.get()
    assert event.idempotency_key == f"form-submission:{submission.pk}"
    interaction = Interaction.objects.get(lead=lead, type="form_submitted")
    assert interaction.source == "form" and interaction.properties["form"] == "catering-quote"


def test_an_existing_contact_is_updated_not_duplicated(brew_guide, post_form):
    ada = ContactFactory(email="ada@engines.example", first_name="", last_name="Lovelace")

    post_form(brew_guide, {"email": "ADA@engines.example", "first_name": "Ada"}, consent=True)

    assert Contact.objects.filter(email="ada@engines.example").count() == 1
    assert not Lead.objects.exists()
    ada.refresh_from_db()
    assert ada.first_name == "Ada" and ada.last_name == "Lovelace"
    assert FormSubmission.objects.get().contact == ada
    assert ConsentChange.objects.filter(contact=ada).count() == 2
    assert TriggerEvent.objects.get(key="form.submitted").contact == ada


def test_an_empty_optional_field_does_not_erase_what_is_known(brew_guide, post_form):
    ada = ContactFactory(email="ada@engines.example", first_name="Ada")

    post_form(brew_guide, {"email": "ada@engines.example", "first_name": ""})

    ada.refresh_from_db()
    assert ada.first_name == "Ada"


def test_double_opt_in_counts_only_after_the_signed_link(brew_guide, post_form, client, smtp_server):
    post_form(brew_guide, {"email": "nia@example.com", "first_name": "Nia"}, consent=True)

    lead = Lead.objects.get()
    assert Delivery.objects.get(lead=lead).status == Delivery.Status.SENT
    message = smtp_server.messages[0]
    assert message["To"] == "nia@example.com"
    html = message.get_body(("html",)).get_content()
    link = next(part for part in html.split('"') if "/f/confirm/" in part).replace("&amp;", "&")
    path = link.split("://", 1)[1].split("/", 1)[1]

    forged = client.post(f"/{path[:-5]}xxxx/")
    assert forged.status_code == 404
    assert not people.may_send(lead, channel="email")
    page = client.get(f"/{path}")  # opening the link (or a link scanner) confirms nothing
    assert page.status_code == 200 and b"Yes, confirm" in page.content
    assert not people.may_send(lead, channel="email")

    confirmed = client.post(f"/{path}")

    assert confirmed.status_code == 200 and b"you are confirmed" in confirmed.content
    assert people.may_send(lead, channel="email")
    newsletter = brew_guide.consents.get().topic
    assert people.may_send(lead, channel="email", topic=newsletter)
    assert FormSubmission.objects.get().double_opt_in == DoubleOptIn.CONFIRMED
    assert ConsentChange.objects.filter(lead=lead, double_opt_in=DoubleOptIn.CONFIRMED).count() == 2
    again = client.post(f"/{path}")
    assert b"Already confirmed" in again.content
    assert ConsentChange.objects.filter(lead=lead).count() == 4


def test_the_demo_forms_are_seeded_once(demo):
    again = demo_forms.ensure_forms(now=T0)

    assert again["brew_guide"] == demo["brew_guide"]
    assert WebForm.objects.count() == 2 and LandingPage.objects.count() == 1
    assert FormField.objects.count() == 11 and FormConsent.objects.count() == 1
    assert demo["page"].status == "published"


def test_a_confirmed_subscriber_who_signs_up_again_stays_subscribed(brew_guide, post_form, smtp_server):
    newsletter = brew_guide.consents.get().topic
    ada = ContactFactory(email="ada@engines.example")
    people.set_consent(ada, channel="email", status="opted_in", now=T0, double_opt_in=DoubleOptIn.CONFIRMED)
    people.set_consent(ada, channel="email", topic=newsletter, status="opted_in", now=T0,
                       double_opt_in=DoubleOptIn.CONFIRMED)

    post_form(brew_guide, {"email": "ada@engines.example"}, consent=True)

    assert people.may_send(ada, channel="email", topic=newsletter)
    assert FormSubmission.objects.get().double_opt_in == DoubleOptIn.NOT_REQUIRED
    assert not smtp_server.messages  # nothing to confirm
    assert ConsentChange.objects.filter(contact=ada, topic=newsletter).count() == 2  # the sign-up is on record


def test_a_field_fills_a_custom_attribute(catering, post_form):
    CustomAttribute.objects.create(entity="lead", key="party_size", label="Party size", type="number")
    FormField.objects.filter(form=catering, key="guests").update(maps_to="attributes.party_size")

    post_form(catering, {"company": "F", "first_name": "A", "last_name": "B", "email": "a@f.example",
                         "guests": "85", "event_date": "2026-12-01"})

    assert Lead.objects.get().attributes == {"party_size": 85}
