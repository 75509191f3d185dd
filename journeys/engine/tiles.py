"""The tiles: one small function per kind, in one TILES dict. Each returns an outcome.

Journey.tiles is `{"start": <key>, "tiles": {<key>: tile}}`; every way out of a tile names a tile
key ("go to tile K") or "exit":
  wait                {"days", "hours", "minutes", "next"}
  wait_trigger        {"trigger", "timeout": {days/hours/minutes}, "next", "timeout_next"}
  attribute_branch    {"branches": [{"name", "conditions": <segment query>, "next"}], "other"}
  interaction_branch  {"name", "tile": <send_email key>, "interaction": opened|clicked, "link"?,
                       "within"?: {days...}, "yes", "no"}
  send_email          {"email": <Email.key>, "next"}
  create_task         {"subject", "user" | "queue", "due_in"?: {days...}, "description"?, "next"}
  exit                {}
Side-effecting tiles pass the engine's idempotency key `run:<run>:<tile>:<attempt>` on.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model

from channels import services as channels
from channels.models import Email
from contacts import services as people
from contacts.models import Interaction, SalesQueue, person_keys
from journeys.engine.outcomes import Exit, Next, Outcome, Wait, duration, iso
from journeys.models import Journey, JourneyRun, StepLog, TriggerEvent
from segments import services as segments

Tile = dict[str, Any]
INTERACTION_TYPES = {"opened": "email_opened", "clicked": "email_clicked"}


def idempotency_key(run: JourneyRun) -> str:
    return f"run:{run.pk}:{run.tile_key}:{run.attempt}"


def wait(run: JourneyRun, tile: Tile, *, journey: Journey, now: datetime.datetime) -> Outcome:
    return Wait(until=now + duration(tile))


def wait_trigger(run: JourneyRun, tile: Tile, *, journey: Journey, now: datetime.datetime) -> Outcome:
    return Wait(until=now + duration(tile.get("timeout")), waiting_for=tile["trigger"])


def attribute_branch(run: JourneyRun, tile: Tile, *, journey: Journey, now: datetime.datetime) -> Outcome:
    for branch in tile.get("branches", []):
        if segments.matches(branch["conditions"], person=run.person, payload=run.context, now=now):
            return Next(branch["next"], {"code": "branch", "name": branch.get("name", ""), "answer": "yes"})
    return Next(tile["other"], {"code": "branch", "name": tile.get("other_name", "Other"), "answer": "other"})


def interaction_branch(run: JourneyRun, tile: Tile, *, journey: Journey, now: datetime.datetime) -> Outcome:
    """Did the person open / click (link L of) the email sent by tile X, within N days of that send?"""
    name = tile.get("name") or tile["interaction"].capitalize()
    sent = StepLog.objects.filter(run=run, tile_key=tile["tile"], outcome="next").order_by("-at").first()
    found = None
    if sent is not None:
        rows = Interaction.objects.filter(
            **person_keys(run.person), type=INTERACTION_TYPES[tile["interaction"]], journey_id=journey.pk,
            tile_key=tile["tile"], occurred_at__gte=sent.at,
            occurred_at__lte=min(now, sent.at + duration(tile.get("within") or {"days": 3650})),
        )
        if tile.get("link"):
            rows = rows.filter(link=tile["link"])
        found = rows.order_by("occurred_at").first()
    if found is None:
        return Next(tile["no"], {"code": "branch", "name": name, "answer": "no"})
    return Next(tile["yes"], {"code": "branch", "name": name, "answer": "yes",
                              "interaction": found.type, "at": iso(found.occurred_at)})


def send_email(run: JourneyRun, tile: Tile, *, journey: Journey, now: datetime.datetime) -> Outcome:
    email = Email.objects.get(key=tile["email"])
    delivery = channels.queue_email(email, person=run.person, idempotency_key=idempotency_key(run),
                                    context={"trigger": run.context}, now=now, journey_id=journey.pk,
                                    tile_key=run.tile_key)
    return Next(tile["next"], {"code": "sent", "email": email.key, "delivery": delivery.pk})


def create_task(run: JourneyRun, tile: Tile, *, journey: Journey, now: datetime.datetime) -> Outcome:
    user = get_user_model().objects.get(pk=tile["user"]) if tile.get("user") else None
    queue = SalesQueue.objects.get(pk=tile["queue"]) if tile.get("queue") else None
    due_at = now + duration(tile["due_in"]) if tile.get("due_in") else None
    task = people.create_task(run.person, subject=tile["subject"], now=now, assigned_to=user, queue=queue,
                              due_at=due_at, description=tile.get("description", ""), source="journey")
    return Next(tile["next"], {"code": "task_created", "task": task.pk, "subject": task.subject})


def exit_tile(run: JourneyRun, tile: Tile, *, journey: Journey, now: datetime.datetime) -> Outcome:
    return Exit({"code": "exit_tile"})


TILES: dict[str, Callable[..., Outcome]] = {
    "wait": wait,
    "wait_trigger": wait_trigger,
    "attribute_branch": attribute_branch,
    "interaction_branch": interaction_branch,
    "send_email": send_email,
    "create_task": create_task,
    "exit": exit_tile,
}


def resume(run: JourneyRun, tile: Tile, *, event: TriggerEvent | None, now: datetime.datetime) -> Outcome:
    """A waiting run goes on: its wait is over, its trigger arrived, or its trigger timed out."""
    if tile["type"] == "wait":
        return Next(tile["next"], {"code": "waited", "until": iso(run.due_at)})
    if event is not None:
        return Next(tile["next"], {"code": "trigger", "key": event.key, "event": event.pk,
                                   "at": iso(event.occurred_at)})
    return Next(tile["timeout_next"], {"code": "timed_out", "key": tile["trigger"], "at": iso(run.due_at)})
