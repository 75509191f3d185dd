"""bench journeys: the tick and segment fan-out against raw SQL doing the same work.

- Tick: RUNS runs (default 20,000; WAYMARK_BENCH_RUNS) wait at a wait tile that is due, then take
  an attribute branch and a send-email tile (three steps each, one queued Delivery each), advanced
  by `advance_due_runs` in 1 and then 2 worker processes on PostgreSQL. Baseline: a raw
  SKIP LOCKED claim-and-update loop over the same rows moving each run to the end in one UPDATE.
- Fan-out: a one-time journey entering a static segment of `contacts` members (default 100,000;
  `--contacts 1000000` for the reference size) against a raw INSERT … SELECT of the same rows.
- Canvas: the server render of a 60-tile journey's canvas, when the builder provides one.
"""

from __future__ import annotations

import multiprocessing
import os
import time

from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from bench.common import Log, Result, on_postgres, ratio
from channels.models import Delivery
from contacts.models import Contact
from journeys import services
from journeys.engine import advance_due_runs, enter_segment
from journeys.models import EXIT, Journey, JourneyRun, JourneyVersion, StepLog
from segments.models import Segment, SegmentMembership

DEFAULT_CONTACTS = 100_000
RUNS = int(os.environ.get("WAYMARK_BENCH_RUNS", "20000"))
BATCH = 500
STEPS_PER_RUN = 3  # wait (resumed) → branch → send email


def _tick_journey(email_key: str) -> Journey:
    tiles = {"start": "pause", "tiles": {
        "pause": {"type": "wait", "hours": 1, "next": "branch"},
        "branch": {"type": "attribute_branch", "other": "send", "branches": [
            {"name": "Texans", "next": "send", "conditions": {"version": 1, "match": "all", "conditions": [
                {"type": "attribute", "field": "state", "op": "equals", "value": "Texas"}]}}]},
        "send": {"type": "send_email", "email": email_key, "next": EXIT},
    }}
    journey = Journey.objects.create(name="bench tick", entry_trigger="form.submitted", tiles=tiles)
    services.go_live(journey, now=timezone.now())
    return journey


def _seed_runs(journey: Journey, version: JourneyVersion, contact_ids: list[int], now) -> None:
    """The runs, waiting at a due wait tile, written with one INSERT … SELECT (setup, not timed)."""
    table = JourneyRun._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (contact_id, journey_id, version_id, state, tile_key, attempt, visits, due_at, "
            f"context, entered_at, error) SELECT id, %s, %s, 'waiting', 'pause', 1, '{{\"pause\": 1}}', %s, '{{}}', "
            f"%s, '' FROM {Contact._meta.db_table} WHERE id = ANY(%s)",
            [journey.pk, version.pk, now, now, contact_ids])


def _clear(journey: Journey) -> None:
    Delivery.objects.filter(journey_id=journey.pk).delete()
    StepLog.objects.filter(run__journey=journey).delete()
    JourneyRun.objects.filter(journey=journey).delete()


def _worker(deadline: float) -> int:
    """One worker process: tick until nothing is due (a fresh connection of its own)."""
    claimed = 0
    while time.time() < deadline:
        got = advance_due_runs(now=timezone.now(), limit=BATCH)
        claimed += got
        if not got:
            break
    connection.close()
    return claimed


def _advance(workers: int) -> float:
    connections.close_all()  # children must open their own connections
    context = multiprocessing.get_context("fork")
    started = time.perf_counter()
    with context.Pool(workers) as pool:
        claimed = sum(pool.map(_worker, [time.time() + 3600] * workers))
    seconds = time.perf_counter() - started
    return seconds if claimed else float("nan")


def _baseline_tick(journey: Journey, now) -> float:
    table = JourneyRun._meta.db_table
    started = time.perf_counter()
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH due AS (SELECT id FROM {table} WHERE journey_id = %s AND state IN ('active', 'waiting') "
                f"AND due_at <= %s ORDER BY due_at, id LIMIT %s FOR UPDATE SKIP LOCKED) "
                f"UPDATE {table} r SET state = 'done', tile_key = 'send', finished_at = %s "
                f"FROM due WHERE r.id = due.id",
                [journey.pk, now, BATCH, now])
            if cursor.rowcount == 0:
                break
    return time.perf_counter() - started


def _tick(result: Result, email_key: str, log: Log) -> None:
    journey = _tick_journey(email_key)
    version = journey.versions.get()
    ids = list(Contact.objects.order_by("id").values_list("id", flat=True)[:RUNS])
    result.figures["tick_runs"] = len(ids)
    try:
        for workers in (1, 2):
            _clear(journey)
            _seed_runs(journey, version, ids, timezone.now() - timezone.timedelta(hours=2))
            seconds = _advance(workers)
            steps = StepLog.objects.filter(run__journey=journey).exclude(tile_key__startswith="$").count()
            result.figures[f"tick_{workers}w_steps_per_s"] = round(steps / seconds, 1)
            result.checks[f"tick_{workers}w_every_run_done"] = JourneyRun.objects.filter(
                journey=journey, state="done").count() == len(ids)
            result.checks[f"tick_{workers}w_one_delivery_per_run"] = Delivery.objects.filter(
                journey_id=journey.pk).count() == len(ids)
            log(f"journeys: tick with {workers} worker(s): {steps} steps in {seconds:.1f} s")
        _clear(journey)
        _seed_runs(journey, version, ids, timezone.now() - timezone.timedelta(hours=2))
        baseline_s = _baseline_tick(journey, timezone.now())
        baseline_rate = len(ids) * STEPS_PER_RUN / baseline_s
        result.figures["tick_baseline_steps_per_s"] = round(baseline_rate, 1)
        for workers in (1, 2):
            result.ratios[f"tick_{workers}w"] = baseline_rate / result.figures[f"tick_{workers}w_steps_per_s"]
    finally:
        _clear(journey)
        journey.delete()


