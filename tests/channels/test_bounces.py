"""What comes back from a sent message: delivery status notifications and spam complaint reports by
SMTP, `mailto:` unsubscribes, and hosted providers' webhook events (through django-anymail)."""

import base64
import datetime
import json
import smtplib
import socket

import pytest
from anymail.signals import AnymailTrackingEvent, tracking

from channels import bounces, feedback, services
from channels.management.commands import bounce_server
from channels.models import AddressState, Delivery
from contacts import services as people
from contacts.models import Consent, Interaction
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


def subscribed(now, **fields):
    contact = ContactFactory(**fields)
    people.set_consent(contact, channel="email", status="opted_in", now=now)
    return contact


@pytest.fixture
def send(smtp_server, make_email, now):
    """Send the (published) email to a contact through the loopback SMTP server; the Delivery."""
    email = make_email()
    services.publish(email, now=now)
    counter = iter(range(1, 1000))

    def send_one(contact, *, at=now):
        delivery = services.queue_email(email, person=contact, idempotency_key=f"k{next(counter)}", now=at)
        services.send_queued(now=at)
        delivery.refresh_from_db()
        return delivery

    return send_one


def original_headers(smtp_server, delivery) -> str:
    """The headers of the message as the mail server received it, as a bouncing MTA attaches them."""
    for raw in smtp_server.raw:
        head = raw.split(b"\r\n\r\n", 1)[0].decode()
        if delivery.message_id in head:
            return head.replace("\r\n", "\n")
    raise AssertionError("message not received")


def dsn(headers: str, *, recipient: str, status: str, attach: str = "text/rfc822-headers") -> bytes:
    """A Postfix-style multipart/report DSN: 5.x.x fails, 4.x.x is a delay notice."""
    failed = status.startswith("5")
    action = "failed" if failed else "delayed"
    diagnostic = (f"smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown" if failed
                  else f"smtp; 452 4.2.2 <{recipient}>: Mailbox full")
    original = (f"Content-Type: text/rfc822-headers\n\n{headers}\n" if attach == "text/rfc822-headers"
                else f"Content-Type: message/rfc822\n\n{headers}\n\nHello, the body of the original message.\n")
    return f"""Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.example.com>
To: hello@contoso.test
Subject: {"Undelivered Mail Returned to Sender" if failed else "Delayed Mail (still being retried)"}
Date: Mon, 02 Nov 2026 09:05:00 +0000
Message-ID: <20261102090500.ABC123@mx.example.com>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"

--B0UND
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.com.
I'm sorry to have to inform you that your message could not be delivered to one or more recipients.

--B0UND
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
X-Postfix-Queue-ID: ABC123
Arrival-Date: Mon, 02 Nov 2026 09:00:01 +0000

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mail.example.com
Diagnostic-Code: {diagnostic}

--B0UND
Content-Description: Undelivered Message Headers
{original}
--B0UND--
""".replace("\n", "\r\n").encode()


# --- DSNs --------------------------------------------------------------------------------------------
def test_a_permanent_failure_marks_the_address_invalid_and_the_delivery_bounced(smtp_server, send, now):
    delivery = send(subscribed(now, email="ann@example.com"))
    report = dsn(original_headers(smtp_server, delivery), recipient="ann@example.com", status="5.1.1")
    (failure,) = bounces.process_dsn(report, now=now + DAY)
    assert failure.permanent and failure.recorded and failure.delivery_id == delivery.pk
    state = AddressState.objects.get(address="ann@example.com")
    assert state.status == AddressState.Status.INVALID
    assert "5.1.1" in state.reason and "User unknown" in state.reason
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.BOUNCED and delivery.bounced_at == now + DAY
    assert Interaction.objects.filter(contact=delivery.contact, type="email_bounced", name="hard").exists()


def test_after_a_hard_bounce_no_more_commercial_email_goes_to_the_address(smtp_server, send, now):
    ann = subscribed(now, email="ann@example.com")
    first = send(ann)
    bounces.process_dsn(dsn(original_headers(smtp_server, first), recipient="ann@example.com", status="5.1.1"),
                        now=now)
    later = send(ann, at=now + DAY)
    assert later.status == Delivery.Status.SUPPRESSED
    assert later.reason == "address is invalid (hard bounce)"
    assert len(smtp_server.messages) == 1


