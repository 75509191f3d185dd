"""CSV import of contacts: map columns, dedupe by email, import good rows, report bad ones.

A job reads its file in chunks. Each chunk is validated row by row, then written in one
transaction together with the job's progress, so a crash leaves every chunk either fully
imported or not at all, and a resumed job starts after the last committed chunk.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import connection, transaction
from django.db.models import JSONField
from django.db.models.functions import Lower
from django.utils import timezone

from contacts import tasks
from contacts.hooks import report_people_changed, report_records_changed
from contacts.models import Account, Contact, CustomAttribute, ImportJob
from contacts.validation import attribute_definitions, coerce_attribute, is_valid_time_zone

# Built-in contact fields an import may set, with their labels.
CONTACT_FIELDS = [
    "email", "first_name", "last_name", "phone", "job_title", "country", "state", "city",
    "time_zone", "language", "birthday",
]
MAX_REPORTED_ERRORS = 1000
STALLED_AFTER = timedelta(minutes=2)
ERROR_IF_EMPTY = "The file is empty: expected a header row with column names."


def import_targets() -> dict[str, str]:
    """Everything a CSV column can map to: target key -> label."""
    targets = {name: str(Contact._meta.get_field(name).verbose_name).capitalize() for name in CONTACT_FIELDS}
    targets["account"] = "Account (by name; created if new)"
    for attribute in CustomAttribute.objects.filter(entity=CustomAttribute.Entity.CONTACT):
        targets[f"attributes.{attribute.key}"] = f"{attribute.label} (custom)"
    return targets


def _normalize(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def suggest_mapping(header: list[str]) -> dict[str, str]:
    """Guess each column's target from its name ('E-mail' -> email, 'Loyalty tier' -> attribute)."""
    by_name: dict[str, str] = {}
    for target, label in import_targets().items():
        by_name[_normalize(target)] = target  # "attributes.loyalty_member", as exports name it
        by_name[_normalize(target.removeprefix("attributes."))] = target
        by_name[_normalize(label.split(" (")[0])] = target
    by_name.update({"emailaddress": "email", "mail": "email", "firstname": "first_name",
                    "lastname": "last_name", "surname": "last_name", "company": "account",
                    "region": "state", "mobile": "phone", "timezone": "time_zone"})
    return {column: by_name.get(_normalize(column), "") for column in header}


def _text_stream(file: File) -> io.TextIOBase:
    file.seek(0)
    return codecs.getreader("utf-8-sig")(file, errors="strict")


def read_header(file: File) -> list[str]:
    """The CSV's column names. ValidationError for an empty, headerless or non-UTF-8 file."""
    try:
        header = next(csv.reader(_text_stream(file)), None)
    except UnicodeDecodeError:
        raise ValidationError({"file": "The file is not UTF-8 text. Save it as 'CSV UTF-8' and retry."}) from None
    except csv.Error as exc:
        raise ValidationError({"file": f"Not a readable CSV file: {exc}"}) from None
    finally:
        file.seek(0)
    if not header or not any(column.strip() for column in header):
        raise ValidationError({"file": ERROR_IF_EMPTY})
    return [column.strip() for column in header]


def _count_rows(file: File) -> int:
    try:
        count = sum(1 for _ in csv.reader(_text_stream(file))) - 1
    except UnicodeDecodeError as exc:
        raise ValidationError({"file": f"The file is not UTF-8 text (byte {exc.start})."}) from None
    except csv.Error as exc:
        raise ValidationError({"file": f"Not a readable CSV file: {exc}"}) from None
    finally:
        file.seek(0)
    return max(count, 0)


