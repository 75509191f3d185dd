"""Payload checks: compiled once per schema, with a quick check that never disagrees with
jsonschema (it only ever says "valid" where jsonschema does), and the fair-use counter."""

import datetime

import pytest
from django.core.cache import cache
from jsonschema import Draft202012Validator, FormatChecker

from journeys import ingest, triggers
from journeys.models import CustomTrigger

CUSTOM = CustomTrigger(key="store.visited", person_field="email", attributes=[
    {"name": name, "type": kind, "required": kind in ("text", "date")}
    for name, kind in [("text", "text"), ("number", "number"), ("integer", "integer"), ("boolean", "boolean"),
                       ("date", "date"), ("datetime", "datetime"), ("list", "list"), ("object", "object")]])
SCHEMAS = [CUSTOM.schema(), CustomTrigger(key="deal.won", kind="record").schema(),
           *(triggers.get(key).schema for key in ("email.bounced", "opportunity.won", "form.submitted",
                                                  "contact.updated", "consent.changed", "purchase.completed"))]
VALUES = [None, True, False, 0, 1, -3, 2.5, 3.0, float("nan"), "", "x", "2026-11-23", "2026-13-45", "23/11/2026",
          "2026-11-23T10:00:00Z", "hard", [], ["a"], ["a", 1], [None], {}, {"a": 1}]


def jsonschema_errors(schema, payload):
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(payload), key=lambda e: [str(p) for p in e.absolute_path])
    return [(".".join(str(p) for p in e.absolute_path) or "payload", e.message) for e in errors]


def payloads(schema):
    """A valid-looking base payload, then each property set to each value, and each required one left out."""
    names = list(schema.get("properties", {}))
    base = {name: VALUES[10] for name in names}
    yield base
    yield {}
    yield "not an object"
    for name in names:
        for value in VALUES:
            yield {**base, name: value}
    for name in schema.get("required", []):
        yield {key: value for key, value in base.items() if key != name}


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: ",".join(s.get("properties", {}))[:40])
def test_field_errors_are_jsonschema_s_for_every_payload(schema):
    for payload in payloads(schema):
        assert triggers.field_errors(schema, payload) == jsonschema_errors(schema, payload), payload


def test_a_schema_the_quick_check_does_not_know_still_gets_jsonschema_s_answer():
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 5}}, "additionalProperties": False}
    assert triggers.field_errors(schema, {"n": 7}) == []
    assert triggers.field_errors(schema, {"n": 3}) == [("n", "3 is less than the minimum of 5")]
    assert triggers.field_errors(schema, {"n": 7, "m": 1})[0][0] == "payload"


@pytest.fixture
def counters():
    cache.clear()
    yield
    cache.clear()


def test_the_rate_counts_events_and_refuses_past_the_limit_without_counting_them(counters):
    trigger = CustomTrigger(key="store.visited", rate_limit_per_minute=5)
    now = datetime.datetime(2026, 11, 23, 10, 0, 50, tzinfo=datetime.UTC)
    assert ingest.take_rate("store.visited", 3, now=now, custom=trigger) is None
    assert ingest.take_rate("store.visited", 3, now=now, custom=trigger) == 10  # seconds to the next minute
    assert ingest.take_rate("store.visited", 2, now=now, custom=trigger) is None
    ingest.give_back_rate("store.visited", 1, now=now)
    assert ingest.take_rate("store.visited", 1, now=now, custom=trigger) is None
    assert ingest.take_rate("store.visited", 1, now=now, custom=trigger) == 10
    next_minute = now + datetime.timedelta(seconds=10)
    assert ingest.take_rate("store.visited", 5, now=next_minute, custom=trigger) is None
