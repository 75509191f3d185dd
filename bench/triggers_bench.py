"""Trigger ingestion and trigger-to-inbox latency.

1. Accepted events per second through the API: `POST /api/triggers/<key>/fire/` one event per
   request (API key auth, validation, person look-up, fair-use counter, insert, dispatch wake-up),
   and `POST /api/triggers/batch/` with 1,000 events per request. Baselines: the same number of
   rows written by raw INSERTs (one per row in autocommit for single events; one multi-row
   INSERT per 1,000 for batches). Requests go through Django's whole stack in this process
   (`django.test.Client`, no socket), so the figures are the server's cost, not a network's.
2. Latency from POST to the first email accepted by a real SMTP server for a trigger-based journey
   (entry trigger -> send email), deployed as in production: gunicorn (DEBUG=0, persistent
   database connections), a Celery worker on the Redis broker, the cache on Redis (so wake-ups
   coalesce), and the SMTP server (aiosmtpd) in a process of its own. The tables the pipeline
   claims from are vacuumed first, and 60 events warm the processes up (not measured). Events are
   fired over HTTP at a steady rate, one per request, from a few client threads: p50/p99 at 100
   events/s, then
   higher rates (200, 300, then 417/s = 25,000 a minute) while p99 stays under a second, or lower
   ones (50, 25, 10) until it is: `sustained_rate_p99_under_1s_per_s`. The time from the POST to
   the send's claim of the message splits the latency into dispatch and sending. Then 25,000 a
   minute again, as integrations at that volume send them: a batch request every 100 ms
   (`batched_*`).

The worker consumes a queue of its own (named for the run), so other workers on the same broker
never take the bench's tasks. Needs PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL).
"""

from __future__ import annotations

import datetime
import json
import logging
import multiprocessing
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import urllib3
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
RATE_PER_S = float(os.environ.get("BENCH_TRIGGERS_RATE", "100"))  # events/s of the first latency step
HIGHER_RATES = [200, 300, 25_000 / 60]  # tried in turn while p99 stays under a second
LOWER_RATES = [50, 25, 10]  # tried in turn, if p99 is over a second at RATE_PER_S, until it is under
STEP_SECONDS = 4  # each higher rate fires for 4 s
BATCHED_EVERY_S = 0.1  # the batched phase: one request every 100 ms carrying 1/10 s of events
# Worker processes: dispatch and sending mostly wait on the database and SMTP, so a few per core.
WORKER_PROCESSES = int(os.environ.get("BENCH_TRIGGERS_WORKERS", "4"))
WEB_PROCESSES = int(os.environ.get("BENCH_TRIGGERS_WEB", "2"))
CLIENT_THREADS = 16
WARM_UP = 60  # events fired over 2 s before the first measured step
BENCH_NAME = "Waymark triggers bench"
ROOT = Path(__file__).resolve().parent.parent
BASELINE = ("raw INSERT into the trigger event table: one per row in autocommit (single), one multi-row INSERT "
            "per 1,000 rows (batch)")
class Sink:
    """An SMTP server noting when each message arrived: (recipient, time.time(), body)."""

    def __init__(self, arrivals) -> None:
        self.arrivals = arrivals

    async def handle_DATA(self, server, session, envelope) -> str:
        arrived = time.time()
        for rcpt in envelope.rcpt_tos:
            self.arrivals.put((rcpt, arrived, envelope.content))
        return "250 OK"


def serve_smtp(port: int, arrivals, stop) -> None:
    """The SMTP server's own process (its parsing must not compete with the bench's threads)."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = Controller(Sink(arrivals), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait()
    controller.stop()


class Inbox:
    """The SMTP server in a process of its own, and what it received: first arrival and body per
    recipient, collected by a thread here."""

    def __init__(self) -> None:
        self.port = free_port()
        context = multiprocessing.get_context("fork")  # before any thread starts here
        self.arrivals, self.stop = context.Queue(), context.Event()
        self.process = context.Process(target=serve_smtp, args=(self.port, self.arrivals, self.stop), daemon=True)
        self.first: dict[str, float] = {}
        self.bodies: dict[str, bytes] = {}
        self.collector = threading.Thread(target=self._collect, daemon=True)

    def __enter__(self) -> Inbox:
        self.process.start()
        self.collector.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the SMTP server did not start")

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()

    def _collect(self) -> None:
        while True:
            try:
                rcpt, arrived, body = self.arrivals.get(timeout=0.5)
            except queue.Empty:
                if not self.process.is_alive() and self.stop.is_set():
                    return
                continue
            except (EOFError, OSError):
                return
            self.first.setdefault(rcpt, arrived)
            self.bodies.setdefault(rcpt, body)


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


def service_env(*, smtp_port: int, queue_name: str) -> dict[str, str]:
    """Production settings for the web server and the worker: DEBUG off, persistent database
    connections, the cache on Redis (shared by every process), mail to the bench's SMTP server."""
    return {**os.environ, "DEBUG": "0", "SECRET_KEY": "bench-only-" + queue_name * 2,
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "SECURE_SSL_REDIRECT": "0", "CONN_MAX_AGE": "60",
            "CACHE_URL": os.environ.get("CACHE_URL") or settings.CELERY_BROKER_URL,
            "CELERY_TASK_DEFAULT_QUEUE": queue_name, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_port),
            "EMAIL_USE_TLS": "0", "EMAIL_USE_SSL": "0", "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": "",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"}


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    log_file = tempfile.TemporaryFile()  # read only if something fails; a pipe could fill and block it
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    process.log_file = log_file
    return process


