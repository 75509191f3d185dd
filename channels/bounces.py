"""Bounces, complaints and unsubscribes that come back as mail or as a provider's webhook.

Two doors lead to the same `channels.feedback` verbs:

* Hosted providers (through django-anymail's webhooks, `/anymail/<esp>/tracking/`) send the
  `tracking` signal; `on_tracking_event` maps its normalized event types.
* Plain SMTP: `manage.py bounce_server` receives delivery status notifications (RFC 3464),
  feedback-loop complaints (RFC 5965 ARF) and `mailto:` unsubscribes (the List-Unsubscribe
  address); `process_incoming` sorts them. flufl.bounce classifies the DSN (temporary or
  permanent); the original Message-ID in its attached headers finds the Delivery.

An SMTP port is open to anyone, so mail only counts when it names a message we sent (its
Message-ID or a signed unsubscribe token). Provider webhooks are authenticated by anymail
(`ANYMAIL["WEBHOOK_SECRET"]`), so they may also be matched by recipient address.

A report is recorded once per message: providers retry webhooks and MTAs repeat delay notices.
"""

from __future__ import annotations

import datetime
import email
import email.message
import logging
import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.parser import HeaderParser
from typing import Any

from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent, EventType, RejectReason
from django.db.models import QuerySet
from django.utils import timezone
from flufl.bounce import all_failures

from channels import feedback, tracking
from channels.models import AddressState, Delivery

logger = logging.getLogger(__name__)
UNSUBSCRIBE_SUBJECT = re.compile(r"unsubscribe-([A-Za-z0-9_\-:.]+)")
PERMANENT_REJECTIONS = {RejectReason.BOUNCED, RejectReason.INVALID}
# A bounce for these reasons says the receiving server refused our content or us, not the address.
NOT_THE_ADDRESS = {RejectReason.SPAM, RejectReason.BLOCKED}
METADATA_KEY = "waymark_delivery"


@dataclass(frozen=True)
class Failure:
    """One failed recipient of a DSN and what was done about it."""

    address: str
    permanent: bool
    reason: str
    delivery_id: int | None
    recorded: bool  # False: not a message of ours, or already recorded


# --- Recording, once per message ---------------------------------------------------------------------
def bounce(delivery: Delivery | None, *, address: str, permanent: bool, reason: str, now: datetime.datetime) -> bool:
    """Record a bounce unless this message's bounce is already recorded; a permanent failure after a
    soft bounce of the same message (a delay notice, then the final failure) still counts."""
    if delivery is not None and delivery.bounced_at is not None:
        invalid = AddressState.objects.filter(address=address.lower(), status=AddressState.Status.INVALID).exists()
        if not permanent or invalid:
            return False
    feedback.record_bounce(delivery, address=address, permanent=permanent, reason=reason, now=now)
    return True


def mark_delivered(delivery: Delivery, *, now: datetime.datetime) -> bool:
    """The receiving server accepted the message: a soft bounce of it is overtaken, and the address's
    run of soft bounces ends."""
    address = delivery.to_address.lower()
    invalid = AddressState.objects.filter(address=address, status=AddressState.Status.INVALID).exists()
    statuses = [Delivery.Status.SENT] if invalid else [Delivery.Status.SENT, Delivery.Status.BOUNCED]
    updated = Delivery.objects.filter(pk=delivery.pk, status__in=statuses).update(
        status=Delivery.Status.DELIVERED, delivered_at=now, reason="")
    if updated:
        AddressState.objects.filter(address=address, status=AddressState.Status.VALID, soft_bounces__gt=0).update(
            soft_bounces=0, updated_at=now)
    return bool(updated)


def mark_valid(addresses: QuerySet[AddressState], *, reason: str, now: datetime.datetime) -> int:
    """Declare addresses deliverable again (the mailbox was fixed): email may go to them again."""
    return addresses.update(status=AddressState.Status.VALID, soft_bounces=0, reason=reason[:300], updated_at=now)


def unsubscribe_token_in(subject: str) -> int | None:
    """The delivery id of a `mailto:` unsubscribe's subject (`unsubscribe-<signed token>`)."""
    match = UNSUBSCRIBE_SUBJECT.search(subject or "")
    payload = tracking.read(match.group(1), tracking.UNSUBSCRIBE) if match else None
    return payload.get("d") if payload else None


