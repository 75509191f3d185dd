"""Personalized email, end to end, against smtplib sending the same messages pre-built.

Waymark's side: `channels.services.queue_email` for N consenting bench contacts, then
`services.send_queued` until the queue is empty — claim, consent and address checks,
per-recipient rendering, MIME building, SMTP (one connection per batch), status updates and the
"delivered" interactions. The baseline sends the very bytes Waymark sent (so: the same count and
sizes), already built, with `smtplib.sendmail` over one connection. Both go to the same aiosmtpd
server on loopback, started here, in this process. Also measured: `services.build` of the
email (MJML compile, CSS inlining, link tracking, text part), which runs once per publish.

Deliveries are queued a day ahead (`now` is a parameter), so a running worker never claims
them; for the same reason the bench refuses to run while other messages wait in the queue.
"""

from __future__ import annotations

import datetime
import logging
import random
import smtplib
import socket
import statistics
import threading
import time

import mjml
from aiosmtpd.controller import Controller
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

from bench.common import BENCH_DOMAIN, Log, Result, Stopwatch, ratio, run_domain
from channels import rendering, services
from channels.models import BrandProfile, Delivery, Email, SenderProfile
from contacts.demo import scale
from contacts.demo.cleanup import delete_contacts
from contacts.models import Channel, Consent, ConsentStatus, Contact

DEFAULT_MESSAGES = 2000
BATCH = 200  # what the Celery task sends per claim (channels.tasks.send_queued)
BUILD_RUNS = 20
BENCH_NAME = "Waymark bench"
EMAIL_KEY_PREFIX = "bench-email-"
BASELINE = "smtplib.sendmail of the same pre-built messages over one connection (same in-process aiosmtpd)"
BLOCKS = [
    {"type": "heading", "text": "Fresh from the roastery"},
    {"type": "text", "html": '<p>Hi {{ contact.first_name | default: "there" }}, the spring blends are in. As a '
                             'coffee lover in {{ contact.city | default: "your city" }}, you get first pick.</p>'},
    {"type": "image", "src": "https://cdn.contoso.test/img/spring-blend.jpg", "alt": "Spring blend",
     "href": "https://contoso.test/spring"},
    {"type": "button", "text": "Shop the blends", "href": "https://contoso.test/shop?utm_source=email"},
    {"type": "divider"},
    {"type": "text", "html": "<p>Our cold brew concentrate is back, with a <a href=\"https://contoso.test/cold-brew\">"
                             "new recipe</a> and 10% off this week.</p><ul><li>Smooth</li><li>Low acid</li></ul>"},
    {"type": "columns", "columns": [
        [{"type": "heading", "level": 3, "text": "Beans"},
         {"type": "text", "html": '<p>Whole beans, roasted to order. <a href="https://contoso.test/beans">Browse</a></p>'}],
        [{"type": "heading", "level": 3, "text": "Presses"},
         {"type": "text", "html": '<p>French presses and pour-overs. <a href="https://contoso.test/gear">Browse</a></p>'}],
    ]},
    {"type": "spacer", "height": 24},
    {"type": "social", "links": [{"name": "instagram", "href": "https://instagram.com/contoso"},
                                 {"name": "facebook", "href": "https://facebook.com/contoso"}]},
    {"type": "text", "html": "<p>Thanks for being with us, {{ contact.first_name | default: \"friend\" }}.</p>"},
]


