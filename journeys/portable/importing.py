"""Importing a document: check its shape, resolve its names to rows (every problem with its path),
and create a draft journey or overwrite one — never a live one."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from channels.models import Email, WebhookEndpoint
from contacts.models import SalesQueue
from journeys import triggers
from journeys.models import Journey
from journeys.portable.diff import diff
from journeys.portable.document import (
    ENTRY,
    FIELD_PATHS,
    GOVERNANCE,
    DocumentError,
    default,
    loads,
    map_query,
    map_tile,
    normalize,
)
from journeys.validation import validate_journey
from segments.models import Segment


@dataclass
class ImportResult:
    journey: Journey | None = None
    created: bool = False
    dry_run: bool = False
    errors: list[str] = field(default_factory=list)  # "path: message"; nothing is saved when there are any
    changes: list[str] = field(default_factory=list)  # the diff, as shown before importing
    validation: dict[str, list[str]] = field(default_factory=dict)  # what going live would say (tile -> messages)

    @property
    def ok(self) -> bool:
        return not self.errors


# --- Import ----------------------------------------------------------------------------------------
def import_journey(doc: dict[str, Any] | str | bytes, *, now: datetime.datetime, user=None, dry_run: bool = False,
                   journey: Journey | None = None) -> ImportResult:
    """Check a document, resolve its references and create a draft journey (or overwrite the draft
    `journey`); with `dry_run`, only say what would change. Nothing is saved when there are errors.
    `now` is when the import happens (kept for the services' shape: drafts record no times)."""
    result = ImportResult(dry_run=dry_run, created=journey is None)
    try:
        raw = loads(doc) if isinstance(doc, str | bytes) else doc
    except DocumentError as exc:
        result.errors.append(str(exc))
        return result
    canonical, result.errors = normalize(raw)
    if not canonical:
        return result
    if journey is not None and journey.status != Journey.Status.DRAFT:
        result.errors.insert(0, f"journey {journey.name!r} is {journey.get_status_display().lower()}: only a draft "
                                "can be overwritten; create a new version instead")
    result.changes = diff(canonical, journey)
    target = Journey.objects.get(pk=journey.pk) if journey is not None else Journey(created_by=user)
    exclusions = _apply(canonical, target, result.errors) if not result.errors else []
    if result.errors:
        return result
    result.validation = validate_journey(target)
    if dry_run:
        result.journey = journey
        return result
    with transaction.atomic():
        if journey is not None:
            locked = Journey.objects.select_for_update().get(pk=journey.pk)
            if locked.status != Journey.Status.DRAFT:
                result.errors.append(f"journey {journey.name!r} went {locked.status} meanwhile; "
                                     "create a new version instead")
                return result
        target.save()
        target.exclusion_segments.set(exclusions)
    result.journey = target
    return result


def _apply(doc: dict[str, Any], journey: Journey, errors: list[str]) -> list[int]:
    """Resolve references and set the journey's fields (unsaved); return the exclusion segment ids."""
    refs = _References(doc["audience"], errors)
    journey.name, journey.description, journey.audience = doc["name"], doc["description"], doc["audience"]
    entry = doc["entry"]
    for key, (name, kind) in ENTRY.items():
        value = entry.get(key, default(name, kind))
        if kind == "query":
            value = map_query(value, refs.segment_id, f"entry.{key}") if value is not None else None
        setattr(journey, name, refs.value(kind, value, f"entry.{key}"))
    exclusions = [refs.segment_id(n, f"governance.exclusion_segments[{i}]")
                  for i, n in enumerate(doc["governance"]["exclusion_segments"])]
    for key, (name, kind) in GOVERNANCE.items():
        if kind != "segments":
            setattr(journey, name, refs.value(kind, doc["governance"][key], f"governance.{key}"))
    tiles = {key: map_tile(tile, refs.tile_value, f"tiles.{key}") for key, tile in doc["tiles"].items()}
    journey.tiles = {**doc.get("canvas", {}), "start": doc["start"] or "", "tiles": tiles}
    try:
        journey.full_clean(exclude=["tiles", "created_by", "next_entry_at", "status"], validate_unique=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.extend(f"{FIELD_PATHS.get(name, name)}: {m}" for m in messages)
    return exclusions


class _References:
    """Names in a document to the rows they stand for; each problem is recorded with its path."""

    def __init__(self, audience: str, errors: list[str]) -> None:
        self.audience, self.errors = audience, errors

    def value(self, kind: str, value: Any, path: str) -> Any:
        if kind == "segment":
            return self.segment(value, path) if value else None
        if kind == "trigger":
            return self.trigger(value, path) or ""
        if kind == "datetime":
            return datetime.datetime.fromisoformat(value) if value else None
        if kind == "time":
            return datetime.time.fromisoformat(value) if value else None
        return value

    def segment(self, name: Any, path: str) -> Segment | None:
        if not isinstance(name, str):
            self.errors.append(f"{path}: give the segment's name, not {name!r}")
            return None
        return self._one(list(Segment.objects.filter(name=name)[:2]), path, f"segment named {name!r}")

    def segment_id(self, name: Any, path: str) -> int | None:
        segment = self.segment(name, path)
        return segment.pk if segment is not None else None

    def trigger(self, key: str | None, path: str) -> str | None:
        if key and not triggers.is_registered(key):
            self.errors.append(f"{path}: no trigger with key {key!r}")
        return key

    def tile_value(self, kind: str, value: Any, path: str) -> Any:
        if kind == "trigger":
            return self.trigger(value, path)
        if kind == "email":
            if not isinstance(value, str) or not Email.objects.filter(key=value).exists():
                self.errors.append(f"{path}: no email with key {value!r}")
            return value
        if kind == "segment":
            return self.segment_id(value, path)
        if not isinstance(value, str):
            self.errors.append(f"{path}: give a name, not {value!r}")
            return value
        if kind == "user":
            user_model = get_user_model()
            found = list(user_model.objects.filter(**{user_model.USERNAME_FIELD: value}).values_list("pk", flat=True))
            return self._one(found, path, f"user with username {value!r}")
        if kind == "queue":
            return self._one(list(SalesQueue.objects.filter(name=value).values_list("pk", flat=True)), path,
                             f"sales queue named {value!r}")
        return self._one(list(WebhookEndpoint.objects.filter(name=value).values_list("pk", flat=True)[:2]), path,
                         f"webhook endpoint named {value!r}")

    def _one(self, found: list[Any], path: str, what: str) -> Any:
        if not found:
            self.errors.append(f"{path}: no {what}")
            return None
        if len(found) > 1:
            self.errors.append(f"{path}: more than one {what}; rename one so the name is unique")
            return None
        return found[0]
