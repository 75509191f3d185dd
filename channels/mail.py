"""Building MIME messages and handing them to the mail server, DKIM-signed on the wire.

With Django's SMTP backend, each message's bytes are spliced: the headers every message of a batch
shares (From, Reply-To, Date) are serialized once, and each recipient adds its Subject, To,
Message-ID, unsubscribe headers and its two rendered parts — what Django's EmailMessage would
write, without the `email` package's per-message cost (~5 ms for a 40 KB message against a
fraction of a millisecond). A message the splice does not cover (a non-ASCII or unusual address, a
charset other than UTF-8, a missing Message-ID) is built by EmailMessage as before. The bytes are
signed with dkimpy and passed to the open smtplib connection (hooking the connection, not
Django's private `_send`). Other backends (console in development, django-anymail for hosted
providers, locmem) get an EmailMessage, unsigned: providers sign themselves.
"""

from __future__ import annotations

import binascii
import datetime
import email.message
import io
import logging
import queue
import re
import secrets
import smtplib
import threading
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.policy import compat32
from email.utils import formataddr, formatdate

import dkim
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import RFC5322_EMAIL_LINE_LENGTH_LIMIT, forbid_multi_line_headers

from channels import rendering, tracking
from channels.models import Delivery, SenderProfile

logger = logging.getLogger(__name__)
SIGNED_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
                  b"list-unsubscribe", b"list-unsubscribe-post", b"reply-to"]
FOLD_AT = 78  # where the email package folds a header line; shorter ones are written as they are
PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
SIMPLE_VALUE = re.compile(r"[\x20-\x7e]*")  # printable ASCII, so no encoding, folding or injection
QP_CACHE_MIN, QP_CACHE_SIZE = 200, 4096
_QP_CACHE: dict[str, bytes] = {}
FOLDS_AT = re.compile(r"[ \t;,]")  # where the email package may fold a line; a value without them stays whole
PART_HEAD = "Content-Type: text/{subtype}; charset=\"utf-8\"\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: {cte}"


