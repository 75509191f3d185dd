"""Continuous segments listen to the people change hook: changed people are re-checked in the
worker within seconds, without a full refresh.

Apps that build on segments (journeys) say where a segment is used through `register_usage`, so
segments can refuse to delete one in use without importing them."""

from __future__ import annotations

from collections.abc import Callable

from contacts.hooks import PeopleChange
from segments import tasks
from segments.models import Segment

UsageProvider = Callable[["Segment"], list[str]]
_usage_providers: list[UsageProvider] = []


def on_people_changed(change: PeopleChange) -> None:
    """Queue a re-check of the changed people, unless no segment is continuous: changes come by the
    hundred a second (every sent email is one), and a task with nothing to re-check still costs the
    broker and a worker a round trip. (A segment made continuous later catches up on earlier
    changes at its scheduled full refresh, as a daily one always has.)"""
    if Segment.objects.filter(kind=Segment.Kind.DYNAMIC, status=Segment.Status.READY,
                              refresh_mode=Segment.RefreshMode.CONTINUOUS).exists():
        tasks.recheck_people.delay(sorted(change.contact_ids), sorted(change.lead_ids))


def register_usage(provider: UsageProvider) -> UsageProvider:
    """Register `provider(segment)`, which names each use of the segment, like
    'journey "Win back" (entry segment)'. Registering twice is harmless."""
    if provider not in _usage_providers:
        _usage_providers.append(provider)
    return provider


def usage(segment: Segment) -> list[str]:
    """Every use of `segment`: segments whose query refers to it, then each registered provider's."""
    uses = [f"segment “{name}” (its query refers to it)"
            for name in segment.used_by.order_by("name").values_list("name", flat=True)]
    for provider in _usage_providers:
        uses.extend(provider(segment))
    return uses
