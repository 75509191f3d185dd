"""What every benchmark shares: its result shape, a stopwatch, and generated-data conventions.

A result is printed as one JSON line, `{"bench", "figures", "ratios", "checks"}`: figure names
carry their unit (`import_s`, `rows_per_s`) and name the baseline; each ratio is Waymark's time
divided by the baseline's time for the same work in the same run (1.0 = the raw ceiling).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import connection

BENCH_DOMAIN = "bench.example.com"  # generated people live at <run>.bench.example.com

Log = Callable[[str], None]


class Benchmark(Protocol):
    def __call__(self, *, contacts: int | None, log: Log) -> Result: ...


@dataclass
class Result:
    figures: dict[str, Any] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(self.checks.values())

    def as_dict(self, name: str) -> dict[str, Any]:
        if "baseline" not in self.figures:
            raise ValueError(f"benchmark {name!r} does not name its baseline in figures")
        return {
            "bench": name,
            "figures": {k: round(v, 4) if isinstance(v, float) else v for k, v in self.figures.items()},
            "ratios": {k: round(v, 3) for k, v in self.ratios.items()},
            "checks": {k: bool(v) for k, v in self.checks.items()},
        }

    def as_json(self, name: str) -> str:
        return json.dumps(self.as_dict(name), ensure_ascii=False)


class Stopwatch:
    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def running(self) -> Iterator[Stopwatch]:
        started = time.perf_counter()
        try:
            yield self
        finally:
            self.seconds += time.perf_counter() - started


def ratio(waymark_s: float, baseline_s: float) -> float:
    """Waymark's time over the baseline's: lower is better, 1.0 is the ceiling."""
    return waymark_s / baseline_s if baseline_s > 0 else float("inf")


def run_domain() -> str:
    """A fresh email domain for this run's generated people, so runs never collide."""
    return f"run{secrets.token_hex(4)}.{BENCH_DOMAIN}"


def on_postgres() -> bool:
    return connection.vendor == "postgresql"