def list_unsubscribe_headers(delivery: Delivery, links: tracking.Links) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe for commercial email: the URL and a mailto, one token for both."""
    if not delivery.email.commercial:
        return {}
    token = tracking.unsubscribe_token(delivery.pk)
    mailto = f"mailto:unsubscribe@{delivery.email.sender.domain}?subject=unsubscribe-{token}"
    return {"List-Unsubscribe": f"<{links.unsubscribe_url(delivery.pk, token=token)}>, <{mailto}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def build_message(delivery: Delivery, *, now: datetime.datetime, rendered: rendering.Rendered | None = None,
                  links: tracking.Links | None = None) -> EmailMultiAlternatives:
    """The message as a Django EmailMessage, for any backend."""
    links = links or tracking.Links()
    rendered = rendered or rendering.render_delivery(delivery, now=now, links=links)
    sender = delivery.email.sender
    headers = {"Message-ID": delivery.message_id, "X-Waymark-Delivery": str(delivery.pk),
               **list_unsubscribe_headers(delivery, links)}
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


def _signed(raw: bytes, sender: SenderProfile) -> bytes:
    if sender.dkim_selector and sender.dkim_private_key:
        raw = dkim_sign(raw, selector=sender.dkim_selector, domain=sender.domain, private_key=sender.dkim_private_key)
    return raw


# --- Spliced messages -------------------------------------------------------------------------------
def header(name: str, value: str) -> bytes:
    """One header as EmailMessage writes it: checked for newlines, RFC 2047-encoded, folded."""
    if SIMPLE_VALUE.fullmatch(value) and (len(name) + len(value) + 2 <= FOLD_AT or (
            len(name) + len(value) + 2 <= RFC5322_EMAIL_LINE_LENGTH_LIMIT and not FOLDS_AT.search(value))):
        return f"{name}: {value}\r\n".encode()
    message = email.message.Message()
    message[name] = forbid_multi_line_headers(name, value, "utf-8")[1]
    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=compat32.clone(linesep="\r\n")).flatten(message)
    return out.getvalue().removesuffix(b"\r\n")  # the blank line that ends the headers


@dataclass(frozen=True)
class Skeleton:
    """What every message of a batch from one sender shares, serialized once."""

    shared: bytes  # From, Reply-To, Date

    @classmethod
    def of(cls, sender: SenderProfile, *, date: str) -> Skeleton:
        shared = header("From", formataddr((sender.from_name, sender.from_email)))
        if sender.reply_to:
            shared += header("Reply-To", sender.reply_to)
        return cls(shared=shared + header("Date", date))


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _qp(piece: str) -> bytes:
    """One piece quoted-printable, ending in a line break or a soft one, so pieces encoded apart
    join into valid quoted-printable that decodes to the joined text."""
    encoded = binascii.b2a_qp(_lf(piece).encode(), istext=True)
    return encoded if encoded.endswith(b"\n") else encoded + b"=\n"


def _qp_cached(piece: str) -> bytes:
    """A version's long literal pieces are encoded once per process (the cache is a pure function
    of the text, cleared when large); short ones, personalized values mostly, every time."""
    if len(piece) < QP_CACHE_MIN:
        return _qp(piece)
    encoded = _QP_CACHE.get(piece)
    if encoded is None:
        if len(_QP_CACHE) >= QP_CACHE_SIZE:
            _QP_CACHE.clear()
        encoded = _QP_CACHE[piece] = _qp(piece)
    return encoded


def _part(text: str, subtype: str, boundary: bytes, *, pieces: tuple[str, ...] = ()) -> bytes | None:
    """One text part with CRLF line ends, 7bit/8bit unless a line is too long for SMTP, then
    quoted-printable (EmailMessage's rule), from `pieces` when given. None if the body happens to
    hold the boundary."""
    if "\r" in text:  # a CR split between two pieces would not read as one line end: join first
        text, pieces = _lf(text), ()
    body = text.encode()
    if max(map(len, body.split(b"\n"))) > RFC5322_EMAIL_LINE_LENGTH_LIMIT:
        cte = "quoted-printable"
        body = b"".join(map(_qp_cached, pieces)) if pieces else binascii.b2a_qp(body, istext=True)
    else:
        cte = "7bit" if body.isascii() else "8bit"
    if boundary in body:
        return None
    head = PART_HEAD.format(subtype=subtype, cte=cte).encode()
    return b"--" + boundary + b"\r\n" + head + b"\r\n\r\n" + body.replace(b"\n", b"\r\n") + b"\r\n"


def spliced_message(delivery: Delivery, rendered: rendering.Rendered, *, skeleton: Skeleton,
                    links: tracking.Links) -> bytes | None:
    """The message's bytes, or None when it needs EmailMessage (see the module docstring)."""
    if not delivery.message_id or not PLAIN_ADDRESS.fullmatch(delivery.to_address):
        return None
    boundary = f"==wm_{secrets.token_hex(12)}==".encode()
    text = _part(rendered.text, "plain", boundary)
    html = _part(rendered.html, "html", boundary, pieces=rendered.html_pieces)
    if text is None or html is None:
        return None
    head = [b'Content-Type: multipart/alternative; boundary="' + boundary + b'"\r\nMIME-Version: 1.0\r\n',
            header("Subject", rendered.subject), skeleton.shared, header("To", delivery.to_address),
            header("Message-ID", delivery.message_id), b"X-Waymark-Delivery: %d\r\n" % delivery.pk]
    unsubscribe = list_unsubscribe_headers(delivery, links)
    if unsubscribe:  # the two addresses on lines of their own, as the email package folds them
        head.append(("List-Unsubscribe: " + unsubscribe["List-Unsubscribe"].replace(", <", ",\r\n <", 1)
                     + "\r\nList-Unsubscribe-Post: " + unsubscribe["List-Unsubscribe-Post"] + "\r\n").encode())
    return b"".join([*head, b"\r\n", text, html, b"--" + boundary + b"--\r\n"])


class Sender:
    """Turns a batch's deliveries into bytes for the wire: one tracking.Links, one Date and one
    Skeleton per sender profile for the whole batch."""

    def __init__(self) -> None:
        self.links = tracking.Links()
        self.date = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
        self.splice = settings.DEFAULT_CHARSET.lower().replace("_", "-") == "utf-8"
        self.skeletons: dict[int, Skeleton] = {}

    def message(self, delivery: Delivery, *, now: datetime.datetime) -> EmailMultiAlternatives:
        return build_message(delivery, now=now, links=self.links)

    def raw(self, delivery: Delivery, *, now: datetime.datetime) -> bytes:
        rendered = rendering.render_delivery(delivery, now=now, links=self.links)
        sender = delivery.email.sender
        raw = None
        if self.splice:
            if sender.pk not in self.skeletons:
                self.skeletons[sender.pk] = Skeleton.of(sender, date=self.date)
            raw = spliced_message(delivery, rendered, skeleton=self.skeletons[sender.pk], links=self.links)
        if raw is None:
            message = build_message(delivery, now=now, rendered=rendered, links=self.links)
            raw = message.message().as_bytes(linesep="\r\n")
        return _signed(raw, sender)


PER_LANE = 10  # messages per SMTP connection before another is opened, up to WAYMARK_SMTP_CONNECTIONS


def send_batch(deliveries: list[Delivery], *, now: datetime.datetime) -> tuple[list[Delivery], list[tuple]]:
    """Send the batch; returns (sent, [(delivery, error)]). With Django's SMTP backend, a batch of
    more than PER_LANE messages goes out over several connections at once (up to
    WAYMARK_SMTP_CONNECTIONS): the server's answers to one message's commands no longer wait on
    another's, and messages are rendered here while earlier ones are on the wire. A dropped
    connection fails what it held back to the queue; the other connections carry on."""
    if not deliveries:
        return [], []
    outgoing = Sender()
    connection = get_connection(fail_silently=False)
    lanes = min(settings.WAYMARK_SMTP_CONNECTIONS, -(-len(deliveries) // PER_LANE))
    if not isinstance(connection, SMTPBackend) or lanes < 2:
        return _send_over_one(connection, deliveries, outgoing, now=now)
    return _send_in_lanes(lanes, deliveries, outgoing, now=now)


def _send_over_one(connection, deliveries: list[Delivery], outgoing: Sender, *,
                   now: datetime.datetime) -> tuple[list[Delivery], list[tuple]]:
    sent: list[Delivery] = []
    failed: list[tuple[Delivery, str]] = []
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("mail server unavailable: %s", exc)
        return [], [(d, f"mail server unavailable: {exc}") for d in deliveries]
    try:
        for index, delivery in enumerate(deliveries):
            smtp = isinstance(connection, SMTPBackend) and connection.connection is not None
            try:
                message = outgoing.raw(delivery, now=now) if smtp else outgoing.message(delivery, now=now)
            except Exception as exc:  # one message that cannot be built fails alone
                failed.append((delivery, _unbuildable(delivery, exc)))
                continue
            try:
                if smtp:
                    connection.connection.sendmail(delivery.email.sender.from_email, [delivery.to_address], message)
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
        _close(connection)
    return sent, failed


def _unbuildable(delivery: Delivery, exc: Exception) -> str:
    logger.exception("message %s could not be built", delivery.pk)
    return f"could not build the message: {exc.__class__.__name__}: {exc}"


def _close(connection) -> None:
    try:
        connection.close()
    except (OSError, smtplib.SMTPException):
        pass


def _send_in_lanes(lanes: int, deliveries: list[Delivery], outgoing: Sender, *,
                   now: datetime.datetime) -> tuple[list[Delivery], list[tuple]]:
    """Render here (database reads stay in this thread) and hand each message's bytes to whichever
    of `lanes` SMTP connections is free. A lane that cannot connect, or loses its connection,
    stops; once every lane has stopped, the messages left go back to the queue."""
    work: queue.SimpleQueue[tuple[Delivery, bytes] | None] = queue.SimpleQueue()
    sent: list[Delivery] = []
    failed: list[tuple[Delivery, str]] = []
    stopped: list[str] = []  # why each stopped lane stopped

    def lane() -> None:
        connection = get_connection(fail_silently=False)
        try:
            connection.open()
        except (OSError, smtplib.SMTPException) as exc:
            stopped.append(f"mail server unavailable: {exc}")
            return
        try:
            while (item := work.get()) is not None:
                delivery, raw = item
                try:
                    connection.connection.sendmail(delivery.email.sender.from_email, [delivery.to_address], raw)
                    sent.append(delivery)
                except smtplib.SMTPRecipientsRefused as exc:
                    failed.append((delivery, f"recipient refused: {exc.recipients}"))
                except (smtplib.SMTPServerDisconnected, ConnectionError, OSError) as exc:
                    failed.append((delivery, f"connection lost: {exc}"))
                    stopped.append(f"connection lost: {exc}")
                    return
                except smtplib.SMTPException as exc:
                    failed.append((delivery, f"{exc.__class__.__name__}: {exc}"))
                except Exception as exc:  # the connection's state is unknown: this lane stops
                    logger.exception("SMTP lane failed on message %s", delivery.pk)
                    failed.append((delivery, f"{exc.__class__.__name__}: {exc}"))
                    stopped.append(f"{exc.__class__.__name__}: {exc}")
                    return
        finally:
            _close(connection)

    threads = [threading.Thread(target=lane, name=f"smtp-{n}", daemon=True) for n in range(lanes)]
    for thread in threads:
        thread.start()
    rendered = 0
    try:
        for delivery in deliveries:
            if len(stopped) == lanes:
                break
            rendered += 1
            try:
                work.put((delivery, outgoing.raw(delivery, now=now)))
            except Exception as exc:  # one message that cannot be built fails alone
                failed.append((delivery, _unbuildable(delivery, exc)))
    finally:
        for _ in threads:
            work.put(None)
        for thread in threads:
            thread.join()
    if stopped:
        logger.warning("SMTP: %d of %d connections stopped: %s", len(stopped), lanes, stopped[0])
    reason = stopped[-1] if stopped else "connection lost"
    while not work.empty():  # what no lane took (every lane stopped)
        item = work.get_nowait()
        if item is not None:
            failed.append((item[0], reason))
    failed += [(delivery, reason) for delivery in deliveries[rendered:]]
    return sent, failed