def test_the_original_message_id_is_found_in_an_attached_message(smtp_server, send, now):
    delivery = send(subscribed(now, email="ann@example.com"))
    report = dsn(original_headers(smtp_server, delivery), recipient="ann@example.com", status="5.1.1",
                 attach="message/rfc822")
    assert bounces.process_dsn(report, now=now)[0].delivery_id == delivery.pk


def test_a_temporary_failure_is_a_soft_bounce(smtp_server, send, now):
    delivery = send(subscribed(now, email="ann@example.com"))
    (failure,) = bounces.process_dsn(
        dsn(original_headers(smtp_server, delivery), recipient="ann@example.com", status="4.2.2"), now=now)
    assert not failure.permanent and failure.recorded
    state = AddressState.objects.get(address="ann@example.com")
    assert (state.status, state.soft_bounces) == (AddressState.Status.VALID, 1)
    assert Interaction.objects.filter(type="email_bounced", name="soft").count() == 1


def test_soft_bounces_of_separate_messages_reach_the_limit_and_invalidate_the_address(smtp_server, send, now):
    ann = subscribed(now, email="ann@example.com")
    for day in range(feedback.SOFT_BOUNCE_LIMIT):
        state = AddressState.objects.filter(address="ann@example.com").first()
        assert state is None or state.status == AddressState.Status.VALID
        delivery = send(ann, at=now + day * DAY)
        assert delivery.status == Delivery.Status.SENT
        bounces.process_dsn(dsn(original_headers(smtp_server, delivery), recipient="ann@example.com",
                                status="4.2.2"), now=now + day * DAY)
    state = AddressState.objects.get(address="ann@example.com")
    assert state.soft_bounces == feedback.SOFT_BOUNCE_LIMIT
    assert state.status == AddressState.Status.INVALID
    assert send(ann, at=now + 5 * DAY).status == Delivery.Status.SUPPRESSED


def test_repeated_delay_notices_for_one_message_count_once(smtp_server, send, now):
    delivery = send(subscribed(now, email="ann@example.com"))
    report = dsn(original_headers(smtp_server, delivery), recipient="ann@example.com", status="4.2.2")
    bounces.process_dsn(report, now=now)
    (again,) = bounces.process_dsn(report, now=now + datetime.timedelta(hours=4))
    assert not again.recorded
    assert AddressState.objects.get(address="ann@example.com").soft_bounces == 1


def test_a_final_failure_after_a_delay_notice_of_the_same_message_counts(smtp_server, send, now):
    delivery = send(subscribed(now, email="ann@example.com"))
    headers = original_headers(smtp_server, delivery)
    bounces.process_dsn(dsn(headers, recipient="ann@example.com", status="4.2.2"), now=now)
    (final,) = bounces.process_dsn(dsn(headers, recipient="ann@example.com", status="5.1.1"), now=now + DAY)
    assert final.permanent and final.recorded
    assert AddressState.objects.get(address="ann@example.com").status == AddressState.Status.INVALID


def test_a_dsn_about_a_message_we_never_sent_changes_nothing(smtp_server, send, now):
    send(subscribed(now, email="ann@example.com"))
    forged = "From: hello@contoso.test\nTo: ann@example.com\nMessage-ID: <made-up@contoso.test>\nSubject: Hi"
    (failure,) = bounces.process_dsn(dsn(forged, recipient="ann@example.com", status="5.1.1"), now=now)
    assert failure.permanent and not failure.recorded and failure.delivery_id is None
    assert not AddressState.objects.exists()
    assert Delivery.objects.get().status == Delivery.Status.SENT


def test_ordinary_mail_is_not_a_bounce(now):
    raw = b"From: someone@example.com\r\nTo: bounces@contoso.test\r\nSubject: Hello\r\n\r\nJust saying hi.\r\n"
    assert bounces.process_dsn(raw, now=now) == []
    assert bounces.process_incoming(raw, now=now) == "ignored"


# --- Spam complaints and mailto: unsubscribes by mail ---------------------------------------------------
def arf(headers: str) -> bytes:
    """An RFC 5965 abuse report from a mailbox provider's feedback loop."""
    return f"""From: Feedback Loop <fbl@mailbox.example.net>
To: abuse@contoso.test
Subject: Abuse report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F00"

--F00
Content-Type: text/plain

This is an email abuse report for an email message received from IP 192.0.2.1.

--F00
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1

--F00
Content-Type: text/rfc822-headers

{headers}
--F00--
""".replace("\n", "\r\n").encode()


