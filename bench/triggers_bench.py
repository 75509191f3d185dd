"""Trigger ingestion and trigger-to-inbox latency.

1. Accepted events per second through the API: `POST /api/triggers/<key>/fire/` one event per
   request (API key auth, validation, person look-up, fair-use counter, insert, dispatch message),
   and `POST /api/triggers/batch/` with 1,000 events per request. Baselines: the same number of
   rows written by raw INSERTs (one per row in autocommit for single events; one multi-row
   INSERT per 1,000 for batches). Requests go through Django's whole stack in this process
   (`django.test.Client`, no socket), so the figures are the server's cost, not a network's.
2. Latency from POST to the first email accepted by a real SMTP server (aiosmtpd on loopback)
   for a trigger-based journey (entry trigger -> send email), at a steady 100 events per second,
   with a real Celery worker (a separate process) on the Redis broker: p50 and p99. When p99 is
   over a second, lower rates are tried (3 seconds of events each) to find the highest one that keeps it
   under: `sustained_rate_p99_under_1s_per_s`.

The worker consumes a queue of its own (named for the run), so other workers on the same broker
never take the bench's tasks. Needs PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL).
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from bench.common import BENCH_DOMAIN, Log, Result, Stopwatch, on_postgres, ratio, run_domain
from channels import services as channels
from channels.models import BrandProfile, Delivery, Email, SenderProfile
from config.celery import app as celery_app
from contacts.demo.cleanup import delete_contacts
from contacts.models import APIKey, Channel, Consent, ConsentStatus, Contact
from journeys import services as journeys
from journeys.models import EXIT, CustomTrigger, Journey, JourneyRun, TriggerEvent

DEFAULT_SINGLE = 200
BATCH_SIZE = 1000
BATCHES = 3
RATE_PER_S = float(os.environ.get("BENCH_TRIGGERS_RATE", "100"))  # events/s for the latency phase
LOWER_RATES = [50, 25, 10, 5, 2]  # tried in turn until p99 is under a second
STEP_SECONDS, STEP_MIN_EVENTS = 3, 20  # each lower rate fires for 3 s (at least 20 events)
# Worker processes: dispatch and sending mostly wait on the database and SMTP, so a few per core.
WORKER_PROCESSES = int(os.environ.get("BENCH_TRIGGERS_WORKERS", "4"))
BENCH_NAME = "Waymark triggers bench"
ROOT = Path(__file__).resolve().parent.parent
BASELINE = ("raw INSERT into the trigger event table: one per row in autocommit (single), one multi-row INSERT "
            "per 1,000 rows (batch)")
WORKER = """
import os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
sys.path.insert(0, os.getcwd())
django.setup()
from config.celery import app
app.conf.task_default_queue = sys.argv[1]
app.worker_main(["worker", "-Q", sys.argv[1], "-c", sys.argv[2], "-l", "WARNING", "--without-gossip",
                 "--without-mingle", "--without-heartbeat", "-n", sys.argv[1] + "@%h"])
