"""The benchmark entry point: one JSON line per benchmark, with figures, ratios and checks."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from bench import BENCHMARKS
from contacts.models import Contact, CustomAttribute, ImportJob

pytestmark = pytest.mark.django_db


def test_import_bench_prints_its_result_as_json_on_the_last_line(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    out = StringIO()
    call_command("bench", "import", "--contacts", "500", stdout=out, stderr=StringIO())
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert set(result) == {"bench", "figures", "ratios", "checks"}
    assert result["bench"] == "import"
    assert result["figures"]["rows"] == 500 and result["figures"]["rows_per_s"] > 0
    assert result["figures"]["baseline"]
    assert result["ratios"]["import"] > 0
    assert result["checks"] and all(result["checks"].values())


def test_import_bench_cleans_up_after_itself(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("bench", "import", "--contacts", "200", stdout=StringIO(), stderr=StringIO())
    assert not Contact.objects.exists()
    assert not ImportJob.objects.exists()
    assert not CustomAttribute.objects.exists()
    assert not any(tmp_path.rglob("*.csv"))


def test_every_registered_benchmark_is_runnable_by_name():
    assert "import" in BENCHMARKS
    with pytest.raises(CommandError):
        call_command("bench", "no-such-bench", stdout=StringIO(), stderr=StringIO())
