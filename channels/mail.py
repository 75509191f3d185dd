"""Building MIME messages and handing them to the mail server, DKIM-signed on the wire.

With Django's SMTP backend, messages are signed with dkimpy over the exact bytes sent and passed
to the open smtplib connection (hooking the connection, not Django's private `_send`). Other
backends (console in development, django-anymail for hosted providers, locmem) get the message
unsigned: providers sign themselves.
"""

from __future__ import annotations

import datetime
import logging
import smtplib
from email.utils import formataddr

import dkim
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from channels import rendering, tracking
from channels.models import Delivery

logger = logging.getLogger(__name__)
SIGNED_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
                  b"list-unsubscribe", b"list-unsubscribe-post", b"reply-to"]


def build_message(delivery: Delivery, *, now: datetime.datetime) -> EmailMultiAlternatives:
    rendered = rendering.render_delivery(delivery, now=now)
    email = delivery.email
    sender = email.sender
    headers = {"Message-ID": delivery.message_id, "X-Waymark-Delivery": str(delivery.pk)}
    if email.commercial:
        token = tracking.unsubscribe_token(delivery.pk)
        mailto = f"mailto:unsubscribe@{sender.domain}?subject=unsubscribe-{token}"
        headers["List-Unsubscribe"] = f"<{tracking.unsubscribe_url(delivery.pk)}>, <{mailto}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(
        subject=rendered.subject, body=rendered.text, from_email=formataddr((sender.from_name, sender.from_email)),
        to=[delivery.to_address], reply_to=[sender.reply_to] if sender.reply_to else None, headers=headers,
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def dkim_sign(raw: bytes, *, selector: str, domain: str, private_key: str) -> bytes:
    signature = dkim.sign(raw, selector.encode(), domain.encode(), private_key.encode(),
                          include_headers=SIGNED_HEADERS)
    return signature + raw


def _raw(message: EmailMultiAlternatives, delivery: Delivery) -> bytes:
    raw = message.message().as_bytes(linesep="\r\n")
    sender = delivery.email.sender
    if sender.dkim_selector and sender.dkim_private_key:
        raw = dkim_sign(raw, selector=sender.dkim_selector, domain=sender.domain, private_key=sender.dkim_private_key)
    return raw


def send_batch(deliveries: list[Delivery], *, now: datetime.datetime) -> tuple[list[Delivery], list[tuple]]:
    """Send over one connection. Returns (sent, [(delivery, error)]); a dropped connection fails the
    rest of the batch back to the queue."""
    if not deliveries:
        return [], []
    connection = get_connection(fail_silently=False)
    sent: list[Delivery] = []
    failed: list[tuple[Delivery, str]] = []
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("mail server unavailable: %s", exc)
        return [], [(d, f"mail server unavailable: {exc}") for d in deliveries]
    try:
        for index, delivery in enumerate(deliveries):
            try:
                message = build_message(delivery, now=now)
                if isinstance(connection, SMTPBackend) and connection.connection is not None:
                    connection.connection.sendmail(
                        delivery.email.sender.from_email, [delivery.to_address], _raw(message, delivery))
                else:
                    connection.send_messages([message])
                sent.append(delivery)
            except smtplib.SMTPRecipientsRefused as exc:
                failed.append((delivery, f"recipient refused: {exc.recipients}"))
            except (smtplib.SMTPServerDisconnected, ConnectionError, OSError) as exc:
                failed += [(d, f"connection lost: {exc}") for d in deliveries[index:]]
                break
            except smtplib.SMTPException as exc:
                failed.append((delivery, f"{exc.__class__.__name__}: {exc}"))
    finally:
        try:
            connection.close()
        except (OSError, smtplib.SMTPException):
            pass
    return sent, failed
