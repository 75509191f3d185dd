"""What each kind of tile is, for people and for code: its label, palette group, the settings it
takes and its ways out. The engine (journeys/engine/tiles.py) runs tiles; validation, the builder,
the API docs and journeys-as-code read their shape from here.

A journey's tiles are `{"start": <key>, "tiles": {<key>: tile}}`; a tile is a dict with "type",
an optional "name" (its label on the canvas) and its settings. Every way out names a tile key or
"exit" ("go to tile K" is just naming an earlier or later key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Tile = dict[str, Any]


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str  # text, number, duration, datetime, trigger, email, segment, user, queue, endpoint, query,
    #            choice, branches, variants, json
    label: str
    required: bool = True
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TileKind:
    type: str
    label: str
    group: str  # "Flow", "Messages", "Actions"
    description: str
    settings: tuple[Setting, ...] = ()
    outs: tuple[tuple[str, str], ...] = (("next", "Next"),)  # fixed ways out: (field, label)
    list_outs: str = ""  # a list setting whose items each have a "next" (branches, variants)
    other_out: str = ""  # the field of the "everyone else" way out of a list
    waits: bool = False  # a run can stop here for a while (loops need one)
    channel: str = ""  # the message channel a send tile uses (frequency caps, quiet hours)


DURATION_HELP = "days, hours and minutes"
_SEND_NAME = Setting("name", "text", "Label", required=False)

KINDS: dict[str, TileKind] = {k.type: k for k in (
    TileKind("wait", "Wait", "Flow", "Wait a while, or until a date and time.", (
        Setting("days", "number", "Days", required=False),
        Setting("hours", "number", "Hours", required=False),
        Setting("minutes", "number", "Minutes", required=False),
        Setting("until", "datetime", "Until (instead of a duration)", required=False,
                help="A date and time in the journey's time zone"),
    ), waits=True),
    TileKind("wait_trigger", "Wait for trigger", "Flow",
             "Wait until a trigger happens for this person, or go the timeout way.", (
                 Setting("trigger", "trigger", "Trigger"),
                 Setting("timeout", "duration", "Timeout", help=DURATION_HELP),
             ), outs=(("next", "Happened"), ("timeout_next", "Timed out")), waits=True),
    TileKind("attribute_branch", "Attribute branch", "Flow",
             "Send people down the first branch whose conditions they meet (profile and trigger "
             "payload), else Other.",
             (Setting("branches", "branches", "Branches", help="Each: name, conditions, next"),),
             outs=(), list_outs="branches", other_out="other"),
    TileKind("interaction_branch", "Interaction branch", "Flow",
             "Did the person open or click (a link of) an email sent earlier in this journey?", (
                 Setting("tile", "tile", "Email tile"),
                 Setting("interaction", "choice", "Interaction",
                         choices=(("opened", "Opened"), ("clicked", "Clicked"))),
                 Setting("link", "text", "Link URL (clicks only)", required=False),
                 Setting("within", "duration", "Within", required=False, help=DURATION_HELP),
             ), outs=(("yes", "Yes"), ("no", "No"))),
    TileKind("trigger_branch", "Trigger branch", "Flow",
             "Has a trigger happened for this person since they entered (or within a window)?", (
                 Setting("trigger", "trigger", "Trigger"),
                 Setting("within", "duration", "Within", required=False, help="Empty = since entry"),
             ), outs=(("yes", "Yes"), ("no", "No"))),
    TileKind("ab_test", "A/B test", "Flow",
             "Split people between variants by percentage; pick a winner by a metric after a time "
             "or sample size, then send everyone after down the winner's path.", (
                 Setting("variants", "variants", "Variants", help="Each: name, percent, next"),
                 Setting("metric", "choice", "Winner metric",
                         choices=(("opened", "Opens"), ("clicked", "Clicks"), ("goal", "Goal reached"))),
                 Setting("decide_after", "duration", "Decide after", required=False, help=DURATION_HELP),
                 Setting("min_sample", "number", "Or after this many people", required=False),
             ), outs=(), list_outs="variants"),
    TileKind("split", "Random split", "Flow", "Split people at random by percentages.",
             (Setting("branches", "variants", "Paths", help="Each: name, percent, next"),),
             outs=(), list_outs="branches"),
    TileKind("send_email", "Send email", "Messages", "Send a published email.",
             (Setting("email", "email", "Email"), _SEND_NAME), channel="email"),
    TileKind("send_sms", "Send SMS", "Messages", "Send a text message.",
             (Setting("message", "text", "Message"),), channel="sms"),
    TileKind("send_push", "Send push", "Messages", "Send a push notification.",
             (Setting("title", "text", "Title"), Setting("body", "text", "Body")), channel="push"),
    TileKind("create_task", "Create task", "Actions", "Create a sales task for a user or a queue.", (
        Setting("subject", "text", "Subject"),
        Setting("user", "user", "Assign to user", required=False),
        Setting("queue", "queue", "Or to sales queue", required=False),
        Setting("due_in", "duration", "Due in", required=False, help=DURATION_HELP),
        Setting("description", "text", "Description", required=False),
    )),
    TileKind("update_record", "Update record", "Actions",
             "Set a field on the person, or on the opportunity of the entry trigger.", (
                 Setting("target", "choice", "Record",
                         choices=(("person", "The contact or lead"), ("opportunity", "The trigger's opportunity"))),
                 Setting("field", "text", "Field", help="A field or custom attribute name"),
                 Setting("value", "text", "Value", required=False),
             )),
    TileKind("webhook", "Webhook", "Actions", "POST a signed event to a webhook endpoint.",
             (Setting("endpoint", "endpoint", "Endpoint"),)),
    TileKind("add_to_segment", "Add to segment", "Actions", "Add the person to a static segment.",
             (Setting("segment", "segment", "Static segment"),)),
    TileKind("remove_from_segment", "Remove from segment", "Actions",
             "Remove the person from a static segment.", (Setting("segment", "segment", "Static segment"),)),
    TileKind("exit", "Exit", "Flow", "End the journey here.", outs=()),
)}

WAIT_TYPES = frozenset(k.type for k in KINDS.values() if k.waits)
SEND_TYPES = frozenset(k.type for k in KINDS.values() if k.channel)


@dataclass
class Out:
    where: str  # the path of the setting, e.g. "next", "branches[1].next", "other"
    label: str
    target: Any = None  # a tile key, "exit", or missing
    extra: dict[str, Any] = field(default_factory=dict)


def outs(tile: Tile) -> list[Out]:
    """Every way out of a tile, in canvas order (left to right), with its current target."""
    kind = KINDS.get(tile.get("type")) if isinstance(tile, dict) else None
    if kind is None:
        return []
    found: list[Out] = []
    if kind.list_outs:
        items = tile.get(kind.list_outs)
        for index, item in enumerate(items if isinstance(items, list) else []):
            item = item if isinstance(item, dict) else {}
            found.append(Out(f"{kind.list_outs}[{index}].next", str(item.get("name") or f"Path {index + 1}"),
                             item.get("next"), {"percent": item.get("percent")}))
        if kind.other_out:
            found.append(Out(kind.other_out, str(tile.get("other_name") or "Other"), tile.get(kind.other_out)))
    for name, label in kind.outs:
        found.append(Out(name, label, tile.get(name)))
    return found


def set_out(tile: Tile, where: str, target: str) -> None:
    """Point one way out of a tile (by its `Out.where`) at a tile key or "exit"."""
    if "[" in where:
        list_name, rest = where.split("[", 1)
        index = int(rest.split("]", 1)[0])
        tile[list_name][index]["next"] = target
    else:
        tile[where] = target


def label(tile: Tile) -> str:
    kind = KINDS.get(tile.get("type"))
    return str(tile.get("name") or (kind.label if kind else tile.get("type")))
