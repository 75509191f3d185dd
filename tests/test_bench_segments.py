"""bench segments: Waymark's refreshes give exactly the members of the hand-written SQL."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from segments.models import Segment

pytestmark = pytest.mark.django_db


def test_segments_bench_reports_ratios_and_identical_members():
    out = StringIO()
    call_command("bench", "segments", "--contacts", "300", stdout=out, stderr=StringIO())
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["bench"] == "segments" and result["figures"]["contacts"] >= 300
    assert set(result["ratios"]) == {"attribute", "behavioral", "texas_cold_brew", "a_minus_b", "recheck"}
    assert result["checks"] and all(result["checks"].values())
    assert not Segment.objects.exists()  # the bench cleans up its segments
