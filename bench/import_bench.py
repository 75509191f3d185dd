"""CSV import of contacts, end to end, against loading the same file into a bare table.

Waymark's side is `contacts.imports.import_contacts_file`: header and mapping checks, row
validation, dedupe by email, the inserts, progress, error report and the people change hook.
The baseline is the raw load of the same file with no product code: `COPY` into a bare
temporary table on PostgreSQL, `csv.reader` + `executemany` on SQLite.
"""

from __future__ import annotations

import csv
import random
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from bench.common import BENCH_DOMAIN, Log, Result, Stopwatch, on_postgres, ratio, run_domain
from contacts import imports
from contacts.demo import scale
from contacts.demo.cleanup import delete_contacts
from contacts.models import Contact, CustomAttribute, ImportJob

DEFAULT_ROWS = 100_000
BAD_EVERY = 97  # about 1% of the rows are rejected
COLUMNS = ["email", "first_name", "last_name", "country", "state", "city", "phone", "loyalty_member"]
MAPPING = {column: column for column in COLUMNS} | {"loyalty_member": "attributes.loyalty_member"}
BASELINE_TABLE = "bench_import_baseline"


def write_csv(path: Path, *, rows: int, domain: str, rng: random.Random) -> int:
    """A realistic contacts file; returns how many of its rows are bad (bad email or yes/no)."""
    places = [p[:3] for p in scale.PLACES]
    weights = [p[5] for p in scale.PLACES]
    bad = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for n in range(1, rows + 1):
            first, last = rng.choice(scale.FIRST_NAMES), rng.choice(scale.LAST_NAMES)
            country, state, city = rng.choices(places, weights=weights)[0]
            email = f"{first}.{last}.{n}@{domain}".replace(" ", "")
            loyalty = rng.choice(["yes", "no", "no", ""])
            if n % BAD_EVERY == 0:
                bad += 1
                kind = (n // BAD_EVERY) % 3
                if kind == 0:
                    email = email.replace("@", " at ")
                elif kind == 1:
                    email = ""
                else:
                    loyalty = "maybe"
            phone = f"+1 {rng.randint(200, 989)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
            writer.writerow([email, first, last, country, state, city, phone, loyalty])
    return bad


def copy_baseline(path: Path) -> tuple[float, int]:
    """COPY the file into a bare temporary table with the same columns; (seconds, rows loaded)."""
    watch = Stopwatch()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {BASELINE_TABLE} ({', '.join(f'{c} text' for c in COLUMNS)})")
        with watch.running(), path.open("rb") as handle:
            with cursor.copy(f"COPY {BASELINE_TABLE} FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                while data := handle.read(1 << 16):
                    copy.write(data)
        cursor.execute(f"SELECT count(*) FROM {BASELINE_TABLE}")
        (loaded,) = cursor.fetchone()
        cursor.execute(f"DROP TABLE {BASELINE_TABLE}")
    return watch.seconds, loaded


def executemany_baseline(path: Path) -> tuple[float, int]:
    """Read the file with csv.reader and executemany it into a bare table; (seconds, rows loaded)."""
    watch = Stopwatch()
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {BASELINE_TABLE} ({', '.join(f'{c} text' for c in COLUMNS)})")
        with watch.running(), path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            next(reader)
            cursor.executemany(f"INSERT INTO {BASELINE_TABLE} VALUES ({placeholders})", list(reader))
        cursor.execute(f"SELECT count(*) FROM {BASELINE_TABLE}")
        (loaded,) = cursor.fetchone()
        cursor.execute(f"DROP TABLE {BASELINE_TABLE}")
    return watch.seconds, loaded


def remove_people(email_suffix: str) -> int:
    return delete_contacts(Contact.objects.filter(email__endswith=email_suffix))


def run(*, contacts: int | None = None, log: Log = print) -> Result:
    rows = contacts or DEFAULT_ROWS
    domain = run_domain()
    left_behind = remove_people(f".{BENCH_DOMAIN}")  # by a run that crashed
    if left_behind:
        log(f"removed {left_behind:,} contacts left behind by an earlier run")
    attribute, created_attribute = CustomAttribute.objects.get_or_create(
        entity=CustomAttribute.Entity.CONTACT, key="loyalty_member",
        defaults={"label": "Loyalty member", "type": CustomAttribute.Type.BOOLEAN},
    )
    job = None
    with tempfile.TemporaryDirectory(prefix="waymark-bench-") as folder:
        path = Path(folder) / "contacts.csv"
        bad = write_csv(path, rows=rows, domain=domain, rng=random.Random(42))
        log(f"import: {rows:,} rows ({bad:,} bad) in {path.stat().st_size / 1e6:.1f} MB, into {connection.vendor}")
        try:
            watch = Stopwatch()
            with watch.running():
                job = imports.import_contacts_file(str(path), mapping=MAPPING, on_duplicate="update",
                                                   now=timezone.now())
            imported = Contact.objects.filter(email__endswith=f"@{domain}").count()
            log(f"import: Waymark {watch.seconds:.2f} s ({rows / watch.seconds:,.0f} rows/s)")
            if on_postgres():
                baseline_name, (baseline_s, loaded) = "COPY into a bare table", copy_baseline(path)
            else:
                baseline_name = "csv.reader + executemany into a bare table"
                baseline_s, loaded = executemany_baseline(path)
            log(f"import: baseline {baseline_s:.2f} s ({rows / baseline_s:,.0f} rows/s)")
        finally:
            remove_people(f"@{domain}")
            if job is not None:
                job.file.delete(save=False)
                ImportJob.objects.filter(pk=job.pk).delete()
            if created_attribute:
                attribute.delete()
    return Result(
        figures={
            "rows": rows, "bad_rows": bad, "database": connection.vendor,
            "chunk_size": settings.WAYMARK_IMPORT_CHUNK_SIZE,
            "import_s": watch.seconds, "rows_per_s": round(rows / watch.seconds),
            "baseline": baseline_name, "baseline_s": baseline_s, "baseline_rows_per_s": round(rows / baseline_s),
        },
        ratios={"import": ratio(watch.seconds, baseline_s)},
        checks={
            "job_done": job.status == ImportJob.Status.DONE,
            "all_rows_accounted": job.created_count + job.error_count == rows,
            "good_rows_imported": imported == rows - bad == job.created_count,
            "bad_rows_reported": job.error_count == bad,
            "baseline_loaded_all_rows": loaded == rows,
        },
    )