"""


class Sink:
    """An SMTP server noting when each recipient's first message arrived."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.bodies: dict[str, bytes] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        arrived = time.perf_counter()
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.first.setdefault(rcpt, arrived)
                self.bodies.setdefault(rcpt, envelope.content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def create_world(domain: str, count: int, user, *, now: datetime.datetime) -> tuple[str, str, str]:
    """Bench contacts (consenting), two custom triggers, an email, a live journey; returns the
    journey's trigger key, the throughput trigger's key and a raw write API key."""
    tag = domain.split(".")[0]
    contacts = [Contact(email=f"t{n}@{domain}", first_name=f"Bench{n}") for n in range(count)]
    with transaction.atomic():
        Contact.objects.bulk_create(contacts, batch_size=1000)
        ids = Contact.objects.filter(email__endswith=f"@{domain}").values_list("pk", flat=True)
        Consent.objects.bulk_create([Consent(contact_id=pk, channel=Channel.EMAIL, status=ConsentStatus.OPTED_IN,
                                             source="bench", updated_at=now) for pk in ids], batch_size=1000)
    attributes = [{"name": "items", "type": "list", "required": True}, {"name": "total", "type": "number"}]
    journey_key, throughput_key = f"bench{tag}.cart_abandoned", f"bench{tag}.page_viewed"
    for key in (journey_key, throughput_key):
        CustomTrigger.objects.create(name=f"{BENCH_NAME} {key}", key=key, person_field="email",
                                     attributes=attributes, rate_limit_per_minute=10_000_000)
    sender = SenderProfile.objects.create(name=BENCH_NAME, from_name="Contoso", from_email=f"shop@{domain}")
    brand = BrandProfile.objects.create(name=BENCH_NAME, postal_address="1 Bean Street, Seattle, WA",
                                        footer_text="Contoso Coffee")
    email = Email.objects.create(name=BENCH_NAME, key=f"bench-trigger-{tag}", sender=sender, brand=brand,
                                 subject="You left {{ trigger.items }} in your cart",
                                 blocks=[{"type": "text", "html": "<p>Still thinking about {{ trigger.items }}?</p>"}])
    channels.publish(email, now=now)
    journey = Journey.objects.create(name=BENCH_NAME, entry_trigger=journey_key, re_entry="any_time",
                                     tiles={"start": "remind", "tiles": {
                                         "remind": {"type": "send_email", "email": email.key, "next": EXIT}}})
    journeys.go_live(journey, now=now)
    key = APIKey(name=BENCH_NAME, user=user, scope=APIKey.Scope.WRITE)
    raw_key = key.generate()
    key.save()
    return journey_key, throughput_key, raw_key


def remove_world(domain_suffix: str) -> int:
    runs = JourneyRun.objects.filter(journey__name=BENCH_NAME)
    runs.delete()
    Journey.objects.filter(name=BENCH_NAME).delete()
    removed = delete_contacts(Contact.objects.filter(email__endswith=domain_suffix))
    Delivery.objects.filter(email__name=BENCH_NAME).delete()
    Email.objects.filter(name=BENCH_NAME).delete()
    SenderProfile.objects.filter(name=BENCH_NAME).delete()
    BrandProfile.objects.filter(name=BENCH_NAME).delete()
    CustomTrigger.objects.filter(name__startswith=BENCH_NAME).delete()
    APIKey.objects.filter(name=BENCH_NAME).delete()
    return removed


def fire_single(client: Client, key: str, emails: list[str]) -> None:
    for n, email in enumerate(emails):
        response = client.post(f"/api/triggers/{key}/fire/", {"payload": {"email": email, "items": ["Beans"],
                                                                          "total": n}},
                               content_type="application/json")
        if response.status_code != 202:
            raise RuntimeError(f"fire answered {response.status_code}: {response.content[:300]!r}")


def fire_batches(client: Client, key: str, emails: list[str]) -> None:
    for start in range(0, len(emails), BATCH_SIZE):
        events = [{"key": key, "payload": {"email": email, "items": ["Beans"], "total": 1}}
                  for email in emails[start:start + BATCH_SIZE]]
        response = client.post("/api/triggers/batch/", {"events": events}, content_type="application/json")
        if response.status_code != 202:
            raise RuntimeError(f"batch answered {response.status_code}: {response.content[:300]!r}")


def raw_inserts(contact_ids: list[int], *, per_statement: int, now: datetime.datetime) -> None:
    """The baseline: the same rows, hand-written INSERTs (autocommit: one commit per statement)."""
    table = TriggerEvent._meta.db_table
    payload = json.dumps({"email": "x", "items": ["Beans"], "total": 1})
    with connection.cursor() as cursor:
        for start in range(0, len(contact_ids), per_statement):
            chunk = contact_ids[start:start + per_statement]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            params = [p for pk in chunk for p in (pk, "bench.baseline", payload, "bench", now)]
            cursor.execute(f'INSERT INTO {table} (contact_id, "key", payload, source, occurred_at) VALUES {values}',
                           params)


def start_worker(queue: str, *, smtp_port: int) -> subprocess.Popen:
    env = {**os.environ, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_port), "EMAIL_USE_TLS": "0",
           "EMAIL_USE_SSL": "0", "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": "",
           "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"}
    log_file = tempfile.TemporaryFile()  # read only if something fails; a pipe could fill and block it
    worker = subprocess.Popen([sys.executable, "-c", WORKER, queue, str(WORKER_PROCESSES)], cwd=ROOT, env=env,
                              stdout=log_file, stderr=subprocess.STDOUT)
    worker.log_file = log_file
    return worker


def worker_log_tail(worker: subprocess.Popen, size: int = 6000) -> str:
    worker.log_file.seek(0)
    return worker.log_file.read().decode("utf-8", "replace")[-size:]


def wait_for_worker(queue: str, *, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = celery_app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=0.5)
        if replies:
            return True
    return False


