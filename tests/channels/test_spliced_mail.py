"""Spliced messages read, header by header and part by part, as the EmailMessage Django would have
built for the same delivery; what the splice does not cover is still built by EmailMessage; other
backends still get an EmailMessage; tracking tokens are the ones django.core.signing makes."""

import email
import email.policy
import time
from unittest import mock

import pytest
from django.core import mail as django_mail
from django.core import signing
from django.urls import reverse

from channels import mail, rendering, services, tracking
from channels.models import Delivery
from contacts import services as people
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
COMPARED = ["Subject", "From", "To", "Reply-To", "Message-ID", "X-Waymark-Delivery", "List-Unsubscribe",
            "List-Unsubscribe-Post", "MIME-Version"]


@pytest.fixture
def frozen_clock():
    """Tokens carry the second they were minted in: both builds must mint in the same one."""
    with mock.patch("time.time", return_value=time.time()):
        yield


def queued(email_, now, *, key="k", **contact_fields):
    services.publish(email_, now=now) if not email_.versions.exists() else None
    contact = ContactFactory(**contact_fields)
    people.set_consent(contact, channel="email", status="opted_in", now=now)
    delivery = services.queue_email(email_, person=contact, idempotency_key=key, now=now)
    return Delivery.objects.select_related("version", "email__sender", "email__brand", "contact__account").get(
        pk=delivery.pk)


def both(delivery, now):
    """(spliced bytes, EmailMessage bytes) for the same delivery, rendered once."""
    links = tracking.Links()
    rendered = rendering.render_delivery(delivery, now=now, links=links)
    skeleton = mail.Skeleton.of(delivery.email.sender, date="Mon, 23 Nov 2026 10:00:00 -0000")
    spliced = mail.spliced_message(delivery, rendered, skeleton=skeleton, links=links)
    built = mail.build_message(delivery, now=now, rendered=rendered, links=links).message().as_bytes(linesep="\r\n")
    return spliced, built


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def assert_same_message(spliced, built):
    ours, django = parse(spliced), parse(built)
    assert ours.defects == [] and ours.get_content_type() == "multipart/alternative"
    for name in COMPARED:
        assert (ours[name] or "").strip() == (django[name] or "").strip(), name
    assert ours["Date"]
    for kind in ("plain", "html"):
        assert ours.get_body(preferencelist=(kind,)).get_content() == \
            django.get_body(preferencelist=(kind,)).get_content(), kind
    assert all(len(line) <= 998 for line in spliced.split(b"\r\n"))
    assert b"\n" not in spliced.replace(b"\r\n", b"")  # CRLF line ends only


