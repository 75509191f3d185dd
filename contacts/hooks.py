"""The people change hook: after commit, report which people changed and which fields.

Every write path reports here — single saves through the model signals in `contacts.signals`,
bulk writes (imports, set-based updates) by calling `report_people_changed` once per batch.
Subscribers (segments' continuous refresh, record triggers) are called after the transaction
commits, never inside it, and should only enqueue work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeopleChange:
    contact_ids: frozenset[int]
    lead_ids: frozenset[int]
    fields: frozenset[str]
    created: bool = False

    def __bool__(self) -> bool:
        return bool(self.contact_ids or self.lead_ids)


Subscriber = Callable[[PeopleChange], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> Subscriber:
    """Register `subscriber` (usable as a decorator). Registering twice is harmless."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)
    return subscriber


def unsubscribe(subscriber: Subscriber) -> None:
    if subscriber in _subscribers:
        _subscribers.remove(subscriber)


def report_people_changed(
    *,
    contact_ids: Iterable[int] = (),
    lead_ids: Iterable[int] = (),
    fields: Iterable[str] = (),
    created: bool = False,
) -> None:
    """Tell subscribers, once the current transaction commits, that these people changed."""
    change = PeopleChange(frozenset(contact_ids), frozenset(lead_ids), frozenset(fields), created)
    if change:
        transaction.on_commit(lambda: _notify(change))


def _notify(change: PeopleChange) -> None:
    for subscriber in list(_subscribers):
        try:
            subscriber(change)
        except Exception:  # one broken subscriber must not stop the others
            logger.exception("people change subscriber %r failed", subscriber)


# --- Record changes (opportunities, accounts) ------------------------------------------------------
@dataclass(frozen=True)
class RecordChange:
    """Records of one table that changed in one transaction: which fields, and (for single saves)
    the values they had before. Reported after commit, like people changes."""

    table: str  # "opportunity" | "account"
    record_ids: frozenset[int]
    fields: frozenset[str]
    created: bool = False
    previous: tuple[tuple[str, object], ...] = ()  # (field, value before) for a single record


RecordSubscriber = Callable[[RecordChange], None]
_record_subscribers: list[RecordSubscriber] = []


def subscribe_records(subscriber: RecordSubscriber) -> RecordSubscriber:
    if subscriber not in _record_subscribers:
        _record_subscribers.append(subscriber)
    return subscriber


def report_records_changed(table: str, record_ids: Iterable[int], *, fields: Iterable[str] = (),
                           created: bool = False, previous: dict[str, object] | None = None) -> None:
    """Tell record subscribers, once the current transaction commits, that these records changed."""
    change = RecordChange(table, frozenset(record_ids), frozenset(fields), created,
                          tuple(sorted((previous or {}).items())))
    if change.record_ids:
        transaction.on_commit(lambda: _notify_records(change))


def _notify_records(change: RecordChange) -> None:
    for subscriber in list(_record_subscribers):
        try:
            subscriber(change)
        except Exception:  # one broken subscriber must not stop the others
            logger.exception("record change subscriber %r failed", subscriber)
