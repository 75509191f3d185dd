"""The tick: claim due runs (FOR UPDATE SKIP LOCKED) and step each until it waits or ends."""

from __future__ import annotations

import copy
import datetime
import json
import logging
from typing import Any

from django.db import IntegrityError, connection, transaction

from config.db import insert_many
from journeys.engine import governance
from journeys.engine.governance import Gates
from journeys.engine.outcomes import Defer, Exit, Outcome, Wait
from journeys.engine.tiles import TILES, Outbox, Step, resume
from journeys.models import EXIT, JourneyRun, StepLog, TriggerEvent

logger = logging.getLogger(__name__)
MAX_TILES_PER_STEP = 100  # a loop of "go to tile K" without a wait must not spin forever
OPEN = JourneyRun.OPEN_STATES


class AlreadyDone(Exception):
    """The step log already has this (run, tile, attempt): another worker got there first."""


def log_step(run: JourneyRun, *, tile_key: str, attempt: int, outcome: str, reason: dict[str, Any],
             now: datetime.datetime, pending: list[StepLog] | None = None) -> StepLog:
    """Record one step. Inside `step` the lines are collected in `pending` and written together at
    its end (one INSERT); elsewhere each is written at once."""
    if pending is not None:
        line = StepLog(run=run, tile_key=tile_key, attempt=attempt, outcome=outcome, reason=reason, at=now)
        pending.append(line)
        return line
    try:
        with transaction.atomic():
            return StepLog.objects.create(run=run, tile_key=tile_key, attempt=attempt, outcome=outcome,
                                          reason=reason, at=now)
    except IntegrityError as exc:
        raise AlreadyDone(f"run {run.pk} {tile_key}#{attempt}") from exc


def finish(run: JourneyRun, *, state: str, reason: dict[str, Any], now: datetime.datetime) -> None:
    run.state, run.exit_reason, run.finished_at = state, reason, now
    run.due_at = run.waiting_for = None


def _move(run: JourneyRun, tile_key: str, *, now: datetime.datetime) -> None:
    run.visits[tile_key] = run.attempt = run.visits.get(tile_key, 0) + 1
    run.tile_key, run.state, run.due_at, run.waiting_for = tile_key, JourneyRun.State.ACTIVE, now, None


def _apply(run: JourneyRun, outcome: Outcome, *, now: datetime.datetime, pending: list[StepLog]) -> bool:
    """Apply one outcome; True while the run can take another tile now."""
    if isinstance(outcome, Wait):
        run.state, run.due_at, run.waiting_for = JourneyRun.State.WAITING, outcome.until, outcome.waiting_for
        return False
    if isinstance(outcome, Defer):  # the same tile again later; each deferral is logged once
        run.visits["$defer"] = deferrals = run.visits.get("$defer", 0) + 1
        log_step(run, tile_key="$defer", attempt=deferrals, outcome="deferred",
                 reason={**outcome.reason, "tile": run.tile_key}, now=now, pending=pending)
        run.state, run.due_at, run.waiting_for = JourneyRun.State.ACTIVE, outcome.until, None
        return False
    kind = "exit" if isinstance(outcome, Exit) else "next"
    log_step(run, tile_key=run.tile_key, attempt=run.attempt, outcome=kind, reason=outcome.reason, now=now,
             pending=pending)
    if isinstance(outcome, Exit):
        finish(run, state=JourneyRun.State.DONE, reason=outcome.reason, now=now)
        return False
    if outcome.tile == EXIT:
        finish(run, state=JourneyRun.State.DONE, reason={"code": "end"}, now=now)
        return False
    _move(run, outcome.tile, now=now)
    return True


def exit_early(run: JourneyRun, reason: dict[str, Any], *, now: datetime.datetime,
               pending: list[StepLog] | None = None) -> None:
    log_step(run, tile_key="$exit", attempt=1, outcome="exit", reason=reason, now=now, pending=pending)
    finish(run, state=JourneyRun.State.EXITED, reason=reason, now=now)


def record_goals(reached: list[tuple[JourneyRun, dict[str, Any]]], *, now: datetime.datetime) -> None:
    """Log each (run, reason)'s goal once and publish journey.goal_reached once per run (its
    idempotency key makes a repeated goal publish nothing)."""
    from journeys import ingest  # ingest → tasks → engine: imported when first needed

    if not reached:
        return
    StepLog.objects.bulk_create([StepLog(run=run, tile_key="$goal", attempt=1, outcome="goal", at=now,
                                         reason=reason) for run, reason in reached], ignore_conflicts=True)
    ingest.publish_many([
        ingest.NewEvent("journey.goal_reached", {"journey_id": run.journey_id, "journey": run.journey.name,
                                                 "run": run.pk,
                                                 "goal": reason.get("key") or f"segment:{reason.get('name')}"},
                        contact_id=run.contact_id, lead_id=run.lead_id,
                        idempotency_key=f"journey.goal_reached:{run.pk}")
        for run, reason in reached
    ], source="journeys", now=now)


def _advance(run: JourneyRun, *, now: datetime.datetime, event: TriggerEvent | None, gates: Gates,
             outbox: Outbox, pending: list[StepLog]) -> None:
    """Run tiles until the run waits or ends, in memory: its step lines go to `pending`, its
    messages to `outbox`."""
    journey, tiles = run.journey, run.version.tiles["tiles"]
    goal = governance.reached_goal(run, gates)
    if goal is not None and not run.steps.filter(tile_key="$goal").exists():
        record_goals([(run, goal)], now=now)
    for _ in range(MAX_TILES_PER_STEP):
        if run.state not in OPEN:
            break
        leave = governance.must_leave(run, gates)
        if leave is not None:
            exit_early(run, leave, now=now, pending=pending)
            break
        tile = tiles[run.tile_key]
        if run.state == JourneyRun.State.WAITING:
            outcome: Outcome = resume(run, tile, event=event, now=now)
            event = None
        else:
            outcome = TILES[tile["type"]](run, tile, Step(journey, now, gates, outbox))
        if not _apply(run, outcome, now=now, pending=pending):
            break
    else:
        raise RuntimeError(f"more than {MAX_TILES_PER_STEP} tiles in one step: a loop without a wait?")