def test_a_spliced_message_reads_as_the_email_message_would(make_email, now, frozen_clock):
    delivery = queued(make_email(), now, first_name="Ada", email="ada@example.com")
    spliced, built = both(delivery, now)
    assert_same_message(spliced, built)
    assert parse(spliced)["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_non_ascii_long_subjects_and_sender_names_are_encoded(make_email, sender, now, frozen_clock):
    sender.from_name = "Café Contoso — Rösterei"
    sender.save()
    subject = 'Grüße, {{ contact.first_name | default: "du" }}: ' + "the spring blends are in " * 5
    delivery = queued(make_email(subject=subject), now, first_name="Zoë ☕", email="zoe@example.com")
    spliced, built = both(delivery, now)
    assert_same_message(spliced, built)
    assert parse(spliced)["Subject"].strip().startswith("Grüße, Zoë ☕: the spring")
    assert parse(spliced)["From"] == "Café Contoso — Rösterei <hello@contoso.test>"
    assert spliced.split(b"\r\n\r\n", 1)[0].isascii()  # every header RFC 2047-encoded


def test_parts_with_lines_too_long_for_smtp_are_quoted_printable(make_email, now, frozen_clock):
    long_line = "<p>" + "Beans, roasted to order. " * 60 + "Ünïcödé.</p>"
    delivery = queued(make_email(blocks=[{"type": "text", "html": long_line}]), now)
    spliced, built = both(delivery, now)
    assert_same_message(spliced, built)
    html_part = parse(spliced).get_body(preferencelist=("html",))
    assert html_part["Content-Transfer-Encoding"] == "quoted-printable"


def test_a_transactional_message_has_no_unsubscribe_headers(make_email, now, frozen_clock):
    delivery = queued(make_email(purpose="transactional"), now)
    spliced, built = both(delivery, now)
    assert_same_message(spliced, built)
    assert "List-Unsubscribe" not in parse(spliced)


def test_what_the_splice_does_not_cover_is_left_to_email_message(make_email, now):
    delivery = queued(make_email(), now)
    links = tracking.Links()
    rendered = rendering.render_delivery(delivery, now=now, links=links)
    skeleton = mail.Skeleton.of(delivery.email.sender, date="Mon, 23 Nov 2026 10:00:00 -0000")
    delivery.to_address = "Ada Lovelace <ada@example.com>"
    assert mail.spliced_message(delivery, rendered, skeleton=skeleton, links=links) is None
    delivery.to_address, delivery.message_id = "ada@example.com", ""
    assert mail.spliced_message(delivery, rendered, skeleton=skeleton, links=links) is None


def test_a_body_holding_the_boundary_falls_back(make_email, now, monkeypatch):
    delivery = queued(make_email(), now)
    links = tracking.Links()
    rendered = rendering.render_delivery(delivery, now=now, links=links)
    skeleton = mail.Skeleton.of(delivery.email.sender, date="Mon, 23 Nov 2026 10:00:00 -0000")
    monkeypatch.setattr(mail.secrets, "token_hex", lambda n: "Hello")
    rendered = rendering.Rendered(subject=rendered.subject, html=rendered.html, text="==wm_Hello== " + rendered.text)
    assert mail.spliced_message(delivery, rendered, skeleton=skeleton, links=links) is None


def test_an_address_the_splice_does_not_cover_is_still_sent(smtp_server, make_email, now):
    delivery = queued(make_email(), now, email="ada@example.com")
    Delivery.objects.filter(pk=delivery.pk).update(to_address="ADA@Example.COM ")
    assert services.send_queued(now=now) == 1
    received = smtp_server.messages[0]
    assert received["To"] == "ADA@Example.COM" and received["Message-ID"] == delivery.message_id


def test_other_backends_get_an_email_message_with_the_same_headers(settings, make_email, now):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    delivery = queued(make_email(), now, first_name="Ada")
    assert services.send_queued(now=now) == 1
    (message,) = django_mail.outbox
    assert message.subject == "Hi Ada" and message.extra_headers["Message-ID"] == delivery.message_id
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = message.alternatives[0][0]
    assert "/t/c/" in html and "/t/o/" in html


def test_a_batch_from_several_senders_keeps_each_senders_headers(smtp_server, make_email, sender, now):
    first = queued(make_email(), now, key="a", email="a@example.com")
    other_sender = type(sender).objects.create(name="Other", from_name="Other Shop", from_email="shop@other.test")
    other_email = make_email(name="Other")
    other_email.sender = other_sender
    other_email.save()
    second = queued(other_email, now, key="b", email="b@example.com")
    assert services.send_queued(now=now) == 2
    by_id = {m["Message-ID"]: m for m in smtp_server.messages}
    assert by_id[first.message_id]["From"] == "Contoso Coffee <hello@contoso.test>"
    assert by_id[first.message_id]["Reply-To"] == "care@contoso.test"
    assert by_id[second.message_id]["From"] == "Other Shop <shop@other.test>"
    assert "Reply-To" not in by_id[second.message_id]


@pytest.mark.parametrize(("payload", "salt"), [({"d": 5}, tracking.OPEN), ({"d": 123456789, "l": 3}, tracking.CLICK),
                                               ({"c": None, "l": 77}, tracking.PREFERENCES),
                                               ({"d": 1, "note": "x" * 200}, tracking.CLICK)])
def test_tokens_are_the_ones_django_signing_makes(payload, salt, frozen_clock):
    assert tracking._token(payload, salt) == signing.dumps(payload, salt=salt, compress=True)
    assert tracking.read(tracking._token(payload, salt), salt) == payload


def test_tracking_urls_are_the_ones_reverse_builds(settings, frozen_clock):
    settings.SITE_URL = "https://mail.contoso.test"

    def expected(name, payload, salt):
        return settings.SITE_URL + reverse(name, args=[signing.dumps(payload, salt=salt, compress=True)])

    assert tracking.open_url(7) == expected("channels:open", {"d": 7}, tracking.OPEN)
    assert tracking.click_url(7, 2) == expected("channels:click", {"d": 7, "l": 2}, tracking.CLICK)
    assert tracking.unsubscribe_url(7) == expected("channels:unsubscribe", {"d": 7}, tracking.UNSUBSCRIBE)
    assert tracking.preferences_url(lead_id=9) == expected("channels:preferences", {"c": None, "l": 9},
                                                           tracking.PREFERENCES)


def test_a_rotated_secret_key_signs_with_the_new_key(settings, frozen_clock):
    before = tracking.unsubscribe_token(7)
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789abcdef"
    after = tracking.unsubscribe_token(7)
    assert before != after and after == signing.dumps({"d": 7}, salt=tracking.UNSUBSCRIBE, compress=True)


def test_long_unfoldable_headers_stay_whole_on_one_line(make_email, sender, now, frozen_clock):
    sender.from_email = "news@a-rather-long-subdomain.of-the-roastery.contoso-coffee.example.com"
    sender.save()
    delivery = queued(make_email(), now, email="someone.with.a.long.address@mail.contoso-coffee.example.com")
    spliced, built = both(delivery, now)
    assert_same_message(spliced, built)
    head = spliced.split(b"\r\n\r\n", 1)[0].decode()
    assert f"\r\nMessage-ID: {delivery.message_id}\r\n" in head and len(delivery.message_id) > 70


def test_quoted_printable_pieces_decode_to_the_joined_html(make_email, now, frozen_clock):
    """Long literal parts are encoded once and joined with per-recipient values by soft breaks."""
    long_line = "<p>" + "Beans, roasted to order = fresh. " * 60 + "</p>"
    greeting = "<p>Hi {{ contact.first_name }}  </p>"
    email_ = make_email(blocks=[{"type": "text", "html": long_line + greeting + long_line}])
    first = queued(email_, now, key="a", first_name="Ada  ")
    second = queued(email_, now, key="b", first_name="Zoë")
    for delivery in (first, second):
        spliced, built = both(delivery, now)
        assert_same_message(spliced, built)
        assert max(len(line) for line in spliced.split(b"\r\n\r\n", 1)[1].split(b"\r\n")) <= 76
        assert parse(spliced).get_body(preferencelist=("html",))["Content-Transfer-Encoding"] == "quoted-printable"
    assert "Hi Zoë" in parse(both(second, now)[0]).get_body(preferencelist=("html",)).get_content()


def test_carriage_returns_in_values_become_line_ends_once(make_email, now, frozen_clock):
    long_line = "<p>" + "Beans, roasted to order. " * 60 + "</p>"
    email_ = make_email(blocks=[{"type": "text", "html": long_line + "<p>{{ contact.first_name }}</p>"}])
    delivery = queued(email_, now, first_name="Ada\r\rLovelace\r\n")
    spliced, built = both(delivery, now)
    assert_same_message(spliced, built)