# --- Hosted providers: django-anymail's tracking signal ------------------------------------------------
def delivery_for_event(event: AnymailTrackingEvent) -> Delivery | None:
    """Our Delivery for a provider event: by the id we gave as metadata, the Message-ID, or else the
    latest message sent to the recipient."""
    recipient = (event.recipient or "").strip()
    queryset = Delivery.objects.select_related("email", "contact", "lead")
    delivery_id = str((event.metadata or {}).get(METADATA_KEY, ""))
    if delivery_id.isdigit():
        delivery = queryset.filter(pk=int(delivery_id)).first()
        if delivery is not None and (not recipient or delivery.to_address.lower() == recipient.lower()):
            return delivery
    delivery = feedback.delivery_by_message_id(event.message_id or "")
    if delivery is None and recipient:
        delivery = (queryset.filter(to_address__in={recipient, recipient.lower()}, sent_at__isnull=False)
                    .order_by("-sent_at", "-id").first())
    return delivery


def process_tracking_event(event: AnymailTrackingEvent, *, esp_name: str, now: datetime.datetime) -> str:
    """Apply one normalized provider event; returns what was done (for logs and tests)."""
    kind, reject_reason = event.event_type, event.reject_reason
    if kind not in (EventType.BOUNCED, EventType.REJECTED, EventType.FAILED, EventType.DEFERRED,
                    EventType.DELIVERED, EventType.COMPLAINED, EventType.UNSUBSCRIBED):
        return "ignored"  # opens and clicks are tracked by Waymark's own links
    delivery = delivery_for_event(event)
    address = (event.recipient or (delivery.to_address if delivery else "")).strip()
    reason = (event.mta_response or event.description or reject_reason or kind)[:300]
    if kind == EventType.DELIVERED:
        return "delivered" if delivery is not None and mark_delivered(delivery, now=now) else "ignored"
    if kind == EventType.COMPLAINED:
        if not address:
            return "ignored"
        feedback.record_complaint(delivery, address=address, now=now)
        return "complaint"
    if kind == EventType.UNSUBSCRIBED or (kind == EventType.REJECTED and reject_reason == RejectReason.UNSUBSCRIBED):
        if delivery is None:
            return "ignored"
        feedback.unsubscribe(delivery.pk, now=now, source=f"{esp_name} unsubscribe")
        return "unsubscribed"
    if not address:
        return "ignored"
    if kind == EventType.DEFERRED or (kind == EventType.BOUNCED and reject_reason in NOT_THE_ADDRESS):
        return "soft bounce" if bounce(delivery, address=address, permanent=False, reason=reason, now=now) else "repeat"
    if kind == EventType.BOUNCED or reject_reason in PERMANENT_REJECTIONS:
        return "hard bounce" if bounce(delivery, address=address, permanent=True, reason=reason, now=now) else "repeat"
    if delivery is not None:  # rejected or failed at the provider for another reason: not sent
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENT).update(
            status=Delivery.Status.FAILED, reason=f"{esp_name}: {reason}"[:200])
        return "failed"
    return "ignored"