def _write_lines(lines: list[StepLog]) -> None:
    if lines:
        try:
            insert_many(lines)
        except IntegrityError as exc:  # the log already has one of these steps: another worker did them
            raise AlreadyDone(f"run {lines[0].run_id}") from exc


def step(run: JourneyRun, *, now: datetime.datetime, event: TriggerEvent | None = None,
         gates: Gates | None = None) -> None:
    """Run tiles until the run waits or ends; saves the run. Call inside a transaction."""
    pending: list[StepLog] = []
    outbox = Outbox(now=now)
    _advance(run, now=now, event=event, gates=gates or Gates([run]), outbox=outbox, pending=pending)
    outbox.flush()
    _write_lines(pending)
    run.save()


# What a step changes on a run (restored when a batch falls back to stepping runs one by one).
STATE = ("state", "tile_key", "attempt", "visits", "due_at", "waiting_for", "exit_reason", "finished_at", "error")


def save_states(runs: list[JourneyRun]) -> None:
    """Write the STATE fields of many runs in one statement (on PostgreSQL an UPDATE … FROM
    VALUES: Django's bulk_update builds a CASE per field and row, slower than the write itself)."""
    if connection.vendor != "postgresql":
        JourneyRun.objects.bulk_update(runs, STATE)
        return
    types = {"attempt": "integer", "visits": "jsonb", "due_at": "timestamptz", "exit_reason": "jsonb",
             "finished_at": "timestamptz"}
    rows, params = [], []
    for run in runs:
        rows.append("(" + ", ".join(["%s"] * (len(STATE) + 1)) + ")")
        params.append(run.pk)
        for name in STATE:
            value = getattr(run, name)
            params.append(json.dumps(value) if types.get(name) == "jsonb" and value is not None else value)
    assignments = ", ".join(f"{name} = v.{name}::{types.get(name, 'text')}" for name in STATE)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {JourneyRun._meta.db_table} r SET {assignments} "
                       f"FROM (VALUES {', '.join(rows)}) AS v(id, {', '.join(STATE)}) WHERE r.id = v.id::bigint",
                       params)


def step_many(runs: list[JourneyRun], *, now: datetime.datetime, gates: Gates,
              events: dict[int, TriggerEvent] | None = None) -> None:
    """Step many runs in one savepoint, writing all their step lines in one INSERT, their messages
    in one INSERT and their new state in one UPDATE. If any run fails, or another worker stepped one first, the batch is
    rolled back and each run is stepped in a savepoint of its own (`step_safely`), so one broken
    run still fails alone. `events`: the trigger event resuming a run, by run id."""
    events = events or {}
    if len(runs) < 2:
        for run in runs:
            step_safely(run, now=now, event=events.get(run.pk), gates=gates)
        return
    before = [{name: copy.deepcopy(getattr(run, name)) for name in STATE} for run in runs]
    try:
        with transaction.atomic():
            pending: list[StepLog] = []
            outbox = Outbox(now=now)
            for run in runs:
                _advance(run, now=now, event=events.get(run.pk), gates=gates, outbox=outbox, pending=pending)
            outbox.flush()
            _write_lines(pending)
            save_states(runs)
    except Exception:  # each run is stepped again alone; its own failure is logged there
        for run, state in zip(runs, before, strict=True):
            for name, value in state.items():
                setattr(run, name, value)
        gates.forget_sends()  # sends counted by the rolled-back attempt did not happen
        for run in runs:
            step_safely(run, now=now, event=events.get(run.pk), gates=gates)


def step_safely(run: JourneyRun, *, now: datetime.datetime, event: TriggerEvent | None = None,
                gates: Gates | None = None) -> bool:
    """Step one run in its own savepoint; a failure marks it failed and the batch goes on."""
    try:
        with transaction.atomic():
            step(run, now=now, event=event, gates=gates)
        return True
    except AlreadyDone:
        logger.info("run %s was already stepped by another worker", run.pk)
        return False
    except Exception as exc:  # one broken run must not stop the batch
        logger.exception("journey run %s failed", run.pk)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        JourneyRun.objects.filter(pk=run.pk).update(
            state=JourneyRun.State.FAILED, error=error, finished_at=now, due_at=None)
        run.state, run.error = JourneyRun.State.FAILED, error
        return False


RELATED = ("journey__exit_segment", "journey__goal_segment", "version", "contact", "lead")


def claim_due(*, now: datetime.datetime, limit: int) -> list[JourneyRun]:
    """Due runs, higher-priority journeys first (they win the last slot under a frequency cap)."""
    return list(
        JourneyRun.objects.due(now).select_related(*RELATED).prefetch_related("journey__exclusion_segments")
        .order_by("-journey__priority", "due_at", "id").select_for_update(skip_locked=True, of=("self",))[:limit]
    )


def advance_due_runs(*, now: datetime.datetime, limit: int) -> int:
    """Claim up to `limit` due runs and step each; returns how many were claimed."""
    with transaction.atomic():
        runs = claim_due(now=now, limit=limit)
        step_many(runs, now=now, gates=Gates(runs))
    return len(runs)
