"""Validation shared by every write path: model clean(), forms, the API and CSV import."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from django.apps import apps
from django.core.exceptions import ValidationError

TRUE_WORDS = {"true", "yes", "y", "1", "on"}
FALSE_WORDS = {"false", "no", "n", "0", "off"}


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_valid_time_zone(name: str) -> bool:
    return name in _time_zones()


def attribute_definitions(entity: str) -> dict[str, Any]:
    """Custom attribute definitions of `entity` ("contact" or "lead") by key."""
    model = apps.get_model("contacts", "CustomAttribute")
    return {a.key: a for a in model.objects.filter(entity=entity)}


def coerce_attribute(definition: Any, value: Any) -> Any:
    """The stored form of `value` for one attribute, or ValueError with a readable reason."""
    kind = definition.type
    if value is None or value == "":
        return None
    if kind == "text":
        if not isinstance(value, (str, int, float)):
            raise ValueError("must be text")
        return str(value)
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a number")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(f"{value!r} is not yes/no")
    if kind == "date":
        if isinstance(value, datetime.date):
            return value.isoformat()
        try:
            return datetime.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    if kind == "choice":
        if value not in definition.choices:
            raise ValueError(f"{value!r} is not one of {', '.join(definition.choices)}")
        return value
    raise ValueError(f"unknown attribute type {kind!r}")


def validate_attributes(
    entity: str, values: Any, definitions: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Check custom attribute values against their definitions; return them coerced.

    Raises ValidationError({"attributes": [...]}) naming every bad key at once.
    """
    if values in (None, ""):
        values = {}
    if not isinstance(values, dict):
        raise ValidationError({"attributes": "Custom attributes must be an object of key: value."})
    definitions = attribute_definitions(entity) if definitions is None else definitions
    errors: list[str] = []
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            errors.append(f"{key}: no such custom attribute on {entity}s")
            continue
        try:
            coerced = coerce_attribute(definition, value)
        except ValueError as exc:
            errors.append(f"{key}: {exc}")
            continue
        if coerced is not None:
            cleaned[key] = coerced
    for key, definition in definitions.items():
        if definition.required and key not in cleaned and f"{key}:" not in " ".join(errors):
            errors.append(f"{key}: this attribute is required")
    if errors:
        raise ValidationError({"attributes": errors})
    return cleaned
