"""Import contacts from a CSV file, as the import page does, and report every rejected row."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from contacts import imports
from contacts.models import ImportJob


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`["E-mail=email", "Tier=attributes.loyalty_tier"]` -> {column: target}; an empty target ignores."""
    mapping = {}
    for pair in pairs:
        column, sep, target = pair.partition("=")
        if not sep or not column.strip():
            raise CommandError(f"--map {pair!r}: expected column=target, e.g. --map 'E-mail=email'.")
        mapping[column.strip()] = target.strip()
    return mapping


def validation_messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [message for messages in error.message_dict.values() for message in messages]
    return error.messages


class Command(BaseCommand):
    help = (
        "Import contacts from a UTF-8 CSV file, matching existing contacts by email. Columns are mapped "
        "by their names as the import page suggests; --map overrides one column (--map 'Tier=' ignores it)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--on-duplicate", choices=ImportJob.OnDuplicate.values, default="update",
                            help="What to do with a row whose email is already a contact (default: update)")
        parser.add_argument("--map", action="append", default=[], metavar="COLUMN=TARGET",
                            help="Map a CSV column to a contact field or attributes.<key>; repeatable")

    def handle(self, *args, file: Path, on_duplicate: str, map: list[str], **options) -> None:
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        mapping = None
        if map:
            with file.open("rb") as handle:
                try:
                    mapping = imports.suggest_mapping(imports.read_header(File(handle))) | parse_mapping(map)
                except ValidationError as exc:
                    raise CommandError(" ".join(validation_messages(exc))) from exc
        try:
            job = imports.import_contacts_file(str(file), mapping=mapping, on_duplicate=on_duplicate,
                                               now=timezone.now())
        except ValidationError as exc:
            raise CommandError(" ".join(validation_messages(exc))) from exc
        self.report(job)

    def report(self, job: ImportJob) -> None:
        self.stdout.write(
            f"Import {job.pk}: {job.created_count} created, {job.updated_count} updated, "
            f"{job.skipped_count} skipped, {job.error_count} rejected ({job.total_rows} rows)."
        )
        for error in job.errors:
            messages = "; ".join(f"{field}: {message}" for field, message in error["errors"].items())
            self.stdout.write(f"  row {error['row']}: {messages}")
        if job.error_count > len(job.errors):
            self.stdout.write(f"  … and {job.error_count - len(job.errors)} more rejected rows not listed.")