def paced_fires(raw_key: str, key: str, emails: list[str], *, rate: float, threads: int = 8) -> dict[str, float]:
    """Fire one event per person at a steady `rate` per second — each POST starts at its slot,
    from a few client threads, as requests from many integrations would — and return when each
    POST started."""
    started: dict[str, float] = {}
    failures: list[str] = []
    slots = iter(enumerate(emails))
    lock = threading.Lock()
    origin = time.perf_counter() + 0.1

    def client_thread() -> None:
        client = Client(HTTP_AUTHORIZATION=f"Api-Key {raw_key}", SERVER_NAME="localhost")
        try:
            while True:
                with lock:
                    n, email = next(slots, (None, None))
                if email is None:
                    return
                delay = origin + n / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                started[email] = time.perf_counter()
                response = client.post(f"/api/triggers/{key}/fire/", {"payload": {
                    "email": email, "items": [f"Kit {n}"], "total": n}}, content_type="application/json")
                if response.status_code != 202:
                    failures.append(f"{response.status_code}: {response.content[:200]!r}")
        finally:
            connection.close()

    pool = [threading.Thread(target=client_thread) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} fires failed, e.g. {failures[0]}")
    return started


def measure_latency(raw_key: str, key: str, emails: list[str], sink: Sink, *, rate: float,
                    drain_s: float = 60) -> tuple[list[float], float]:
    """Fire one event per address at `rate`; wait for their emails; return the latencies (ms) of
    those that arrived and the rate actually achieved."""
    started = paced_fires(raw_key, key, emails, rate=rate)
    fired_in = max(started.values()) - min(started.values()) or 1e-9
    deadline = time.perf_counter() + drain_s
    while any(e not in sink.first for e in emails) and time.perf_counter() < deadline:
        time.sleep(0.05)
    return [(sink.first[e] - started[e]) * 1000 for e in emails if e in sink.first], (len(emails) - 1) / fired_in


def summary(latencies: list[float]) -> tuple[float, float]:
    if not latencies:
        return float("inf"), float("inf")
    return statistics.median(latencies), percentile(latencies, 0.99)