def start_worker(queue_name: str, env: dict[str, str]) -> subprocess.Popen:
    return start([sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue_name,
                  "-c", str(WORKER_PROCESSES), "-l", "WARNING", "--without-gossip", "--without-mingle",
                  "--without-heartbeat", "-n", f"{queue_name}@%h"], env)


def start_web(port: int, env: dict[str, str]) -> subprocess.Popen:
    return start([sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{port}",
                  "-w", str(WEB_PROCESSES), "-k", "gthread", "--threads", "4", "--keep-alive", "30",
                  "--log-level", "warning"], env)


def log_tail(process: subprocess.Popen, size: int = 6000) -> str:
    process.log_file.seek(0)
    return process.log_file.read().decode("utf-8", "replace")[-size:]


def stop(process: subprocess.Popen | None) -> None:
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_for_worker(queue_name: str, *, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = celery_app.control.ping(destination=[f"{queue_name}@{os.uname().nodename}"], timeout=0.5)
        if replies:
            return True
    return False


def wait_for_web(pool: urllib3.HTTPConnectionPool, *, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pool.request("GET", "/healthz", retries=False).status == 200:
                return True
        except urllib3.exceptions.HTTPError:
            pass
        time.sleep(0.2)
    return False


class Firing:
    """Integrations calling the API over HTTP: POSTs at their slots from a few client threads,
    noting when each event's request started (time.time(), comparable with the SMTP server's)."""

    def __init__(self, pool: urllib3.HTTPConnectionPool, raw_key: str, key: str) -> None:
        self.pool, self.key = pool, key
        self.headers = {"Authorization": f"Api-Key {raw_key}", "Content-Type": "application/json"}
        self.started: dict[str, float] = {}
        self.failures: list[str] = []

    def _post(self, path: str, body: dict, emails: list[str]) -> None:
        at = time.time()
        for email in emails:
            self.started[email] = at
        response = self.pool.request("POST", path, body=json.dumps(body).encode(), headers=self.headers)
        if response.status != 202:
            self.failures.append(f"{response.status}: {response.data[:200]!r}")

    def _paced(self, slots: list[tuple[float, str, dict, list[str]]]) -> None:
        pending = iter(slots)
        lock = threading.Lock()

        def client() -> None:
            while True:
                with lock:
                    slot = next(pending, None)
                if slot is None:
                    return
                at, path, body, emails = slot
                delay = at - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                self._post(path, body, emails)

        threads = [threading.Thread(target=client) for _ in range(CLIENT_THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self.failures:
            raise RuntimeError(f"{len(self.failures)} requests failed, e.g. {self.failures[0]}")

    def one_per_request(self, emails: list[str], *, rate: float, offset: int = 0) -> None:
        origin = time.perf_counter() + 0.1
        self._paced([(origin + n / rate, f"/api/triggers/{self.key}/fire/",
                      {"payload": {"email": email, "items": [f"Kit {offset + n}"], "total": n}}, [email])
                     for n, email in enumerate(emails)])

    def batched(self, emails: list[str], *, rate: float, every: float, offset: int = 0) -> None:
        size = max(1, round(rate * every))
        origin = time.perf_counter() + 0.1
        slots = []
        for k, start_at in enumerate(range(0, len(emails), size)):
            chunk = emails[start_at:start_at + size]
            events = [{"key": self.key, "payload": {"email": email, "items": [f"Kit {offset + start_at + n}"],
                                                    "total": n}} for n, email in enumerate(chunk)]
            slots.append((origin + k * every, "/api/triggers/batch/", {"events": events}, chunk))
        self._paced(slots)

    def achieved(self, emails: list[str]) -> float:
        times = [self.started[email] for email in emails]
        return (len(emails) - 1) / ((max(times) - min(times)) or 1e-9)


def latencies(inbox: Inbox, firing: Firing, emails: list[str], *, drain_s: float = 60) -> list[float]:
    """Wait for these recipients' emails; their latencies (ms) from the POST that carried each."""
    deadline = time.monotonic() + drain_s
    while any(e not in inbox.first for e in emails) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [(inbox.first[e] - firing.started[e]) * 1000 for e in emails if e in inbox.first]


def claimed_after(firing: Firing, emails: list[str]) -> list[float]:
    """Milliseconds from each POST to its message being claimed by a sender (dispatch and queueing;
    the rest of the latency is sending)."""
    claimed = dict(Delivery.objects.filter(to_address__in=emails).values_list("to_address", "claimed_at"))
    return [(claimed[e].timestamp() - firing.started[e]) * 1000 for e in emails if claimed.get(e)]


def summary(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("inf"), float("inf")
    return statistics.median(values), percentile(values, 0.99)


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
    vacuum()
    waiting = Delivery.objects.queued().count()
    if waiting:
        raise RuntimeError(f"{waiting} message(s) wait to be sent: run the bench when the queue is empty.")
    domain = run_domain()
    now = timezone.now()
    # The API key's owner: a superuser made for this run (removed with the run's rows).
    user = get_user_model().objects.create_superuser(f"bench-{domain.split('.')[0]}", password=None)
    sizes = [round(rate * STEP_SECONDS) for rate in [RATE_PER_S, *HIGHER_RATES, *LOWER_RATES]]
    batched_size = round(HIGHER_RATES[-1] * STEP_SECONDS)
    queue_name = f"bench-triggers-{domain.split('.')[0]}"
    default_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue_name
    worker = web = None
    figures: dict = {}
    checks: dict[str, bool] = {}
    try:
        with Inbox() as inbox:
            cache.clear()
            people = max(count, BATCH_SIZE) + WARM_UP + sum(sizes) + batched_size
            journey_key, throughput_key, raw_key = create_world(domain, people, user, now=now)
            client = Client(HTTP_AUTHORIZATION=f"Api-Key {raw_key}", SERVER_NAME="localhost")
            ordered = Contact.objects.filter(email__endswith=f"@{domain}").order_by("pk")
            emails = list(ordered.values_list("email", flat=True))
            contact_ids = list(ordered.values_list("pk", flat=True))
            env = service_env(smtp_port=inbox.port, queue_name=queue_name)
            worker = start_worker(queue_name, env)
            port = free_port()
            web = start_web(port, env)
            pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=CLIENT_THREADS, block=True,
                                              headers={"Host": "127.0.0.1"})
            if not wait_for_worker(queue_name):
                raise RuntimeError("the Celery worker did not answer a ping:\n" + log_tail(worker))
            if not wait_for_web(pool):
                raise RuntimeError("gunicorn did not answer /healthz:\n" + log_tail(web))
            # 1. Accepted per second, in this process: single, then batch; baselines over the same rows.
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
                f"batch {len(batch_emails) / batch.seconds:,.0f}/s "
                f"(raw {len(batch_emails) / base_batch.seconds:,.0f}/s)")
            checks["all_single_and_batch_stored"] = (
                TriggerEvent.objects.filter(key=throughput_key).count() == count + len(batch_emails))
            checks["all_dispatched"] = _settle(throughput_key)  # the worker is idle before latency is measured
            # 2. POST -> inbox over HTTP, one event per request: at 100/s, then at higher rates while p99
            # stays under a second, or at lower ones until it does.
            unused, offset, sustained, every_received = emails[max(count, BATCH_SIZE):], 0, 0.0, True
            named = True
            # Warm-up, not measured: every worker and web process takes its first emails (per-process
            # caches of the email's prepared version, the sender's headers, the URL tables).
            warm, unused = unused[:WARM_UP], unused[WARM_UP:]
            firing = Firing(pool, raw_key, journey_key)
            firing.one_per_request(warm, rate=WARM_UP / 2, offset=-WARM_UP)
            warm_got = latencies(inbox, firing, warm)
            log(f"triggers: warm-up, not measured: {len(warm_got)}/{WARM_UP} emails")

            def one_step(rate: float) -> bool:
                nonlocal unused, offset, every_received, named
                size = round(rate * STEP_SECONDS)
                step, unused = unused[:size], unused[size:]
                firing = Firing(pool, raw_key, journey_key)
                firing.one_per_request(step, rate=rate, offset=offset)
                got = latencies(inbox, firing, step)
                p50, p99 = summary(got)
                name = f"at_{round(rate)}_per_s"
                claim_p50, _ = summary(claimed_after(firing, step))
                figures.update({f"{name}_achieved_per_s": round(firing.achieved(step), 1), f"{name}_p50_ms": p50,
                                f"{name}_p99_ms": p99, f"{name}_max_ms": max(got, default=0.0),
                                f"{name}_to_send_claim_p50_ms": claim_p50})
                log(f"triggers: {len(got)}/{len(step)} emails at {firing.achieved(step):,.0f} events/s "
                    f"(one per request): p50 {p50:.0f} ms, p99 {p99:.0f} ms (p50 {claim_p50:.0f} ms to the "
                    "send's claim)")
                every_received &= len(got) == len(step)
                named &= all(f"Kit {offset + n}".encode() in inbox.bodies.get(e, b"") for n, e in enumerate(step))
                offset += size
                return len(got) == len(step) and p99 < 1000

            first_passed = one_step(RATE_PER_S)
            for rate in [r for r in HIGHER_RATES if r > RATE_PER_S] if first_passed else []:
                if not one_step(rate):
                    break
                sustained = rate
            for rate in [] if first_passed else [r for r in LOWER_RATES if r < RATE_PER_S]:
                if one_step(rate):
                    sustained = rate
                    break
            sustained = max(sustained, RATE_PER_S if first_passed else 0.0)
            # 3. 25,000 a minute as integrations at that volume send them: a batch every 100 ms.
            step = unused[:batched_size]
            firing = Firing(pool, raw_key, journey_key)
            firing.batched(step, rate=HIGHER_RATES[-1], every=BATCHED_EVERY_S, offset=offset)
            got = latencies(inbox, firing, step)
            batched_p50, batched_p99 = summary(got)
            batched_claim_p50, _ = summary(claimed_after(firing, step))
            log(f"triggers: {len(got)}/{len(step)} emails at {firing.achieved(step):,.0f} events/s "
                f"(a batch every {BATCHED_EVERY_S * 1000:.0f} ms): p50 {batched_p50:.0f} ms, "
                f"p99 {batched_p99:.0f} ms (p50 {batched_claim_p50:.0f} ms to the send's claim)")
            every_received &= len(got) == len(step)
            first = f"at_{round(RATE_PER_S)}_per_s"
            checks |= {
                "every_email_received": every_received,
                "emails_name_the_items": named,
                "p99_under_1s_at_100_per_s": figures[f"{first}_p99_ms"] < 1000,
                "p99_under_1s_at_25000_per_min": batched_p99 < 1000 or sustained >= HIGHER_RATES[-1],
            }
            figures |= {
                "batched_rate_per_s": round(firing.achieved(step), 1), "batched_every_ms": BATCHED_EVERY_S * 1000,
                "batched_p50_ms": batched_p50, "batched_p99_ms": batched_p99,
                "batched_to_send_claim_p50_ms": batched_claim_p50,
                "batched_max_ms": max(got, default=0.0), "sustained_rate_p99_under_1s_per_s": round(sustained, 1),
            }
            if not all(checks.values()) or os.environ.get("BENCH_TRIGGERS_WORKER_LOG"):
                log("triggers: worker log (tail):\n" + log_tail(worker) + "\nweb log (tail):\n" + log_tail(web))
    finally:
        stop(web)
        stop(worker)
        celery_app.conf.task_default_queue = default_queue
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
            "web_processes": WEB_PROCESSES, "worker_processes": WORKER_PROCESSES, **figures,
        },
        ratios={"single": ratio(single.seconds, base_single.seconds),
                "batch": ratio(batch.seconds, base_batch.seconds)},
        checks=checks,
    )


def vacuum() -> None:
    """Start from tables without dead rows (a queue table's claim reads past the index entries of
    rows it claimed before until VACUUM removes them; autovacuum does that in production, but it
    may be off, or not have run since the last bench)."""
    tables = [model._meta.db_table for model in (TriggerEvent, Delivery, JourneyRun, Contact, Consent)]
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")


def _settle(key: str, timeout: float = 60) -> bool:
    """Give the worker time to dispatch the throughput events (nothing listens: they are quick)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not TriggerEvent.objects.filter(key=key, dispatched_at__isnull=True).exists():
            return True
        time.sleep(0.2)
    return False
