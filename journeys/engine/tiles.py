"""The tiles: one small function per kind, in one TILES dict. Each returns an outcome.

The settings and ways out of every kind are described in `journeys.catalog`. Side-effecting tiles
pass the engine's idempotency key `run:<run>:<tile>:<attempt>` on, so a retried batch does each
action once; message tiles ask `governance.before_send` first (quiet hours, frequency caps).
"""

from __future__ import annotations

import datetime
import hashlib
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ValidationError

from channels import services as channels
from channels.models import Email
from contacts import services as people
from contacts.models import Interaction, Opportunity, SalesQueue, person_keys
from journeys.engine import governance
from journeys.engine.governance import Gates
from journeys.engine.outcomes import Exit, Next, Outcome, Wait, duration, iso
from journeys.models import Journey, JourneyRun, StepLog, TriggerEvent
from segments import services as segments
from segments.models import Segment

Tile = dict[str, Any]
INTERACTION_TYPES = {"opened": "email_opened", "clicked": "email_clicked"}
# Fields the "update record" tile may set (anything else must be a custom attribute of people).
UPDATABLE = {
    "person": {"first_name", "last_name", "phone", "job_title", "country", "state", "city", "time_zone",
               "language", "company", "topic", "status", "source"},
    "opportunity": {"name", "stage", "status", "estimated_revenue", "close_date"},
}


class Outbox:
    """The messages a batch's send tiles queue, inserted together (`channels.queue_emails`, one
    INSERT) when the batch writes its step lines. Each send's step line learns its delivery's id
    then."""

    def __init__(self, *, now: datetime.datetime) -> None:
        self.now = now
        self._emails: list[tuple[channels.EmailToQueue, dict[str, Any]]] = []

    def email(self, message: channels.EmailToQueue, reason: dict[str, Any]) -> None:
        self._emails.append((message, reason))

    def flush(self) -> None:
        deliveries = channels.queue_emails([message for message, _reason in self._emails], now=self.now)
        for (_message, reason), delivery in zip(self._emails, deliveries, strict=True):
            reason["delivery"] = delivery.pk
        self._emails.clear()


@dataclass
class Step:
    """What a tile may know besides the run: its journey, the clock, the batch's gates and its
    outbox."""
    journey: Journey
    now: datetime.datetime
    gates: Gates
    outbox: Outbox


def idempotency_key(run: JourneyRun) -> str:
    return f"run:{run.pk}:{run.tile_key}:{run.attempt}"