class Sink:
    """An SMTP server that keeps what it receives: recipient, raw bytes."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.received.append((envelope.rcpt_tos[0], envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def remove_bench_rows(email_suffix: str) -> int:
    """Bench people (their deliveries, consent and interactions cascade), then the bench email."""
    removed = delete_contacts(Contact.objects.filter(email__endswith=email_suffix))
    Delivery.objects.filter(email__key__startswith=EMAIL_KEY_PREFIX).delete()
    Email.objects.filter(key__startswith=EMAIL_KEY_PREFIX).delete()
    SenderProfile.objects.filter(name=BENCH_NAME, emails__isnull=True).delete()
    BrandProfile.objects.filter(name=BENCH_NAME, emails__isnull=True).delete()
    return removed


def create_email(domain: str, *, now: datetime.datetime) -> Email:
    sender = SenderProfile.objects.create(name=BENCH_NAME, from_name="Contoso Coffee", from_email=f"news@{domain}")
    brand = BrandProfile.objects.create(name=BENCH_NAME, postal_address="1 Bean Street, Seattle, WA",
                                        footer_text="Contoso Coffee", logo_url="https://cdn.contoso.test/logo.png")
    email = Email.objects.create(name="Bench spring", key=f"{EMAIL_KEY_PREFIX}{domain.split('.')[0]}",
                                 subject='{{ contact.first_name | default: "Hi" }}, the spring blends are in',
                                 preheader="New roasts, cold brew is back", sender=sender, brand=brand, blocks=BLOCKS)
    services.publish(email, now=now)
    return email


def create_contacts(count: int, domain: str, *, now: datetime.datetime) -> dict[str, str]:
    """Consenting bench contacts, set-based; returns the subject each address should receive."""
    rng = random.Random(7)
    contacts = [Contact(email=f"bench{n}@{domain}", first_name=rng.choice(scale.FIRST_NAMES),
                        last_name=rng.choice(scale.LAST_NAMES), city=rng.choice(scale.PLACES)[2])
                for n in range(count)]
    with transaction.atomic():
        Contact.objects.bulk_create(contacts, batch_size=1000)
        ids = list(Contact.objects.filter(email__endswith=f"@{domain}").values_list("pk", flat=True))
        Consent.objects.bulk_create([Consent(contact_id=pk, channel=Channel.EMAIL, status=ConsentStatus.OPTED_IN,
                                             source="bench", updated_at=now) for pk in ids], batch_size=1000)
    return {c.email: f"{c.first_name}, the spring blends are in" for c in contacts}


def queue_all(email: Email, domain: str, *, now: datetime.datetime) -> int:
    """One queue_email per person in one transaction, as a journey tick queues a batch of sends."""
    contacts = list(Contact.objects.filter(email__endswith=f"@{domain}").order_by("pk"))
    with transaction.atomic():
        for contact in contacts:
            services.queue_email(email, person=contact, idempotency_key=f"bench:{domain}:{contact.pk}", now=now)
    return len(contacts)


def send_all(email: Email, *, now: datetime.datetime) -> None:
    while Delivery.objects.filter(email=email, status=Delivery.Status.QUEUED).exists():
        services.send_queued(now=now, limit=BATCH)


def send_raw(messages: list[tuple[str, bytes]], *, port: int, from_address: str) -> None:
    with smtplib.SMTP("127.0.0.1", port) as client:
        for recipient, raw in messages:
            client.sendmail(from_address, [recipient], raw)


def subject_of(raw: bytes) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"subject: "):
            return line[9:].decode("utf-8", "replace")
    return ""


def time_build(email: Email) -> tuple[float, float]:
    """Median ms of services.build (what publish compiles) and of the MJML compile alone."""
    build, compile_ = [], []
    for _ in range(BUILD_RUNS):
        started = time.perf_counter()
        composition, _html, _text, _links = services.build(email)
        build.append(time.perf_counter() - started)
        started = time.perf_counter()
        mjml.mjml2html(composition.mjml, fonts={})
        compile_.append(time.perf_counter() - started)
    return statistics.median(build) * 1000, statistics.median(compile_) * 1000


def run(*, contacts: int | None = None, log: Log = print) -> Result:
    count = contacts or DEFAULT_MESSAGES
    domain = run_domain()
    left_behind = remove_bench_rows(f".{BENCH_DOMAIN}")
    if left_behind:
        log(f"removed {left_behind:,} contacts left behind by an earlier run")
    waiting = Delivery.objects.queued().count()
    if waiting:
        raise RuntimeError(f"{waiting} message(s) waiting to be sent: run the email bench when the queue is empty "
                           "(it would send them to its own test server).")
    now = timezone.now() + datetime.timedelta(days=1)  # ahead of any worker's clock: only we claim these
    smtp_log = logging.getLogger("mail.log")  # aiosmtpd logs every SMTP command at INFO: it would cost more
    smtp_log_level = smtp_log.level           # than the server itself
    smtp_log.setLevel(logging.WARNING)
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    email = None
    try:
        email = create_email(domain, now=now)
        expected = create_contacts(count, domain, now=now)
        build_ms, mjml_ms = time_build(email)
        rendering._prepare.cache_clear()  # the first batch pays for splitting the version, as in a worker
        log(f"email: {count:,} messages of a {len(BLOCKS)}-block email into {connection.vendor}; "
            f"build {build_ms:.2f} ms")
        queue, send = Stopwatch(), Stopwatch()
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
                               EMAIL_PORT=port, EMAIL_USE_TLS=False, EMAIL_USE_SSL=False, EMAIL_HOST_USER="",
                               EMAIL_HOST_PASSWORD=""):
            with queue.running():
                queue_all(email, domain, now=now)
            with send.running():
                send_all(email, now=now)
        waymark_received = list(sink.received)
        log(f"email: Waymark queued in {queue.seconds:.2f} s, sent in {send.seconds:.2f} s "
            f"({count / send.seconds:,.0f} messages/s)")
        sink.received.clear()
        baseline = Stopwatch()
        with baseline.running():
            send_raw(waymark_received, port=port, from_address=email.sender.from_email)
        log(f"email: baseline {baseline.seconds:.2f} s ({count / baseline.seconds:,.0f} messages/s)")
        sent = Delivery.objects.filter(email=email, status=Delivery.Status.SENT).count()
        sizes = [len(raw) for _rcpt, raw in waymark_received]
        checks = {
            "all_sent": sent == count,
            "all_received": len(waymark_received) == count,
            "only_bench_recipients": {rcpt for rcpt, _raw in waymark_received} == set(expected),
            "personalized": all(subject_of(raw) == expected.get(rcpt) for rcpt, raw in waymark_received),
            "baseline_all_received": len(sink.received) == count,
        }
    finally:
        controller.stop()
        smtp_log.setLevel(smtp_log_level)
        remove_bench_rows(f"@{domain}")
    checks["cleaned_up"] = not Email.objects.filter(key__startswith=EMAIL_KEY_PREFIX).exists() and not (
        Contact.objects.filter(email__endswith=f"@{domain}").exists())
    total = queue.seconds + send.seconds
    return Result(
        figures={
            "messages": count, "blocks": len(BLOCKS), "database": connection.vendor, "batch_size": BATCH,
            "message_kb": round(statistics.mean(sizes) / 1024, 1) if sizes else 0,
            "build_ms": build_ms, "mjml_compile_ms": mjml_ms,
            "queue_s": queue.seconds, "queue_ms_per_message": queue.seconds / count * 1000,
            "send_s": send.seconds, "sends_per_s": round(count / send.seconds),
            "queue_and_send_per_s": round(count / total),
            "baseline": BASELINE, "baseline_s": baseline.seconds,
            "baseline_sends_per_s": round(count / baseline.seconds),
        },
        ratios={"send": ratio(send.seconds, baseline.seconds), "queue_and_send": ratio(total, baseline.seconds)},
        checks=checks,
    )
