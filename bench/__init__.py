"""Waymark's benchmarks by name. `python manage.py bench NAME` runs one, `bench all` every one.

Each entry is a function `(*, contacts, log) -> bench.common.Result`; adding a benchmark is one
line here.
"""

from __future__ import annotations

from bench import email_bench, import_bench, journeys_bench, segments_bench, triggers_bench
from bench.common import Benchmark

BENCHMARKS: dict[str, Benchmark] = {
    "import": import_bench.run,
    "email": email_bench.run,
    "segments": segments_bench.run,
    "triggers": triggers_bench.run,
    "journeys": journeys_bench.run,
}