def pick(run: JourneyRun, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A stable weighted pick by "percent": the same run always lands on the same item."""
    digest = hashlib.sha256(f"{run.pk}:{run.tile_key}".encode()).digest()
    roll = int.from_bytes(digest[:8], "big") % 10000 / 100
    total = 0.0
    for item in items:
        total += float(item.get("percent") or 0)
        if roll < total:
            return item
    return items[-1]


# --- Flow -----------------------------------------------------------------------------------------
def wait(run: JourneyRun, tile: Tile, step: Step) -> Outcome:
    if tile.get("until"):
        until = datetime.datetime.fromisoformat(tile["until"])
        if until.tzinfo is None:
            until = until.replace(tzinfo=zoneinfo.ZoneInfo(step.journey.time_zone or "UTC"))
        if until <= step.now:
            return Next(tile["next"], {"code": "waited", "until": iso(until)})
        return Wait(until=until)
    return Wait(until=step.now + duration(tile))


def wait_trigger(run: JourneyRun, tile: Tile, step: Step) -> Outcome:
    return Wait(until=step.now + duration(tile.get("timeout")), waiting_for=tile["trigger"])


def attribute_branch(run: JourneyRun, tile: Tile, step: Step) -> Outcome:
    for branch in tile.get("branches", []):
        if segments.matches(branch["conditions"], person=run.person, payload=run.context, now=step.now):
            return Next(branch["next"], {"code": "branch", "name": branch.get("name", ""), "answer": "yes"})
    return Next(tile["other"], {"code": "branch", "name": tile.get("other_name", "Other"), "answer": "other"})


def interaction_branch(run: JourneyRun, tile: Tile, step: Step) -> Outcome:
    """Did the person open / click (link L of) the email sent by tile X, within N days of that send?"""
    name = tile.get("name") or tile["interaction"].capitalize()
    sent = StepLog.objects.filter(run=run, tile_key=tile["tile"], outcome="next").order_by("-at").first()
    found = None
    if sent is not None:
        rows = Interaction.objects.filter(
            **person_keys(run.person), type=INTERACTION_TYPES[tile["interaction"]], journey_id=step.journey.pk,
            tile_key=tile["tile"], occurred_at__gte=sent.at,
            occurred_at__lte=min(step.now, sent.at + duration(tile.get("within") or {"days": 3650})),
        )
        if tile.get("link"):
            rows = rows.filter(link=tile["link"])
        found = rows.order_by("occurred_at").first()
    if found is None:
        return Next(tile["no"], {"code": "branch", "name": name, "answer": "no"})
    return Next(tile["yes"], {"code": "branch", "name": name, "answer": "yes",
                              "interaction": found.type, "at": iso(found.occurred_at)})


def trigger_branch(run: JourneyRun, tile: Tile, step: Step) -> Outcome:
    """Has the trigger happened for this person since they entered (or within the window)?"""
    since = step.now - duration(tile["within"]) if tile.get("within") else run.entered_at
    found = (TriggerEvent.objects.filter(**person_keys(run.person), key=tile["trigger"],
                                         occurred_at__gte=since, occurred_at__lte=step.now)
             .order_by("occurred_at").first())
    name = tile.get("name") or tile["trigger"]
    if found is None:
        return Next(tile["no"], {"code": "branch", "name": name, "answer": "no"})
    return Next(tile["yes"], {"code": "branch", "name": name, "answer": "yes", "event": found.pk,
                              "at": iso(found.occurred_at)})


def ab_test(run: JourneyRun, tile: Tile, step: Step) -> Outcome:
    """A variant by percentage, or everyone down the winner's path once one is chosen."""
    winner = (run.version.ab_winners or {}).get(run.tile_key)
    if winner:
        chosen = next(v for v in tile["variants"] if v["name"] == winner["variant"])
        return Next(chosen["next"], {"code": "variant", "name": chosen["name"], "winner": True})
    chosen = pick(run, tile["variants"])
    return Next(chosen["next"], {"code": "variant", "name": chosen["name"]})


def split(run: JourneyRun, tile: Tile, step: Step) -> Outcome:
    chosen = pick(run, tile["branches"])
    return Next(chosen["next"], {"code": "split", "name": chosen["name"]})


def exit_tile(run: JourneyRun, tile: Tile, step: Step) -> Outcome:
    return Exit({"code": "exit_tile"})


# --- Messages -------------------------------------------------------------------------------------
def send_email(run: JourneyRun, tile: Tile, step: Step) -> Outcome:
    email = step.gates.memo(("email", tile["email"]),
                            lambda: Email.objects.select_related("sender").get(key=tile["email"]))
    held = governance.before_send(run, tile, step.gates, now=step.now, commercial=email.commercial)
    if held is not None:
        return held
    version = step.gates.memo(("email version", email.pk), lambda: channels.latest_version(email))
    reason = {"code": "sent", "email": email.key, "delivery": None}
    step.outbox.email(channels.EmailToQueue(email, run.person, idempotency_key(run), {"trigger": run.context},
                                            step.journey.pk, run.tile_key, version), reason)
    if email.commercial:
        step.gates.record_send(run, now=step.now)
    return Next(tile["next"], reason)


def channel_not_configured(run: JourneyRun, tile: Tile, step: Step) -> Outcome:
    """SMS and push tiles validate as "channel not configured" until those channels exist, so a
    live journey never reaches one; if it does, the run fails loudly rather than skipping."""
    raise RuntimeError(f"the {tile['type'].removeprefix('send_')} channel is not configured")


# --- Actions --------------------------------------------------------------------------------------
def create_task(run: JourneyRun, tile: Tile, step: Step) -> Outcome:
    user = get_user_model().objects.get(pk=tile["user"]) if tile.get("user") else None
    queue = SalesQueue.objects.get(pk=tile["queue"]) if tile.get("queue") else None
    due_at = step.now + duration(tile["due_in"]) if tile.get("due_in") else None
    task = people.create_task(run.person, subject=tile["subject"], now=step.now, assigned_to=user, queue=queue,
                              due_at=due_at, description=tile.get("description", ""), source="journey")
    return Next(tile["next"], {"code": "task_created", "task": task.pk, "subject": task.subject})


def update_record(run: JourneyRun, tile: Tile, step: Step) -> Outcome:
    """Set one field (or custom attribute) through the model, so validation and the people change
    hook apply as on every other write path. Setting the same value twice changes nothing."""
    target = tile.get("target") or "person"
    record = run.person if target == "person" else Opportunity.objects.get(pk=run.context["opportunity"])
    field, value = tile["field"], tile.get("value")
    if field in UPDATABLE[target] and hasattr(record, field):
        try:
            value = record._meta.get_field(field).to_python(value)
        except (FieldDoesNotExist, ValidationError) as exc:
            raise ValueError(f"{field}: {exc}") from exc
        setattr(record, field, value)
        update_fields = [field, "updated_at"]
    else:
        record.attributes = {**record.attributes, field: value}
        update_fields = ["attributes", "updated_at"]
    record.full_clean(validate_unique=False)
    record.save(update_fields=update_fields)
    return Next(tile["next"], {"code": "updated", "record": target, "id": record.pk, "field": field,
                               "value": value if isinstance(value, str | int | float | bool) else str(value)})


def webhook(run: JourneyRun, tile: Tile, step: Step) -> Outcome:
    from channels.models import WebhookEndpoint

    endpoint = WebhookEndpoint.objects.get(pk=tile["endpoint"])
    payload = {"journey": {"id": step.journey.pk, "name": step.journey.name, "tile": run.tile_key},
               "trigger": run.context}  # channels adds the person
    delivery = channels.queue_webhook(endpoint, person=run.person, payload=payload,
                                      idempotency_key=idempotency_key(run),
                                      now=step.now, journey_id=step.journey.pk, tile_key=run.tile_key)
    return Next(tile["next"], {"code": "webhook", "endpoint": endpoint.name, "delivery": delivery.pk})


def add_to_segment(run: JourneyRun, tile: Tile, step: Step) -> Outcome:
    segment = Segment.objects.get(pk=tile["segment"])
    segments.add_members(segment, [run.person.pk], now=step.now)
    return Next(tile["next"], {"code": "segment_added", "segment": segment.pk, "name": segment.name})


def remove_from_segment(run: JourneyRun, tile: Tile, step: Step) -> Outcome:
    segment = Segment.objects.get(pk=tile["segment"])
    segments.remove_members(segment, [run.person.pk], now=step.now)
    return Next(tile["next"], {"code": "segment_removed", "segment": segment.pk, "name": segment.name})


TILES: dict[str, Callable[[JourneyRun, Tile, Step], Outcome]] = {
    "wait": wait,
    "wait_trigger": wait_trigger,
    "attribute_branch": attribute_branch,
    "interaction_branch": interaction_branch,
    "trigger_branch": trigger_branch,
    "ab_test": ab_test,
    "split": split,
    "send_email": send_email,
    "send_sms": channel_not_configured,
    "send_push": channel_not_configured,
    "create_task": create_task,
    "update_record": update_record,
    "webhook": webhook,
    "add_to_segment": add_to_segment,
    "remove_from_segment": remove_from_segment,
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
