"""What a tile decides; the runner applies it. Reasons are data, phrased only by `explain`."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Next:
    tile: str  # a tile key, or models.EXIT
    reason: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Wait:
    until: datetime.datetime
    waiting_for: str | None = None  # a trigger key that resumes the run before `until`


@dataclass(frozen=True)
class Defer:
    """Not now (quiet hours, a frequency cap): run this same tile again at `until`."""
    until: datetime.datetime
    reason: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Exit:
    reason: dict[str, Any] = field(default_factory=dict)


Outcome = Next | Wait | Defer | Exit


def duration(spec: dict[str, Any] | None) -> datetime.timedelta:
    spec = spec or {}
    return datetime.timedelta(days=spec.get("days", 0), hours=spec.get("hours", 0), minutes=spec.get("minutes", 0))


def iso(moment: datetime.datetime) -> str:
    return moment.isoformat()
