"""The trigger registry: every key `publish` accepts, with the JSON Schema of its payload.

Built-in triggers are registered here in code, one line each; the parts that add triggers later
(events, scoring, SMS, push) call `register_trigger` from their own app config.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

_registry: dict[str, dict[str, Any]] = {}


def register_trigger(key: str, schema: dict[str, Any]) -> None:
    """Register (or replace) a trigger. `key` is dotted `noun.past_verb`; `schema` is JSON Schema."""
    if "." not in key:
        raise ValueError(f"Trigger keys are dotted noun.past_verb, like 'email.opened', not {key!r}")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"Trigger {key!r} has an invalid payload schema: {exc.message}") from exc
    _registry[key] = schema


def is_registered(key: str) -> bool:
    return key in _registry


def trigger_keys() -> list[str]:
    return sorted(_registry)


def schema_for(key: str) -> dict[str, Any]:
    try:
        return _registry[key]
    except KeyError:
        raise ValueError(f"Unknown trigger {key!r}; known triggers: {', '.join(trigger_keys())}") from None


def payload_errors(key: str, payload: Any) -> list[str]:
    """Every way `payload` breaks the trigger's schema, as "field: problem" lines."""
    validator = Draft202012Validator(schema_for(key))
    errors = []
    for error in sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path)):
        field = ".".join(str(part) for part in error.absolute_path) or "payload"
        errors.append(f"{field}: {error.message}")
    return errors


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


_TEXT = {"type": "string"}
_ID = {"type": "integer"}
_NUMBER = {"type": "number"}
_EMAIL = {"email_key": _TEXT, "delivery": _ID, "journey_id": {"type": ["integer", "null"]}, "tile_key": _TEXT}

register_trigger("email.delivered", _object(_EMAIL, ("email_key",)))
register_trigger("email.opened", _object(_EMAIL, ("email_key",)))
register_trigger("email.clicked", _object({**_EMAIL, "link": _TEXT}, ("email_key", "link")))
register_trigger("form.submitted", _object({"form": _TEXT, "fields": {"type": "object"}}, ("form",)))
register_trigger("purchase.completed", _object(
    {"order": _TEXT, "amount": _NUMBER, "currency": _TEXT, "products": {"type": "array", "items": _TEXT}},
    ("amount",)))
register_trigger("opportunity.won", _object(
    {"opportunity": _ID, "name": _TEXT, "status": _TEXT, "stage": _TEXT, "estimated_revenue": _NUMBER},
    ("opportunity", "status")))
register_trigger("segment.entered", _object({"segment": _ID, "name": _TEXT}, ("segment",)))
register_trigger("segment.exited", _object({"segment": _ID, "name": _TEXT}, ("segment",)))