def run(*, contacts: int | None = None, log: Log = print) -> Result:
    if not on_postgres() or not settings.CELERY_BROKER_URL.startswith("redis"):
        raise RuntimeError("bench triggers needs PostgreSQL and Redis: set DATABASE_URL=postgres://… and "
                           "CELERY_BROKER_URL=redis://…")
    if celery_app.conf.task_always_eager:
        raise RuntimeError("CELERY_TASK_ALWAYS_EAGER is on: the bench measures a real worker.")
    count = contacts or DEFAULT_SINGLE
    left_behind = remove_world(f".{BENCH_DOMAIN}")
    if left_behind:
        log(f"triggers: removed {left_behind:,} contacts left behind by an earlier run")
    waiting = Delivery.objects.queued().count()
    if waiting:
        raise RuntimeError(f"{waiting} message(s) wait to be sent: run the bench when the queue is empty.")
    domain = run_domain()
    now = timezone.now()
    # The API key's owner: a superuser made for this run (removed with the run's rows).
    user = get_user_model().objects.create_superuser(f"bench-{domain.split('.')[0]}", password=None)
    smtp_log = logging.getLogger("mail.log")
    smtp_level = smtp_log.level
    smtp_log.setLevel(logging.WARNING)
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    queue = f"bench-triggers-{domain.split('.')[0]}"
    default_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    worker = None
    try:
        cache.clear()
        journey_key, throughput_key, raw_key = create_world(domain, max(count, BATCH_SIZE), user, now=now)
        client = Client(HTTP_AUTHORIZATION=f"Api-Key {raw_key}", SERVER_NAME="localhost")
        emails = list(Contact.objects.filter(email__endswith=f"@{domain}").order_by("pk").values_list("email",
                                                                                                      flat=True))
        contact_ids = list(Contact.objects.filter(email__endswith=f"@{domain}").order_by("pk").values_list("pk",
                                                                                                        flat=True))
        worker = start_worker(queue, smtp_port=port)
        if not wait_for_worker(queue):
            raise RuntimeError("the Celery worker did not answer a ping")
        # 1. Accepted per second: single, then batch; baselines over the same number of rows.
        single, batch, base_single, base_batch = Stopwatch(), Stopwatch(), Stopwatch(), Stopwatch()
        with single.running():
            fire_single(client, throughput_key, emails[:count])
        batch_emails = (emails * BATCHES)[:BATCH_SIZE * BATCHES]
        with batch.running():
            fire_batches(client, throughput_key, batch_emails)
        with base_single.running():
            raw_inserts(contact_ids[:count], per_statement=1, now=now)
        with base_batch.running():
            raw_inserts((contact_ids * BATCHES)[:BATCH_SIZE * BATCHES], per_statement=BATCH_SIZE, now=now)
        log(f"triggers: single {count / single.seconds:,.0f}/s (raw {count / base_single.seconds:,.0f}/s), "
            f"batch {len(batch_emails) / batch.seconds:,.0f}/s (raw {len(batch_emails) / base_batch.seconds:,.0f}/s)")
        stored = TriggerEvent.objects.filter(key=throughput_key).count()
        dispatched = _settle(throughput_key)  # the worker is idle again before latency is measured
        # 2. POST -> inbox at a steady rate through the worker; then lower rates until p99 < 1 s.
        latency_emails = emails[:count]
        latencies, achieved = measure_latency(raw_key, journey_key, latency_emails, sink, rate=RATE_PER_S)
        p50, p99 = summary(latencies)
        log(f"triggers: {len(latencies)}/{len(latency_emails)} emails at {achieved:,.0f} events/s: "
            f"p50 {p50:.0f} ms, p99 {p99:.0f} ms")
        sustained, unused = (RATE_PER_S if p99 < 1000 else 0.0), emails[count:]
        for rate in [r for r in LOWER_RATES if r < RATE_PER_S]:
            size = max(STEP_MIN_EVENTS, int(rate * STEP_SECONDS))
            if sustained or len(unused) < size:
                break
            step, unused = unused[:size], unused[size:]
            step_latencies, _ = measure_latency(raw_key, journey_key, step, sink, rate=rate)
            step_p50, step_p99 = summary(step_latencies)
            log(f"triggers: at {rate:g} events/s: p50 {step_p50:.0f} ms, p99 {step_p99:.0f} ms")
            if len(step_latencies) == len(step) and step_p99 < 1000:
                sustained = rate
        named = all(f"Kit {n}".encode() in sink.bodies.get(e, b"") for n, e in enumerate(latency_emails))
        checks = {
            "all_single_and_batch_stored": stored == count + len(batch_emails),
            "all_dispatched": dispatched,
            "every_email_received": len(latencies) == len(latency_emails),
            "emails_name_the_items": named,
            "p99_under_1s": p99 < 1000,  # at RATE_PER_S
        }
        if not all(checks.values()) or os.environ.get("BENCH_TRIGGERS_WORKER_LOG"):
            log("triggers: worker log (tail):\n" + worker_log_tail(worker))
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        celery_app.conf.task_default_queue = default_queue
        controller.stop()
        smtp_log.setLevel(smtp_level)
        TriggerEvent.objects.filter(key="bench.baseline").delete()
        remove_world(f"@{domain}")
        user.delete()
    checks["cleaned_up"] = not Contact.objects.filter(email__endswith=f"@{domain}").exists()
    total_batch = len(batch_emails)
    return Result(
        figures={
            "database": connection.vendor, "broker": "redis", "single_events": count, "batch_events": total_batch,
            "batch_size": BATCH_SIZE, "single_s": single.seconds, "single_events_per_s": round(count / single.seconds),
            "batch_s": batch.seconds, "batch_events_per_s": round(total_batch / batch.seconds),
            "baseline": BASELINE, "baseline_single_s": base_single.seconds,
            "baseline_single_rows_per_s": round(count / base_single.seconds),
            "baseline_batch_s": base_batch.seconds,
            "baseline_batch_rows_per_s": round(total_batch / base_batch.seconds),
            "latency_events": len(latency_emails), "latency_rate_per_s": round(achieved, 1),
            "latency_p50_ms": p50, "latency_p99_ms": p99, "latency_max_ms": max(latencies) if latencies else 0.0,
            "worker_processes": WORKER_PROCESSES, "sustained_rate_p99_under_1s_per_s": sustained,
        },
        ratios={"single": ratio(single.seconds, base_single.seconds),
                "batch": ratio(batch.seconds, base_batch.seconds)},
        checks=checks,
    )


def _settle(key: str, timeout: float = 60) -> bool:
    """Give the worker time to dispatch the throughput events (nothing listens: they are quick)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not TriggerEvent.objects.filter(key=key, dispatched_at__isnull=True).exists():
            return True
        time.sleep(0.2)
    return False
