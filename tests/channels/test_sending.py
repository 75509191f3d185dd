"""Sending email through a real SMTP server: what arrives is personalized, escaped, tracked,
carries the RFC 8058 headers and a DKIM signature, and only reaches people who may get it."""

import re

import dkim
import pytest
from django.core.exceptions import ValidationError

from channels import services
from channels.models import AddressState, Delivery
from contacts import services as people
from contacts.models import Interaction
from tests.factories import ContactFactory, TopicFactory

pytestmark = pytest.mark.django_db


def subscribed(now, **fields):
    contact = ContactFactory(**fields)
    people.set_consent(contact, channel="email", status="opted_in", now=now)
    return contact


def send(email, contact, now, key="k1", context=None):
    services.publish(email, now=now) if not email.versions.exists() else None
    delivery = services.queue_email(email, person=contact, idempotency_key=key, context=context or {}, now=now)
    services.send_queued(now=now)
    delivery.refresh_from_db()
    return delivery


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_tokens_are_personalized_with_fallbacks_and_escaped(smtp_server, make_email, now):
    email = make_email()
    named = subscribed(now, first_name="<script>alert(1)</script>", email="a@example.com")
    nameless = subscribed(now, first_name="", email="b@example.com")
    send(email, named, now, key="a")
    send(email, nameless, now, key="b")
    first, second = smtp_server.messages
    assert first["Subject"] == "Hi <script>alert(1)</script>"  # a header is not HTML
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_of(first)
    assert "<script>alert" not in html_of(first)
    assert second["Subject"] == "Hi there"
    assert "Hello friend" in html_of(second)
    text = second.get_body(preferencelist=("plain",)).get_content()
    assert "Hello friend" in text


def test_messages_carry_rfc_8058_headers_and_a_unique_message_id(smtp_server, make_email, now):
    email = make_email()
    send(email, subscribed(now, email="a@example.com"), now, key="a")
    send(email, subscribed(now, email="b@example.com"), now, key="b")
    first, second = smtp_server.messages
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<https?://\S+/u/\S+/>, <mailto:unsubscribe@contoso\.test\?subject=\S+>",
                        first["List-Unsubscribe"].strip())
    assert first["Message-ID"] != second["Message-ID"]
    assert first["Message-ID"].endswith("@contoso.test>")


def test_a_dkim_signature_verifies_and_covers_list_unsubscribe_post(smtp_server, make_email, sender, dkim_keys, now):
    private, public = dkim_keys
    sender.dkim_selector, sender.dkim_private_key = "waymark", private
    sender.save()
    send(make_email(), subscribed(now), now)
    raw = smtp_server.raw[0]

    def dns(name, timeout=5):
        assert name == b"waymark._domainkey.contoso.test."
        return f"v=DKIM1; k=rsa; p={public}".encode()

    assert dkim.verify(raw, dnsfunc=dns)
    assert b"list-unsubscribe-post" in raw.split(b"\r\n\r\n", 1)[0].lower().split(b"dkim-signature", 1)[1]
    tampered = raw.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Two-Click")
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_conditional_blocks_show_only_when_their_condition_holds(smtp_server, make_email, now):
    email = make_email(blocks=[
        {"type": "text", "html": "<p>For everyone</p>"},
        {"type": "text", "html": "<p>Texas special</p>",
         "condition": {"version": 1, "match": "all",
                       "conditions": [{"type": "attribute", "field": "state", "op": "equals", "value": "Texas"}]}},
    ])
    send(email, subscribed(now, state="Texas", email="tx@example.com"), now, key="tx")
    send(email, subscribed(now, state="Ohio", email="oh@example.com"), now, key="oh")
    texan, ohioan = smtp_server.messages
    assert "Texas special" in html_of(texan)
    assert "Texas special" not in html_of(ohioan) and "For everyone" in html_of(ohioan)
    assert "Texas special" not in ohioan.get_body(preferencelist=("plain",)).get_content()


def test_tracked_links_record_clicks_and_redirect(client, smtp_server, make_email, now):
    contact = subscribed(now)
    delivery = send(make_email(), contact, now)
    link = re.search(r'href="(http://[^"]+/t/c/[^"]+/)"', html_of(smtp_server.messages[0])).group(1)
    response = client.get(link.split("8000", 1)[1])
    assert response.status_code == 302 and response["Location"] == "https://contoso.test/cold-brew"
    clicks = Interaction.objects.filter(contact=contact, type="email_clicked")
    assert [(c.link, c.email_key) for c in clicks] == [("https://contoso.test/cold-brew", "spring")]
    delivery.refresh_from_db()
    assert delivery.clicked_at and delivery.opened_at  # a click implies an open
    altered = link.split("8000", 1)[1].replace("/t/c/", "/t/c/x")
    assert client.get(altered).status_code == 404
    assert clicks.count() == 1


