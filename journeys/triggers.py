"""The trigger registry: every key `publish` accepts, with the JSON Schema of its payload.

Built-in triggers are registered here in code, one line each; the parts that add triggers later
(events, scoring, SMS, push) call `register_trigger` from their own app config. Custom triggers
are rows (`CustomTrigger`): the lookups below see both.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models.signals import post_delete, post_save
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from journeys import models as journey_models

# How long one process keeps a custom trigger's definition for the intake API (`get_recent`).
RECENT_SECONDS = 5.0


@dataclass(frozen=True)
class Trigger:
    key: str
    schema: dict[str, Any]
    name: str = ""
    description: str = ""
    category: str = "other"
    custom: Any = field(default=None, compare=False)  # the CustomTrigger row, for custom triggers

    @property
    def attributes(self) -> list[dict[str, Any]]:
        """The payload's fields as [{name, type, required}] for pages and docs."""
        required = set(self.schema.get("required", []))
        rows = []
        for name, spec in self.schema.get("properties", {}).items():
            kind = spec.get("type") or ("one of " + ", ".join(map(str, spec["enum"])) if "enum" in spec else "any")
            if isinstance(kind, list):
                kind = " or ".join(kind)
            if kind == "array":
                kind = f"list of {spec.get('items', {}).get('type', 'values')}"
            if spec.get("format"):
                kind = spec["format"]
            rows.append({"name": name, "type": kind, "required": name in required})
        return rows


_registry: dict[str, Trigger] = {}
CATEGORIES = {"record": "Records", "interaction": "Interactions", "marketing": "Marketing", "custom": "Custom"}


def register_trigger(key: str, schema: dict[str, Any], *, name: str = "", description: str = "",
                     category: str = "other") -> None:
    """Register (or replace) a trigger. `key` is dotted `noun.past_verb`; `schema` is JSON Schema."""
    if "." not in key:
        raise ValueError(f"Trigger keys are dotted noun.past_verb, like 'email.opened', not {key!r}")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"Trigger {key!r} has an invalid payload schema: {exc.message}") from exc
    _registry[key] = Trigger(key, schema, name or key.replace(".", " ").replace("_", " ").capitalize(),
                             description, category)


def is_built_in(key: str) -> bool:
    return key in _registry


def custom_trigger(key: str):
    """The active custom trigger with this key, or None."""
    return journey_models.CustomTrigger.objects.filter(key=key, active=True).first()


def get(key: str) -> Trigger | None:
    if key in _registry:
        return _registry[key]
    row = custom_trigger(key)
    return _custom(row) if row is not None else None


def get_recent(key: str, *, fresh: bool = False) -> Trigger | None:
    """`get(key)` for the intake API, where one request carries one event: a custom trigger's
    definition is kept per process for RECENT_SECONDS, and dropped at once when this process saves
    or deletes a custom trigger. The intake's INSERT re-checks the row's `updated_at`, so an event
    is never stored against a definition changed meanwhile elsewhere. Unknown keys are not kept.
    `fresh`: read the row now (and keep that)."""
    if key in _registry:
        return _registry[key]
    now = time.monotonic()
    kept = _recent.get(key)
    if kept is not None and not fresh and now - kept[0] < RECENT_SECONDS:
        return kept[1]
    trigger = get(key)
    if trigger is None:
        _recent.pop(key, None)
    else:
        if len(_recent) >= 1000:
            _recent.clear()
        _recent[key] = (now, trigger)
    return trigger


def forget_recent(**kwargs: Any) -> None:
    """Drop the kept custom trigger definitions (a custom trigger was saved or deleted)."""
    _recent.clear()


_recent: dict[str, tuple[float, Trigger]] = {}
post_save.connect(forget_recent, sender="journeys.CustomTrigger", dispatch_uid="triggers.forget_recent.save")
post_delete.connect(forget_recent, sender="journeys.CustomTrigger", dispatch_uid="triggers.forget_recent.delete")


def _custom(row) -> Trigger:
    return Trigger(row.key, row.schema(), row.name, row.description or row.binding_sentence, "custom", row)


def is_registered(key: str) -> bool:
    return get(key) is not None


def trigger_keys() -> list[str]:
    custom = journey_models.CustomTrigger.objects.filter(active=True).values_list("key", flat=True)
    return sorted({*_registry, *custom})


def catalog(*, include_inactive: bool = False) -> list[Trigger]:
    """Every trigger, built-in then custom, each category in key order."""
    rows = journey_models.CustomTrigger.objects.all()
    if not include_inactive:
        rows = rows.filter(active=True)
    built_in = sorted(_registry.values(), key=lambda t: (list(CATEGORIES).index(t.category)
                                                         if t.category in CATEGORIES else 99, t.key))
    return built_in + [_custom(row) for row in rows.order_by("key")]