def test_a_spam_complaint_report_opts_the_person_out_and_stops_their_email(smtp_server, send, now):
    ann = subscribed(now, email="ann@example.com")
    delivery = send(ann)
    assert bounces.process_incoming(arf(original_headers(smtp_server, delivery)), now=now) == "complaint"
    assert AddressState.objects.get(address="ann@example.com").status == AddressState.Status.COMPLAINED
    assert Consent.objects.get(contact=ann, topic=None).status == "opted_out"
    assert send(ann, at=now + DAY).status == Delivery.Status.SUPPRESSED


def test_a_mailto_unsubscribe_opts_the_person_out(smtp_server, send, now):
    ann = subscribed(now, email="ann@example.com")
    delivery = send(ann)
    mailto = smtp_server.messages[0]["List-Unsubscribe"].split("<mailto:", 1)[1].rstrip(">")
    to, subject = mailto.split("?subject=")
    raw = f"From: ann@example.com\r\nTo: {to}\r\nSubject: {subject}\r\n\r\n\r\n".encode()
    assert bounces.process_incoming(raw, now=now + DAY) == "unsubscribe"
    assert Consent.objects.get(contact=ann, topic=None).status == "opted_out"
    delivery.refresh_from_db()
    assert delivery.unsubscribed_at == now + DAY


def test_a_mailto_unsubscribe_with_an_altered_token_does_nothing(smtp_server, send, now):
    ann = subscribed(now, email="ann@example.com")
    send(ann)
    raw = b"From: x@example.com\r\nTo: unsubscribe@contoso.test\r\nSubject: unsubscribe-.eJyrVkpRsjIy0lEqLU4t\r\n\r\n"
    assert bounces.process_incoming(raw, now=now) == "ignored"
    assert Consent.objects.get(contact=ann, topic=None).status == "opted_in"