def validate_mapping(header: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """Keep mapped columns only; every target known, used once, and email mapped."""
    targets = import_targets()
    errors = []
    cleaned = {}
    for column, target in mapping.items():
        if not target:
            continue
        if column not in header:
            errors.append(f"Column {column!r} is not in the file.")
        elif target not in targets:
            errors.append(f"Column {column!r} maps to unknown field {target!r}.")
        elif target in cleaned.values():
            errors.append(f"Two columns map to {targets[target]!r}; map it once.")
        else:
            cleaned[column] = target
    if "email" not in cleaned.values():
        errors.append("Map a column to Email: contacts are matched (deduplicated) by email.")
    if errors:
        raise ValidationError({"mapping": errors})
    return cleaned


def create_import(
    file: File, *, mapping: dict[str, str] | None, on_duplicate: str, user: Any, now: datetime
) -> ImportJob:
    """Check the file and mapping and store a queued job. Nothing is imported yet."""
    if on_duplicate not in ImportJob.OnDuplicate.values:
        raise ValidationError({"on_duplicate": f"Choose one of {', '.join(ImportJob.OnDuplicate.values)}."})
    header = read_header(file)
    if len(set(header)) != len(header):
        raise ValidationError({"file": "The header has duplicate column names."})
    mapping = validate_mapping(header, suggest_mapping(header) if mapping is None else mapping)
    total_rows = _count_rows(file)
    name = getattr(file, "name", "") or "import.csv"
    job = ImportJob(
        original_name=name.rsplit("/", 1)[-1][:255], mapping=mapping, on_duplicate=on_duplicate,
        total_rows=total_rows, created_by=user if getattr(user, "pk", None) else None,
    )
    job.file.save(job.original_name, file, save=False)
    job.save()
    return job


def start_import(job: ImportJob, *, now: datetime | None = None) -> None:
    """Run a small file now (the page shows the result at once); queue a large one to the worker."""
    if job.total_rows <= settings.WAYMARK_IMPORT_INLINE_ROWS:
        run_import(job.pk, now=now or timezone.now())
        job.refresh_from_db()
    else:
        tasks.run_import.delay_on_commit(job.pk)


def import_contacts_file(path: str, *, mapping: dict[str, str] | None = None, on_duplicate: str = "update",
                         user: Any = None, now: datetime) -> ImportJob:
    """Import a CSV file from disk synchronously (management command, benchmarks)."""
    with open(path, "rb") as handle:
        job = create_import(File(handle, name=path), mapping=mapping, on_duplicate=on_duplicate,
                            user=user, now=now)
    run_import(job.pk, now=now)
    job.refresh_from_db()
    return job


# --- Running a job --------------------------------------------------------------------------
def _claim(job_id: int, *, now: datetime) -> ImportJob | None:
    """Take the job for this worker, or None if it is finished or another worker is on it."""
    claimable = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED) | ImportJob.objects.filter(
        pk=job_id, status=ImportJob.Status.RUNNING, heartbeat_at__lt=now - STALLED_AFTER
    )
    if not claimable.update(status=ImportJob.Status.RUNNING, heartbeat_at=now):
        return None
    return ImportJob.objects.get(pk=job_id)


def run_import(job_id: int, *, now: datetime) -> int:
    """Import the job's remaining rows; return how many rows were read. Safe to call twice."""
    job = _claim(job_id, now=now)
    if job is None:
        return 0
    try:
        return _run_claimed(job, now=now)
    except Exception as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, failure=f"{exc.__class__.__name__}: {exc}", finished_at=now
        )
        raise


def _run_claimed(job: ImportJob, *, now: datetime) -> int:
    chunk_size = settings.WAYMARK_IMPORT_CHUNK_SIZE
    definitions = attribute_definitions("contact")
    read = 0
    with job.file.open("rb") as handle:
        reader = csv.reader(_text_stream(handle))
        header = [column.strip() for column in next(reader)]
        rows = itertools.islice(enumerate(reader, start=2), job.rows_done, None)  # row 1 is the header
        while chunk := list(itertools.islice(rows, chunk_size)):
            plan = _plan_chunk(job, header, chunk, definitions)
            with transaction.atomic():
                _write_chunk(job, plan, now=now)
            read += len(chunk)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DONE, finished_at=now)
    return read


