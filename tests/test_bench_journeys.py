"""bench journeys: the tick in 1 and 2 worker processes and the fan-out, with their checks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from bench import BENCHMARKS, journeys_bench
from journeys.models import Journey, JourneyRun
from tests.conftest import requires_postgres

ROOT = Path(__file__).resolve().parents[1]


def test_the_journeys_bench_is_registered():
    assert BENCHMARKS["journeys"] is journeys_bench.run


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_journeys_bench_reports_rates_ratios_and_checks():
    """Run as people run it: `manage.py bench journeys` in a process of its own (it forks workers)."""
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "WAYMARK_BENCH_RUNS": "60"}
    done = subprocess.run([sys.executable, "manage.py", "bench", "journeys", "--contacts", "300"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bench"] == "journeys" and result["figures"]["fan_out_members"] == 300
    assert {"fan_out", "tick_1w", "tick_2w"} <= set(result["ratios"])
    assert result["figures"]["tick_runs"] == 60 and result["figures"]["tick_1w_steps_per_s"] > 0
    assert result["checks"] and all(result["checks"].values())
    assert not Journey.objects.exists() and not JourneyRun.objects.exists()  # the bench cleans up