def on_tracking_event(sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    """Receiver of `anymail.signals.tracking`. An error answers the provider 500, so it retries."""
    outcome = process_tracking_event(event, esp_name=esp_name, now=event.timestamp or timezone.now())
    logger.info("%s %s event for %s: %s", esp_name, event.event_type, event.recipient, outcome)


def on_inbound_event(sender: Any, event: AnymailInboundEvent, esp_name: str, **kwargs: Any) -> None:
    """Receiver of `anymail.signals.inbound`: a `mailto:` unsubscribe received by the provider."""
    delivery_id = unsubscribe_token_in(event.message.subject if event.message is not None else "")
    if delivery_id is not None:
        feedback.unsubscribe(delivery_id, now=timezone.now(), source="mailto unsubscribe")


# --- Plain SMTP: DSNs, feedback-loop complaints, mailto: unsubscribes ---------------------------------
def _decoded(value: str | None) -> str:
    try:
        return str(make_header(decode_header(value or "")))
    except (ValueError, LookupError):
        return value or ""


def original_message_id(message: email.message.Message) -> str:
    """The Message-ID of the message a report is about, from its attached message or headers."""
    for part in message.walk():
        kind = part.get_content_type()
        headers = None
        if kind == "message/rfc822" and part.is_multipart():
            headers = part.get_payload(0)
        elif kind in ("text/rfc822-headers", "text/rfc822-header"):
            payload = part.get_payload(decode=True) or b""
            headers = HeaderParser().parsestr(payload.decode("utf-8", "replace"))
        if headers is not None and headers.get("Message-ID"):
            return str(headers["Message-ID"]).strip()
    return ""


def _statuses(message: email.message.Message) -> dict[str, str]:
    """Per recipient (lower case), the DSN's status and diagnostic, e.g. "5.1.1 smtp; 550 no such user"."""
    found: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status" or not part.is_multipart():
            continue
        for block in part.get_payload():
            recipient = block.get("Original-Recipient") or block.get("Final-Recipient") or ""
            address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
            detail = " ".join(str(block.get(h, "")).strip() for h in ("Status", "Diagnostic-Code")).strip()
            if address and detail:
                found[address] = " ".join(detail.split())
    return found


def _failures(message: email.message.Message) -> tuple[set[str], set[str]]:
    try:
        temporary, permanent = all_failures(message)
    except Exception as exc:  # a heuristic detector choking on odd mail (no From:, …): not a bounce we can read
        logger.warning("flufl.bounce could not read a message from %r: %r", message.get("From"), exc)
        return set(), set()
    decode = lambda addresses: {a.decode("ascii", "replace").lower() for a in addresses}  # noqa: E731
    permanent_set = decode(permanent)
    return decode(temporary) - permanent_set, permanent_set


def _process_dsn(message: email.message.Message, *, now: datetime.datetime) -> list[Failure]:
    temporary, permanent = _failures(message)
    if not (temporary or permanent):
        return []
    delivery = feedback.delivery_by_message_id(original_message_id(message))
    statuses = _statuses(message)
    failed = temporary | permanent
    results = []
    for address in sorted(failed):
        is_permanent = address in permanent
        reason = statuses.get(address) or ("permanent failure" if is_permanent else "temporary failure")
        # Our messages have one recipient: the one failure reported (even of an address ours
        # forwards to) is our address's failure.
        ours = None
        if delivery is not None and (len(failed) == 1 or delivery.to_address.lower() == address):
            ours = delivery
        recorded = ours is not None and bounce(ours, address=ours.to_address, permanent=is_permanent,
                                               reason=reason, now=now)
        results.append(Failure(address=address, permanent=is_permanent, reason=reason,
                               delivery_id=ours.pk if ours is not None else None, recorded=recorded))
    return results


def process_dsn(raw: bytes, *, now: datetime.datetime) -> list[Failure]:
    """Read a delivery status notification: each failed recipient, permanent (5.x.x: the address is
    invalid) or temporary (4.x.x: a soft bounce), recorded when the DSN is about a message we sent."""
    return _process_dsn(email.message_from_bytes(raw), now=now)


def _complaint(message: email.message.Message, *, now: datetime.datetime) -> bool:
    """An ARF feedback-loop report (RFC 5965): the recipient marked our message as spam."""
    delivery = feedback.delivery_by_message_id(original_message_id(message))
    if delivery is None or not delivery.to_address:
        return False
    feedback.record_complaint(delivery, address=delivery.to_address, now=now)
    return True


def process_incoming(raw: bytes, *, now: datetime.datetime) -> str:
    """Sort one received mail: a mailto: unsubscribe, a spam complaint report or a DSN; returns what
    it was ("unsubscribe", "complaint", "bounce", "ignored")."""
    message = email.message_from_bytes(raw)
    delivery_id = unsubscribe_token_in(_decoded(message.get("Subject")))
    if delivery_id is not None:
        return "unsubscribe" if feedback.unsubscribe(delivery_id, now=now, source="mailto unsubscribe") else "ignored"
    if message.get_content_type() == "multipart/report" and message.get_param("report-type") == "feedback-report":
        return "complaint" if _complaint(message, now=now) else "ignored"
    failures = _process_dsn(message, now=now)
    return "bounce" if any(f.recorded for f in failures) else "ignored"
