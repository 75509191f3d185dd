"""bench journeys: the tick in 1 and 2 worker processes and the fan-out, with their checks."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from bench import BENCHMARKS, journeys_bench
from journeys.models import Journey, JourneyRun
from tests.conftest import requires_postgres


def test_the_journeys_bench_is_registered():
    assert BENCHMARKS["journeys"] is journeys_bench.run


@requires_postgres
@pytest.mark.django_db(transaction=True)  # the worker processes read what the bench committed
def test_journeys_bench_reports_rates_ratios_and_checks(monkeypatch):
    monkeypatch.setattr(journeys_bench, "RUNS", 60)
    out = StringIO()
    call_command("bench", "journeys", "--contacts", "300", stdout=out, stderr=StringIO())
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["bench"] == "journeys" and result["figures"]["fan_out_members"] == 300
    assert {"fan_out", "tick_1w", "tick_2w"} <= set(result["ratios"])
    assert result["figures"]["tick_runs"] == 60 and result["figures"]["tick_1w_steps_per_s"] > 0
    assert result["checks"] and all(result["checks"].values())
    assert not Journey.objects.exists() and not JourneyRun.objects.exists()  # the bench cleans up