@pytest.mark.parametrize("state", ["opted_out", "no consent"])
def test_a_commercial_email_never_reaches_someone_without_consent(smtp_server, make_email, now, state):
    contact = ContactFactory()
    if state == "opted_out":
        people.set_consent(contact, channel="email", status="opted_out", now=now)
    delivery = send(make_email(), contact, now)
    assert smtp_server.messages == []
    assert delivery.status == "suppressed" and "consent" in delivery.reason


def test_a_topic_opt_out_stops_that_topics_email(smtp_server, make_email, now):
    topic = TopicFactory()
    contact = subscribed(now)
    people.set_consent(contact, channel="email", topic=topic, status="opted_out", now=now)
    delivery = send(make_email(topic=topic), contact, now)
    assert delivery.status == "suppressed" and smtp_server.messages == []


@pytest.mark.parametrize("status", ["invalid", "complained"])
def test_bounced_or_complaining_addresses_get_nothing_even_transactional(smtp_server, make_email, now, status):
    contact = subscribed(now, email="gone@example.com")
    AddressState.objects.create(address="gone@example.com", status=status, updated_at=now)
    delivery = send(make_email(purpose="transactional"), contact, now)
    assert delivery.status == "suppressed" and smtp_server.messages == []


def test_transactional_email_skips_topic_consent(smtp_server, make_email, now):
    delivery = send(make_email(purpose="transactional"), ContactFactory(), now)
    assert delivery.status == "sent" and len(smtp_server.messages) == 1
    assert "List-Unsubscribe" not in smtp_server.messages[0]


def test_the_same_idempotency_key_sends_once(smtp_server, make_email, now):
    email, contact = make_email(), subscribed(now)
    services.publish(email, now=now)
    first = services.queue_email(email, person=contact, idempotency_key="run:1:tile:1", now=now)
    again = services.queue_email(email, person=contact, idempotency_key="run:1:tile:1", now=now)
    services.send_queued(now=now)
    services.send_queued(now=now)
    assert first.pk == again.pk and len(smtp_server.messages) == 1
    assert Interaction.objects.filter(type="email_delivered", contact=contact).count() == 1


def test_an_unreachable_mail_server_leaves_messages_queued(settings, make_email, now):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    delivery = send(make_email(), subscribed(now), now)
    assert delivery.status == "queued" and "unavailable" in delivery.reason and delivery.attempts == 1


def test_an_unpublished_email_cannot_be_queued(make_email, now):
    with pytest.raises(ValidationError, match="no published version"):
        services.queue_email(make_email(), person=ContactFactory(), idempotency_key="x", now=now)


def test_unknown_tokens_and_bad_blocks_are_reported_at_publish(make_email, now):
    email = make_email(subject="Hi {{ contact.shoe_size }}", blocks=[{"type": "text", "html": "{{ oops"}])
    with pytest.raises(ValidationError) as error:
        services.publish(email, now=now)
    messages = " ".join(error.value.messages)
    assert "unknown token {{ contact.shoe_size }}" in messages and "malformed" in messages
    assert not email.versions.exists()
    broken = make_email(name="Broken", blocks=[{"type": "carousel"}])
    with pytest.raises(ValidationError, match="unknown block type 'carousel'"):
        services.publish(broken, now=now)


def test_a_malformed_token_is_named_as_written_in_its_block_not_as_compiled_html(make_email, now):
    email = make_email(blocks=[{"type": "heading", "text": "Hello"},
                               {"type": "text", "html": "<p>Hi {{ oops</p>"}])
    with pytest.raises(ValidationError) as error:
        services.publish(email, now=now)
    assert error.value.messages == [
        "block 2 (text): malformed personalization token '{{ oops': "
        'write {{ contact.first_name | default: "there" }}']


def test_a_stale_sending_claim_is_swept_back_and_keeps_its_message_id(make_email, now):
    email = make_email()
    services.publish(email, now=now)
    delivery = services.queue_email(email, person=subscribed(now), idempotency_key="k", now=now)
    Delivery.objects.filter(pk=delivery.pk).update(status="sending", claimed_at=now - services.STALE_CLAIM * 2)
    assert services.sweep_stale_claims(now=now) == 1
    delivery.refresh_from_db()
    assert delivery.status == "queued" and delivery.message_id


def test_a_batch_costs_a_fixed_number_of_queries(smtp_server, make_email, now, django_assert_max_num_queries):
    email = make_email()
    services.publish(email, now=now)
    for i in range(8):
        services.queue_email(email, person=subscribed(now, email=f"p{i}@example.com"), idempotency_key=f"k{i}",
                             now=now)
    services.queue_email(email, person=ContactFactory(email="nope@example.com"), idempotency_key="no", now=now)
    with django_assert_max_num_queries(14):
        assert services.send_queued(now=now) == 8
    assert len(smtp_server.messages) == 8
