"""The email back office: every model is listed and searchable, the DKIM key never shows, emails are
published by an action, and the send log and address states are not edited by hand."""

import pytest
from django.urls import reverse

from channels import services
from channels.models import AddressState, BrandProfile, ContentBlock, Delivery, Email, EmailVersion, SenderProfile
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
MODELS = [SenderProfile, BrandProfile, ContentBlock, Email, EmailVersion, Delivery, AddressState]


def url(model, view="changelist", *args):
    return reverse(f"admin:channels_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def sent(make_email, now):
    """A published email, one delivery of it, and a bounced address."""
    email = make_email()
    services.publish(email, now=now)
    delivery = services.queue_email(email, person=ContactFactory(email="ann@example.com"), idempotency_key="k1",
                                    now=now)
    AddressState.objects.create(address="bob@example.com", status=AddressState.Status.INVALID,
                                reason="5.1.1 user unknown", updated_at=now)
    ContentBlock.objects.create(key="footer", name="Footer", blocks=[{"type": "divider"}])
    return delivery


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_email_model_has_a_searchable_filterable_list(admin_client, sent, model):
    assert admin_client.get(url(model)).status_code == 200
    assert admin_client.get(url(model), {"q": "example"}).status_code == 200
    if model is Delivery:
        assert admin_client.get(url(model), {"status__exact": "queued"}).status_code == 200
    obj = model.objects.first()
    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200


def test_the_delivery_list_shows_the_message_and_its_status(admin_client, sent):
    page = admin_client.get(url(Delivery)).content.decode()
    assert "ann@example.com" in page and "Queued" in page and "Spring" in page


def test_deliveries_and_versions_cannot_be_added_edited_or_deleted(admin_client, sent):
    for model, obj in ((Delivery, sent), (EmailVersion, sent.version)):
        assert admin_client.get(url(model, "add")).status_code == 403
        assert admin_client.post(url(model, "change", obj.pk), {"status": "sent"}).status_code == 403
        assert admin_client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert Delivery.objects.get().status == Delivery.Status.QUEUED


def test_an_address_can_only_be_declared_valid_again(admin_client, sent):
    state = AddressState.objects.get(address="bob@example.com")
    admin_client.post(url(AddressState, "change", state.pk), {"status": "valid"})
    assert AddressState.objects.get(pk=state.pk).status == AddressState.Status.INVALID
    response = admin_client.post(url(AddressState), {"action": "mark_valid", "_selected_action": [state.pk]},
                                 follow=True)
    assert "Marked 1 address(es) valid." in response.content.decode()
    state.refresh_from_db()
    assert (state.status, state.soft_bounces) == (AddressState.Status.VALID, 0)


def test_the_publish_action_freezes_a_version(admin_client, make_email):
    email = make_email()
    response = admin_client.post(url(Email), {"action": "publish", "_selected_action": [email.pk]}, follow=True)
    assert "Published Spring as version 1." in response.content.decode()
    assert email.versions.get().number == 1
    assert Email.objects.get(pk=email.pk).status == Email.Status.READY


def test_the_publish_action_reports_why_an_email_cannot_be_published(admin_client, make_email):
    email = make_email(subject="Hi {{ contact.shoe_size }}")
    response = admin_client.post(url(Email), {"action": "publish", "_selected_action": [email.pk]}, follow=True)
    assert "Spring was not published: subject: unknown token {{ contact.shoe_size }}" in response.content.decode()
    assert not email.versions.exists()


def test_the_email_list_shows_the_latest_version(admin_client, make_email, now):
    email = make_email()
    services.publish(email, now=now)
    services.publish(email, now=now)
    assert admin_client.get(url(Email)).context["cl"].result_list[0].latest_version_number == 2


def sender_form(**fields):
    data = {"name": "Contoso", "from_name": "Contoso Coffee", "from_email": "hello@contoso.test", "reply_to": "",
            "dkim_selector": "waymark", "dkim_private_key": ""}
    return {**data, **fields}


def test_the_dkim_key_is_stored_but_never_shown_again(admin_client, dkim_keys):
    private, _public = dkim_keys
    admin_client.post(url(SenderProfile, "add"), sender_form(dkim_private_key=private))
    sender = SenderProfile.objects.get()
    assert sender.dkim_private_key.strip() == private.strip()
    page = admin_client.get(url(SenderProfile, "change", sender.pk)).content.decode()
    assert "PRIVATE KEY" not in page and "A key is set" in page
    assert "<td class=\"field-dkim_key\">set</td>" in admin_client.get(url(SenderProfile)).content.decode()


def test_saving_a_sender_without_a_new_key_keeps_the_stored_one(admin_client, sender, dkim_keys):
    private, _public = dkim_keys
    sender.dkim_selector, sender.dkim_private_key = "waymark", private
    sender.save()
    admin_client.post(url(SenderProfile, "change", sender.pk), sender_form(from_name="Contoso Café"))
    sender.refresh_from_db()
    assert sender.from_name == "Contoso Café" and sender.dkim_private_key == private


def test_the_dkim_key_can_be_removed(admin_client, sender, dkim_keys):
    sender.dkim_selector, sender.dkim_private_key = "waymark", dkim_keys[0]
    sender.save()
    admin_client.post(url(SenderProfile, "change", sender.pk), sender_form(remove_dkim_key="on"))
    sender.refresh_from_db()
    assert sender.dkim_private_key == ""
    assert "<td class=\"field-dkim_key\">not set</td>" in admin_client.get(url(SenderProfile)).content.decode()


def test_a_malformed_dkim_key_is_refused(admin_client):
    response = admin_client.post(url(SenderProfile, "add"), sender_form(dkim_private_key="-----BEGIN nonsense"))
    assert "Not a PEM RSA private key" in response.content.decode()
    assert not SenderProfile.objects.exists()