def _fan_out(result: Result, contacts: int, log: Log) -> None:
    segment = Segment.objects.create(name="bench fan-out", kind=Segment.Kind.STATIC, status=Segment.Status.READY,
                                     refresh_mode=Segment.RefreshMode.MANUAL)
    memberships, people = SegmentMembership._meta.db_table, Contact._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:  # setup: the members, straight into the membership table
        cursor.execute(f"INSERT INTO {memberships} (segment_id, contact_id, entered_at) "
                       f"SELECT %s, id, %s FROM {people} ORDER BY id LIMIT %s", [segment.pk, now, contacts])
    journey = Journey.objects.create(name="bench fan-out", entry_segment=segment, tiles={"start": "pause", "tiles": {
        "pause": {"type": "wait", "days": 1, "next": EXIT}}})
    twin = Journey.objects.create(name="bench fan-out baseline", tiles=journey.tiles)
    try:
        version = JourneyVersion.objects.create(journey=journey, number=1, tiles=journey.tiles, created_at=now)
        Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.LIVE)
        journey.status = Journey.Status.LIVE
        started = time.perf_counter()
        entered = enter_segment(journey, now=now)
        waymark_s = time.perf_counter() - started
        table = JourneyRun._meta.db_table
        with connection.cursor() as cursor:  # the same rows into the same table, for a twin journey
            started = time.perf_counter()
            cursor.execute(
                f"INSERT INTO {table} (contact_id, journey_id, version_id, state, tile_key, attempt, visits, "
                f"due_at, context, entered_at, error) SELECT m.contact_id, %s, %s, 'active', 'pause', 1, "
                f"'{{}}', %s, '{{}}', %s, '' FROM {memberships} m WHERE m.segment_id = %s",
                [twin.pk, version.pk, now, now, segment.pk])
            baseline_rows = cursor.rowcount
            baseline_s = time.perf_counter() - started
        result.figures.update(fan_out_members=entered, fan_out_ms=round(waymark_s * 1000, 1),
                              fan_out_baseline_ms=round(baseline_s * 1000, 1))
        result.ratios["fan_out"] = ratio(waymark_s, baseline_s)
        result.checks["fan_out_same_rows"] = entered == baseline_rows == min(contacts, Contact.objects.count())
        log(f"journeys: fan-out of {entered} members in {waymark_s:.2f} s vs {baseline_s:.2f} s")
    finally:
        JourneyRun.objects.filter(journey__in=[journey, twin]).delete()
        Journey.objects.filter(pk__in=[journey.pk, twin.pk]).delete()
        segment.delete()


def _canvas(result: Result, email_key: str, log: Log) -> None:
    try:
        from journeys.views.canvas import render_canvas
    except ImportError:
        return
    tiles = {}
    for index in range(60):
        nxt = f"t{index + 1}" if index < 59 else EXIT
        tiles[f"t{index}"] = ({"type": "send_email", "email": email_key, "next": nxt} if index % 3 == 0 else
                              {"type": "wait", "days": 1, "next": nxt})
    journey = Journey.objects.create(name="bench canvas", entry_trigger="form.submitted",
                                     tiles={"start": "t0", "tiles": tiles})
    try:
        render_canvas(journey)  # warm the template cache
        timings = []
        for _ in range(10):
            started = time.perf_counter()
            render_canvas(journey)
            timings.append(time.perf_counter() - started)
        result.figures["canvas_60_tiles_ms"] = round(sorted(timings)[len(timings) // 2] * 1000, 1)
        result.checks["canvas_60_tiles_under_200_ms"] = result.figures["canvas_60_tiles_ms"] < 200
        log(f"journeys: 60-tile canvas rendered in {result.figures['canvas_60_tiles_ms']} ms")
    finally:
        journey.delete()


def _email() -> str:
    from channels import services as channels
    from channels.models import BrandProfile, Email, SenderProfile

    email = Email.objects.filter(key="bench-journey").first()
    if email is None:
        sender = SenderProfile.objects.create(name="bench", from_name="Bench", from_email="bench@example.com")
        brand = BrandProfile.objects.create(name="bench", postal_address="1 Bench Street")
        email = Email.objects.create(name="bench journey", key="bench-journey",
                                     subject="Hello {{ contact.first_name }}", sender=sender, brand=brand,
                                     purpose=Email.Purpose.TRANSACTIONAL,
                                     blocks=[{"type": "text", "html": "<p>Hello</p>"}])
        channels.publish(email, now=timezone.now())
    return email.key


def run(*, contacts: int | None, log: Log) -> Result:
    result = Result()
    result.figures["baseline"] = ("tick: a raw SKIP LOCKED claim-and-update loop over the same runs; "
                                  "fan-out: a raw INSERT … SELECT of the same members into the same table")
    if not on_postgres():
        result.checks["runs_on_postgresql"] = False
        log("journeys: needs PostgreSQL (set DATABASE_URL)")
        return result
    wanted = contacts or DEFAULT_CONTACTS
    if Contact.objects.count() < max(wanted, RUNS):
        log(f"journeys: seeding {max(wanted, RUNS)} contacts")
        call_command("seed_scale", contacts=max(wanted, RUNS), interactions=0)
    email_key = _email()
    _fan_out(result, wanted, log)
    _tick(result, email_key, log)
    _canvas(result, email_key, log)
    return result