# --- The bounce server -------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_bounce_server_records_a_dsn_received_over_smtp(smtp_server, send, now):
    delivery = send(subscribed(now, email="ann@example.com"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = bounce_server.start("127.0.0.1", port)
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail("", ["bounces@contoso.test"],
                            dsn(original_headers(smtp_server, delivery), recipient="ann@example.com", status="5.1.1"))
    finally:
        controller.stop()
    assert AddressState.objects.get(address="ann@example.com").status == AddressState.Status.INVALID


# --- Hosted providers (django-anymail's tracking signal) ------------------------------------------------
def provider_event(event_type, delivery=None, **fields):
    """The normalized event anymail's webhook views send for a provider's report."""
    fields.setdefault("recipient", delivery.to_address if delivery else None)
    fields.setdefault("message_id", delivery.message_id if delivery else None)
    tracking.send(sender=object, event=AnymailTrackingEvent(event_type=event_type, **fields), esp_name="TestESP")


def test_a_provider_bounce_marks_the_address_invalid(send, now):
    delivery = send(subscribed(now, email="ann@example.com"))
    provider_event("bounced", delivery, reject_reason="bounced", timestamp=now + DAY,
                   mta_response="550 5.1.1 User unknown")
    assert AddressState.objects.get(address="ann@example.com").status == AddressState.Status.INVALID
    delivery.refresh_from_db()
    assert (delivery.status, delivery.bounced_at) == (Delivery.Status.BOUNCED, now + DAY)
    assert delivery.reason == "550 5.1.1 User unknown"


@pytest.mark.parametrize("reason", ["bounced", "invalid"])
def test_a_provider_rejection_for_a_bad_address_is_a_hard_bounce(send, now, reason):
    delivery = send(subscribed(now, email="ann@example.com"))
    provider_event("rejected", delivery, reject_reason=reason)
    assert AddressState.objects.get(address="ann@example.com").status == AddressState.Status.INVALID


def test_a_provider_rejection_for_its_own_policy_fails_the_message_but_not_the_address(send, now):
    delivery = send(subscribed(now, email="ann@example.com"))
    provider_event("rejected", delivery, reject_reason="blocked", description="Sender blocked")
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and "Sender blocked" in delivery.reason
    assert not AddressState.objects.exclude(status=AddressState.Status.VALID).exists()


def test_a_provider_deferral_is_a_soft_bounce_counted_once_per_message(send, now):
    delivery = send(subscribed(now, email="ann@example.com"))
    provider_event("deferred", delivery)
    provider_event("deferred", delivery)  # providers report every retry
    state = AddressState.objects.get(address="ann@example.com")
    assert (state.status, state.soft_bounces) == (AddressState.Status.VALID, 1)


def test_a_delivery_after_a_deferral_marks_the_message_delivered_and_ends_the_soft_bounce_run(send, now):
    delivery = send(subscribed(now, email="ann@example.com"))
    provider_event("deferred", delivery, timestamp=now)
    provider_event("delivered", delivery, timestamp=now + DAY)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.delivered_at) == (Delivery.Status.DELIVERED, now + DAY)
    assert AddressState.objects.get(address="ann@example.com").soft_bounces == 0


def test_a_delivered_event_is_matched_by_recipient_when_the_provider_has_its_own_message_ids(send, now):
    ann = subscribed(now, email="ann@example.com")
    older, newer = send(ann), send(ann, at=now + DAY)
    provider_event("delivered", recipient="Ann@Example.com", message_id="0a129aee-e1cd-480d-b08d-4f48548ff48d",
                   timestamp=now + DAY)
    assert Delivery.objects.get(pk=newer.pk).status == Delivery.Status.DELIVERED
    assert Delivery.objects.get(pk=older.pk).status == Delivery.Status.SENT


def test_a_delivered_event_is_matched_by_the_delivery_id_in_metadata(send, now):
    ann = subscribed(now, email="ann@example.com")
    older, newer = send(ann), send(ann, at=now + DAY)
    provider_event("delivered", recipient="ann@example.com", message_id="esp-1",
                   metadata={"waymark_delivery": str(older.pk)})
    assert Delivery.objects.get(pk=older.pk).status == Delivery.Status.DELIVERED
    assert Delivery.objects.get(pk=newer.pk).status == Delivery.Status.SENT


def test_a_delivered_event_does_not_undo_a_hard_bounce(send, now):
    delivery = send(subscribed(now, email="ann@example.com"))
    provider_event("bounced", delivery)
    provider_event("delivered", delivery)
    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.BOUNCED


def test_a_provider_complaint_opts_the_person_out_and_stops_their_email(send, now):
    ann = subscribed(now, email="ann@example.com")
    provider_event("complained", send(ann), reject_reason="spam")
    assert AddressState.objects.get(address="ann@example.com").status == AddressState.Status.COMPLAINED
    assert Consent.objects.get(contact=ann, topic=None).status == "opted_out"
    assert send(ann, at=now + DAY).status == Delivery.Status.SUPPRESSED


def test_a_provider_unsubscribe_opts_the_person_out(send, now):
    ann = subscribed(now, email="ann@example.com")
    delivery = send(ann)
    provider_event("unsubscribed", delivery, timestamp=now + DAY)
    assert Consent.objects.get(contact=ann, topic=None).status == "opted_out"
    assert Delivery.objects.get(pk=delivery.pk).unsubscribed_at == now + DAY


def test_opens_and_clicks_reported_by_a_provider_are_left_to_waymark_tracking(send, now):
    delivery = send(subscribed(now, email="ann@example.com"))
    provider_event("opened", delivery)
    assert Delivery.objects.get(pk=delivery.pk).opened_at is None


def test_an_event_for_an_unknown_message_and_address_changes_nothing(db, now):
    provider_event("delivered", recipient="nobody@example.com", message_id="nope")
    provider_event("unsubscribed", recipient="nobody@example.com", message_id="nope")
    assert not Delivery.objects.exists()


def test_a_postmark_webhook_reaches_the_bounce_handling(client, settings, send, now):
    """End to end through anymail's webhook URL, authenticated by the shared secret."""
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    delivery = send(subscribed(now, email="ann@example.com"))
    body = {"RecordType": "Bounce", "Type": "HardBounce", "TypeCode": 1, "ID": 42, "Email": "ann@example.com",
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "BouncedAt": (now + DAY).isoformat(),
            "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
            "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist."}
    auth = "Basic " + base64.b64encode(b"hook:s3cret").decode()
    unauthenticated = client.post("/anymail/postmark/tracking/", json.dumps(body), content_type="application/json")
    assert unauthenticated.status_code == 400
    assert not AddressState.objects.exists()
    response = client.post("/anymail/postmark/tracking/", json.dumps(body), content_type="application/json",
                           HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200
    assert AddressState.objects.get(address="ann@example.com").status == AddressState.Status.INVALID
    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.BOUNCED



def test_mail_that_confuses_the_bounce_detectors_is_ignored(now):
    raw = b"To: bounces@contoso.test\r\nSubject: no sender at all\r\n\r\nHello\r\n"
    assert bounces.process_incoming(raw, now=now) == "ignored"