def schema_for(key: str) -> dict[str, Any]:
    trigger = get(key)
    if trigger is None:
        raise ValueError(f"Unknown trigger {key!r}; known triggers: {', '.join(trigger_keys())}")
    return trigger.schema


def payload_errors(key: str, payload: Any, *, schema: dict[str, Any] | None = None) -> list[str]:
    """Every way `payload` breaks the trigger's schema, as "field: problem" lines."""
    return [f"{path}: {message}" for path, message in field_errors(schema or schema_for(key), payload)]


def field_errors(schema: dict[str, Any], payload: Any) -> list[tuple[str, str]]:
    """(field path, problem) for each way `payload` breaks `schema`."""
    quick, validator = _compiled(schema)
    if quick is not None and quick(payload):
        return []
    errors = []
    for error in sorted(validator.iter_errors(payload), key=lambda e: [str(p) for p in e.absolute_path]):
        path = ".".join(str(part) for part in error.absolute_path) or "payload"
        errors.append((path, error.message))
    return errors


# --- Compiled schemas ---------------------------------------------------------------------------------
# jsonschema spends ~75 µs on a small payload; a batch of 1,000 events would spend 75 ms there. Each
# schema is compiled once into a validator and, when it only uses the keywords trigger schemas use
# (object, properties, required, type, items, format, pattern, enum of strings), into a quick check
# of plain isinstance tests. The quick check only ever says "surely valid": anything else, and every
# schema it does not understand, goes to jsonschema, which words the errors.
Check = Callable[[Any], bool]
_FORMATS = FormatChecker()
_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}
_compiled_schemas: dict[int, tuple[dict[str, Any], Check | None, Draft202012Validator]] = {}


def _compiled(schema: dict[str, Any]) -> tuple[Check | None, Draft202012Validator]:
    kept = _compiled_schemas.get(id(schema))
    if kept is not None and kept[0] is schema:  # the kept schema is alive, so its id is not reused
        return kept[1], kept[2]
    if len(_compiled_schemas) >= 256:
        _compiled_schemas.clear()
    quick, validator = _quick_check(schema), Draft202012Validator(schema, format_checker=_FORMATS)
    _compiled_schemas[id(schema)] = (schema, quick, validator)
    return quick, validator


def _quick_check(schema: Any) -> Check | None:
    """A check that is True only for payloads `schema` accepts; None if the schema is not one it knows."""
    if not isinstance(schema, dict) or schema.get("type") != "object" or set(schema) - {"type", "properties",
                                                                                            "required"}:
        return None
    required = schema.get("required", [])
    properties = schema.get("properties", {})
    if not isinstance(required, list) or not isinstance(properties, dict):
        return None
    checks = [(name, _value_check(spec)) for name, spec in properties.items()]
    if any(check is None for _, check in checks):
        return None

    def check(payload: Any) -> bool:
        if not isinstance(payload, dict) or any(name not in payload for name in required):
            return False
        return all(name not in payload or value_check(payload[name]) for name, value_check in checks)

    return check


def _value_check(spec: Any) -> Check | None:
    if not isinstance(spec, dict) or set(spec) - {"type", "items", "format", "pattern", "enum"}:
        return None
    checks: list[Check] = []
    kinds = spec.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not isinstance(kinds, list) or not kinds or any(kind not in _TYPES for kind in kinds):
            return None
        type_checks = [_TYPES[kind] for kind in kinds]
        checks.append(lambda v: any(type_check(v) for type_check in type_checks))
    if "items" in spec:
        item_check = _value_check(spec["items"])
        if item_check is None:
            return None
        checks.append(lambda v: not isinstance(v, list) or all(item_check(item) for item in v))
    if "format" in spec:
        checks.append(lambda v: _FORMATS.conforms(v, spec["format"]))
    if "pattern" in spec:
        try:
            pattern = re.compile(spec["pattern"])
        except (re.error, TypeError):
            return None
        checks.append(lambda v: not isinstance(v, str) or pattern.search(v) is not None)
    if "enum" in spec:
        if not isinstance(spec["enum"], list) or not all(isinstance(choice, str) for choice in spec["enum"]):
            return None
        choices = set(spec["enum"])
        checks.append(lambda v: isinstance(v, str) and v in choices)
    return lambda v: all(check(v) for check in checks)


# --- The built-in catalog -----------------------------------------------------------------------------
def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


_TEXT = {"type": "string"}
_ID = {"type": "integer"}
_NUMBER = {"type": "number"}
_TEXTS = {"type": "array", "items": _TEXT}
_NULLABLE_TEXT = {"type": ["string", "null"]}
_NULLABLE_NUMBER = {"type": ["number", "null"]}
_EMAIL = {"email_key": _TEXT, "delivery": _ID, "journey_id": {"type": ["integer", "null"]}, "tile_key": _TEXT}
_PERSON = {"email": _TEXT, "first_name": _TEXT, "last_name": _TEXT}
_OPPORTUNITY = {"opportunity": _ID, "name": _TEXT, "status": _TEXT, "stage": _TEXT,
                "estimated_revenue": _NULLABLE_NUMBER, "account": {"type": ["integer", "null"]},
                "close_date": _NULLABLE_TEXT}


