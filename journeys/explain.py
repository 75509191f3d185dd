"""Why a person is where they are: the path of a run with its reasons (data), phrased by `describe`."""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

from journeys.models import JourneyRun

MINUTE = "%Y-%m-%d %H:%M"


def _moment(value: str) -> str:
    return datetime.datetime.fromisoformat(value).strftime(MINUTE)


PHRASES = {
    "trigger_entry": lambda r: f"entered: {r['key']}",
    "segment_entry": lambda r: f"entered: segment {r['name']}",
    "branch": lambda r: f"branch {r['name']}: {r['answer']}",
    "waited": lambda r: f"waited until {_moment(r['until'])}",
    "trigger": lambda r: f"{r['key']} arrived at {_moment(r['at'])}",
    "timed_out": lambda r: f"timed out waiting for {r['key']} at {_moment(r['at'])}",
    "sent": lambda r: f"sent email {r['email']} (delivery {r['delivery']})",
    "task_created": lambda r: f"created task {r['subject']!r} (task {r['task']})",
    "exit_tile": lambda r: "finished: exit tile",
    "end": lambda r: "finished",
    "exit_trigger": lambda r: f"exited: {r['key']}",
    "exit_segment": lambda r: f"exited: entered segment {r['name']}",
    "stopped": lambda r: "exited: journey stopped",
    "goal": lambda r: f"goal reached: {r['key']}" if r.get("key") else f"goal reached: entered segment {r['name']}",
    "waiting": lambda r: f"waiting until {_moment(r['until'])}",
    "waiting_for": lambda r: f"waiting for {r['key']} until {_moment(r['until'])}",
    "failed": lambda r: f"failed: {r['error']}",
    "excluded": lambda r: f"exited: in exclusion segment {r['name']}",
    "suppressed": lambda r: f"exited: in suppression segment {r['name']}",
    "quiet_hours": lambda r: f"delayed by quiet hours until {_local(r['until'], r['tz'])} {r['tz']}",
    "deferred_cap": lambda r: f"deferred: frequency cap {r['limit']}/{r['per']} reached, until {_moment(r['until'])}",
    "skipped_cap": lambda r: f"skipped: frequency cap {r['limit']}/{r['per']} reached",
    "variant": lambda r: f"A/B variant {r['name']}" + (" (the winner)" if r.get("winner") else ""),
    "split": lambda r: f"split: {r['name']}",
    "updated": lambda r: f"set {r['record']} {r['field']} to {r['value']!r}",
    "webhook": lambda r: f"queued webhook to {r['endpoint']} (delivery {r['delivery']})",
    "segment_added": lambda r: f"added to segment {r['name']}",
    "segment_removed": lambda r: f"removed from segment {r['name']}",
}


def _local(value: str, zone: str) -> str:
    return datetime.datetime.fromisoformat(value).astimezone(zoneinfo.ZoneInfo(zone)).strftime("%H:%M")


def describe(reason: dict[str, Any]) -> str:
    """One reason as a sentence; an unknown code is shown as its data rather than hidden."""
    phrase = PHRASES.get(reason.get("code", ""))
    return phrase(reason) if phrase else str(reason)


def explain(run: JourneyRun) -> list[dict[str, Any]]:
    """The path taken, oldest first: {"at", "tile", "reason", "text"} per step, then where the run is now."""
    path = []
    for step in run.steps.order_by("at", "id"):
        reason = dict(step.reason)
        if step.tile_key == "$entry":
            reason["code"] = "trigger_entry" if reason.get("code") == "trigger" else "segment_entry"
        path.append({"at": step.at, "tile": step.tile_key, "reason": reason})
    if not any(p["tile"] == "$entry" for p in path) and run.journey.entry_segment_id:
        path.insert(0, {"at": run.entered_at, "tile": "$entry",
                        "reason": {"code": "segment_entry", "name": run.journey.entry_segment.name}})
    path.extend(_now(run, logged_exit=any(p["tile"] == "$exit" for p in path)))
    for entry in path:
        entry["text"] = describe(entry["reason"])
    return path


def _now(run: JourneyRun, *, logged_exit: bool) -> list[dict[str, Any]]:
    at = run.finished_at or run.due_at
    if run.state == JourneyRun.State.WAITING:
        code = "waiting_for" if run.waiting_for else "waiting"
        return [{"at": at, "tile": run.tile_key,
                 "reason": {"code": code, "key": run.waiting_for, "until": run.due_at.isoformat()}}]
    if run.state == JourneyRun.State.FAILED:
        return [{"at": at, "tile": run.tile_key, "reason": {"code": "failed", "error": run.error}}]
    if run.state == JourneyRun.State.DONE and (run.exit_reason or {}).get("code") == "end":
        return [{"at": at, "tile": run.tile_key, "reason": run.exit_reason}]
    if run.state == JourneyRun.State.EXITED and not logged_exit and run.exit_reason:
        return [{"at": at, "tile": "$exit", "reason": run.exit_reason}]
    return []
