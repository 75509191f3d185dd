"""The trigger registry: every key `publish` accepts, with the JSON Schema of its payload.

Built-in triggers are registered here in code, one line each; the parts that add triggers later
(events, scoring, SMS, push) call `register_trigger` from their own app config. Custom triggers
are rows (`CustomTrigger`): the lookups below see both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from journeys import models as journey_models


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
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = []
    for error in sorted(validator.iter_errors(payload), key=lambda e: [str(p) for p in e.absolute_path]):
        path = ".".join(str(part) for part in error.absolute_path) or "payload"
        errors.append((path, error.message))
    return errors


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