def _record(key: str, properties: dict[str, Any], required: tuple[str, ...], description: str) -> None:
    register_trigger(key, _object(properties, required), description=description, category="record")


_record("contact.created", {"contact": _ID, **_PERSON, "source": _TEXT}, ("contact",),
        "A contact was created: in the app, the admin, the API, an import or a journey.")
_record("contact.updated", {"contact": _ID, **_PERSON, "fields": _TEXTS}, ("contact", "fields"),
        "A contact's fields changed; the \"fields\" attribute lists which.")
_record("lead.created", {"lead": _ID, **_PERSON, "company": _TEXT, "status": _TEXT, "source": _TEXT}, ("lead",),
        "A lead was created, whatever the write path.")
_record("lead.updated", {"lead": _ID, **_PERSON, "status": _TEXT, "fields": _TEXTS}, ("lead", "fields"),
        "A lead's fields changed; the \"fields\" attribute lists which.")
_record("lead.qualified", {"lead": _ID, **_PERSON, "company": _TEXT, "status": _TEXT}, ("lead",),
        "A lead's status changed to qualified.")
_record("lead.disqualified", {"lead": _ID, **_PERSON, "company": _TEXT, "status": _TEXT}, ("lead",),
        "A lead's status changed to disqualified.")
_record("opportunity.created", _OPPORTUNITY, ("opportunity", "status"),
        "An opportunity was created. Fired for its contact; an opportunity without a contact fires nothing.")
_record("opportunity.stage_changed", {**_OPPORTUNITY, "previous_stage": _TEXT}, ("opportunity", "stage"),
        "An opportunity moved to another stage (the previous_stage attribute says from where).")
_record("opportunity.won", _OPPORTUNITY, ("opportunity", "status"), "An opportunity's status changed to won.")
_record("opportunity.lost", _OPPORTUNITY, ("opportunity", "status"), "An opportunity's status changed to lost.")
_record("account.created", {"account": _ID, "name": _TEXT, "industry": _TEXT, "country": _TEXT}, ("account",),
        "An account was created. Fired for each contact of the account when the creating transaction "
        "commits; an account created without contacts fires nothing.")


def _interaction(key: str, properties: dict[str, Any], required: tuple[str, ...], description: str) -> None:
    register_trigger(key, _object(properties, required), description=description, category="interaction")


_interaction("email.delivered", _EMAIL, ("email_key",), "An email was accepted by the receiving mail server.")
_interaction("email.opened", _EMAIL, ("email_key",), "The first open of an email.")
_interaction("email.clicked", {**_EMAIL, "link": _TEXT}, ("email_key", "link"), "A tracked link was clicked.")
_interaction("email.bounced", {**_EMAIL, "bounce": {"enum": ["hard", "soft"]}, "reason": _TEXT}, ("email_key",),
             "An email bounced (hard: the address is invalid; soft: a temporary failure).")
_interaction("email.unsubscribed", _EMAIL, ("email_key",), "The recipient unsubscribed from an email.")
_interaction("email.complained", _EMAIL, ("email_key",), "The recipient marked an email as spam.")


def _marketing(key: str, properties: dict[str, Any], required: tuple[str, ...], description: str) -> None:
    register_trigger(key, _object(properties, required), description=description, category="marketing")


_marketing("form.submitted", {"form": _TEXT, "form_name": _TEXT, "fields": {"type": "object"}, "submission": _ID},
           ("form",), "A form was submitted; \"fields\" holds every submitted value.")
_marketing("segment.entered", {"segment": _ID, "name": _TEXT}, ("segment",),
           "The person entered a segment (published while a journey listens for it).")
_marketing("segment.exited", {"segment": _ID, "name": _TEXT}, ("segment",),
           "The person left a segment (published while a journey listens for it).")
_marketing("consent.changed", {"channel": _TEXT, "topic": _NULLABLE_TEXT, "old_status": _TEXT, "new_status": _TEXT,
                               "double_opt_in": _TEXT, "source": _TEXT}, ("channel", "new_status"),
           "The person's consent for a channel (or one of its topics) changed.")
_marketing("purchase.completed", {"order": _TEXT, "amount": _NUMBER, "currency": _TEXT, "products": _TEXTS},
           ("amount",), "A purchase was recorded on the person's timeline (API or services).")
_marketing("journey.goal_reached", {"journey_id": _ID, "journey": _TEXT, "run": _ID, "goal": _TEXT},
           ("journey_id", "run"), "A run of a journey reached the journey's goal.")
