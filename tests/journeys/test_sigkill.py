"""A real Celery worker killed with SIGKILL in the middle of a tick batch loses no run and, once
restarted, sends every message exactly once (PostgreSQL and Redis)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count

from channels import services as channels
from channels.models import Delivery
from journeys import services
from journeys.models import EXIT, JourneyRun, StepLog
from tests.conftest import requires_postgres
from tests.factories import ContactFactory

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("JOURNEYS_TEST_REDIS", "redis://127.0.0.1:6379/14")
WORKER_LOG = Path(os.environ.get("WAYMARK_VAR_DIR", ROOT / "var")) / "sigkill-worker.log"
RUNS = int(os.environ.get("WAYMARK_FAULT_RUNS", "300"))


def _redis_up() -> bool:
    try:
        return redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def _env(smtp_port: int) -> dict[str, str]:
    db = connection.settings_dict
    return {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": BROKER, "CELERY_TASK_ALWAYS_EAGER": "0", "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port)}


def start_worker(smtp_port: int) -> subprocess.Popen:
    env = _env(smtp_port)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-l", "info"],
        cwd=ROOT, env=env, stdout=WORKER_LOG.open("ab"), stderr=subprocess.STDOUT)


def wait_for(condition, timeout: float, what: str, state=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} {state()}")
        time.sleep(0.05)


def _state(smtp_server) -> str:
    runs = dict(JourneyRun.objects.values_list("state").annotate(n=Count("id")))
    deliveries = dict(Delivery.objects.values_list("status").annotate(n=Count("id")))
    log = WORKER_LOG.read_text(errors="replace")[-3000:] if WORKER_LOG.exists() else ""
    log += f"\nqueued on the broker: {redis.Redis.from_url(BROKER).llen('celery')}"
    return f"(runs {runs}, deliveries {deliveries}, messages {len(smtp_server.messages)}; worker log tail:\n{log})"


def tick_in_progress() -> bool:
    """Another session holds an open transaction touching the journeys tables (the batch)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND query ILIKE %s",
                       ["%journeys_%"])
        return cursor.fetchone()[0] > 0


def tick(smtp_port: int) -> None:
    """Queue one tick on the test broker from a process of its own (`celery call`): this test
    process's producer pools may still point at a broker an earlier test used."""
    subprocess.run([sys.executable, "-m", "celery", "-A", "config", "call", "journeys.tasks.tick",
                    "--kwargs", json.dumps({"limit": RUNS})], cwd=ROOT, env=_env(smtp_port), check=True,
                   stdout=subprocess.DEVNULL, timeout=60)


def batch_blocked() -> bool:
    """The worker's batch waits for a row lock: it is inside its transaction, part way through."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0] > 0


def hold_step(run_id: int) -> psycopg.Connection:
    """From another session, start writing the step the batch will write for this run and keep the
    transaction open: the batch's insert of the same (run, tile, attempt) waits on the unique index
    — part way through the batch, before its COMMIT — so the kill lands mid-batch every time.
    (A row lock would not do: foreign keys are checked at COMMIT, when the batch has already asked
    to commit.)"""
    db = connection.settings_dict
    locker = psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"],
                             password=db.get("PASSWORD") or None)
    locker.execute(f"INSERT INTO {StepLog._meta.db_table} (run_id, tile_key, attempt, at, outcome, reason) "
                   "VALUES (%s, 'pause', 1, now(), 'next', '{}')", [run_id])
    return locker


@requires_postgres
@pytest.mark.skipif(not _redis_up(), reason=f"needs Redis at {BROKER} (set JOURNEYS_TEST_REDIS)")
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(journey_of, make_email, smtp_server, now):
    channels.publish(make_email(key="hello", purpose="transactional"), now=now)
    journey = journey_of("pause", {"pause": {"type": "wait", "hours": 1, "next": "send"},
                                   "send": {"type": "send_email", "email": "hello", "next": EXIT}},
                         entry_trigger="form.submitted")
    version = services.go_live(journey, now=now)
    runs = JourneyRun.objects.bulk_create([
        JourneyRun(contact=c, journey=journey, version=version, state="waiting", tile_key="pause",
                   visits={"pause": 1}, due_at=now, entered_at=now) for c in ContactFactory.create_batch(RUNS)
    ])
    redis.Redis.from_url(BROKER).flushdb()
    WORKER_LOG.parent.mkdir(parents=True, exist_ok=True)
    WORKER_LOG.write_bytes(b"")
    worker = start_worker(settings.EMAIL_PORT)
    locker = hold_step(sorted(r.pk for r in runs)[RUNS // 2])  # runs are stepped in id order
    try:
        tick(settings.EMAIL_PORT)
        wait_for(batch_blocked, 60, "the worker to reach the middle of its batch", state=lambda: _state(smtp_server))
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(10) == -signal.SIGKILL
        locker.rollback()
        wait_for(lambda: not tick_in_progress(), 10, "PostgreSQL to roll the killed batch back")
        assert StepLog.objects.filter(tile_key="pause").count() == 0  # killed before its commit
        assert Delivery.objects.count() == 0, _state(smtp_server)

        worker = start_worker(settings.EMAIL_PORT)  # restarted; beat sends the next tick
        tick(settings.EMAIL_PORT)
        wait_for(lambda: len(smtp_server.messages) >= RUNS, 60, "every message to arrive",
                 state=lambda: _state(smtp_server))
        time.sleep(1)  # anything sent twice would arrive now
    finally:
        locker.close()
        worker.kill()
        worker.wait(10)
    assert JourneyRun.objects.filter(state="done").count() == RUNS
    assert StepLog.objects.filter(tile_key="send").count() == RUNS
    assert Delivery.objects.count() == RUNS
    assert len(smtp_server.messages) == RUNS
    assert len({m["Message-ID"] for m in smtp_server.messages}) == RUNS