@dataclass
class ChunkPlan:
    rows: int = 0
    new: dict[str, dict[str, Any]] = field(default_factory=dict)  # email -> values
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def _parse_row(header: list[str], row: list[str], mapping: dict[str, str],
               definitions: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A row's values by target, and its errors by target."""
    if len(row) != len(header):
        return {}, {"row": f"has {len(row)} columns, the header has {len(header)}"}
    values: dict[str, Any] = {"attributes": {}}
    errors: dict[str, str] = {}
    for column, raw in zip(header, row, strict=False):
        target = mapping.get(column)
        if not target:
            continue
        raw = raw.strip()
        try:
            if target.startswith("attributes."):
                key = target.removeprefix("attributes.")
                value = coerce_attribute(definitions[key], raw)
                if value is not None:
                    values["attributes"][key] = value
            elif target == "account":
                values["account"] = raw[:200]
            else:
                model_field = Contact._meta.get_field(target)
                value = model_field.clean(raw or None if model_field.null else raw, None)
                if target == "time_zone" and value and not is_valid_time_zone(value):
                    raise ValidationError(f"unknown time zone {value!r}")
                values[target] = value
        except (ValidationError, ValueError) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            errors[target] = " ".join(messages)
    if not values.get("email") and "email" not in errors:
        errors["email"] = "is required (contacts are matched by email)"
    missing = [k for k, d in definitions.items() if d.required and f"attributes.{k}" in mapping.values()
               and k not in values["attributes"] and f"attributes.{k}" not in errors]
    for key in missing:
        errors[f"attributes.{key}"] = "is required"
    return values, errors


def _plan_chunk(job: ImportJob, header: list[str], chunk: list[tuple[int, list[str]]],
                definitions: dict[str, Any]) -> ChunkPlan:
    plan = ChunkPlan(rows=len(chunk))
    parsed = []
    for number, row in chunk:
        if not row:
            plan.skipped += 1  # blank line; a row of empty cells is reported below (email is required)
            continue
        values, errors = _parse_row(header, row, job.mapping, definitions)
        if errors:
            plan.errors.append({"row": number, "errors": errors})
        else:
            parsed.append(values)
    existing = set(by_emails([v["email"] for v in parsed]).values_list("email", flat=True))
    for values in parsed:
        email = values["email"]
        known = email in existing or email in plan.updates
        target = plan.updates if known else plan.new
        if email in target and job.on_duplicate == ImportJob.OnDuplicate.UPDATE:
            _merge(target[email], values)  # the same email twice in the file: later values win
        elif (known or email in target) and job.on_duplicate == ImportJob.OnDuplicate.SKIP:
            plan.skipped += 1
        else:
            target[email] = values
    return plan


def _merge(into: dict[str, Any], values: dict[str, Any]) -> None:
    attributes = {**into.get("attributes", {}), **values.get("attributes", {})}
    into.update(values)
    into["attributes"] = attributes


def _accounts_by_name(names: set[str]) -> dict[str, Account]:
    names.discard("")
    accounts = {a.name.lower(): a for a in Account.objects.filter(name__in=names)}
    missing = [Account(name=n) for n in sorted(names) if n.lower() not in accounts]
    for account in Account.objects.bulk_create(missing):
        accounts[account.name.lower()] = account
    report_records_changed("account", [a.pk for a in missing], created=True)
    return accounts


def _write_chunk(job: ImportJob, plan: ChunkPlan, *, now: datetime) -> None:
    accounts = _accounts_by_name({v.get("account", "") for v in [*plan.new.values(), *plan.updates.values()]})

    def apply(contact: Contact, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name == "attributes":
                contact.attributes = {**(contact.attributes or {}), **value}
            elif name == "account":
                contact.account = accounts.get(value.lower()) if value else None
            else:
                setattr(contact, name, value)

    created = []
    for values in plan.new.values():
        contact = Contact()
        apply(contact, values)
        created.append(contact)
    insert_contacts(created)

    fields: set[str] = set()
    updated = list(by_emails(list(plan.updates)).select_for_update())
    for contact in updated:
        values = plan.updates[contact.email]
        apply(contact, values)
        fields.update(name for name, value in values.items() if name != "email" and value != {})
    if updated:
        Contact.objects.bulk_update(updated, sorted(fields | {"updated_at"}), batch_size=1000)

    job.rows_done += plan.rows
    job.created_count += len(created)
    job.updated_count += len(updated)
    job.skipped_count += plan.skipped
    job.error_count += len(plan.errors)
    room = MAX_REPORTED_ERRORS - len(job.errors)
    job.errors = job.errors + plan.errors[: max(room, 0)]
    job.heartbeat_at = now
    job.save(update_fields=["rows_done", "created_count", "updated_count", "skipped_count",
                            "error_count", "errors", "heartbeat_at"])
    report_people_changed(contact_ids=[c.pk for c in created], fields=fields | {"email"}, created=True)
    report_people_changed(contact_ids=[c.pk for c in updated], fields=fields)


def by_emails(emails: list[str]):
    """Contacts with these (lower-case) emails, found through the unique index on lower(email)."""
    return Contact.objects.alias(email_key=Lower("email")).filter(email_key__in=emails)


def insert_contacts(contacts: list[Contact]) -> None:
    """Insert new contacts and set their ids. PostgreSQL gets them by COPY (about 5 times faster
    than a multi-row INSERT for large chunks); other databases by bulk_create."""
    if not contacts:
        return
    if connection.vendor != "postgresql":
        Contact.objects.bulk_create(contacts, batch_size=1000)
        return
    now = timezone.now()
    fields = [f for f in Contact._meta.concrete_fields if not f.primary_key]
    for contact in contacts:
        contact.created_at = contact.updated_at = now
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {Contact._meta.db_table} ({columns}) FROM STDIN") as copy:
            for contact in contacts:
                copy.write_row([_copy_value(f, contact) for f in fields])
        cursor.execute(f"SELECT email, id FROM {Contact._meta.db_table} WHERE lower(email) = ANY(%s)",
                       [[c.email for c in contacts]])
        ids = dict(cursor.fetchall())
    for contact in contacts:
        contact.pk = ids[contact.email]
        contact._state.adding = False


def _copy_value(field: Any, contact: Contact) -> Any:
    value = getattr(contact, field.attname)
    if isinstance(field, JSONField):  # COPY takes the JSON text itself
        return json.dumps(value)
    return value  # values were cleaned by the model fields already; psycopg adapts them


def resume_stalled_imports(*, now: datetime) -> int:
    """Re-queue jobs whose worker vanished (queued long ago, or running with an old heartbeat)."""
    stalled = list(
        ImportJob.objects.filter(status=ImportJob.Status.QUEUED, created_at__lt=now - STALLED_AFTER).values_list(
            "pk", flat=True
        )
    ) + list(
        ImportJob.objects.filter(
            status=ImportJob.Status.RUNNING, heartbeat_at__lt=now - STALLED_AFTER
        ).values_list("pk", flat=True)
    )
    for job_id in stalled:
        tasks.run_import.delay(job_id)
    return len(stalled)


def iter_rows(job: ImportJob) -> Iterator[list[str]]:
    """The job's CSV rows (header included), for previews."""
    with job.file.open("rb") as handle:
        yield from csv.reader(_text_stream(handle))
