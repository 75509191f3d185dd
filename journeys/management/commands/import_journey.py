"""Read a journey document (YAML or JSON) into a draft, as the API's and the admin's import do:
the diff first, every problem with its path, nothing saved when there is one."""

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from journeys import portable
from journeys.models import Journey


class Command(BaseCommand):
    help = ("Import a journey document (YAML or JSON, as export_journey writes it) as a new draft, or over the "
            "draft --journey. Prints the changes; --dry-run saves nothing.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="The document; - reads standard input")
        parser.add_argument("--dry-run", action="store_true", help="Only show the changes and problems")
        parser.add_argument("--user", help="Username recorded as the new journey's creator")
        parser.add_argument("--journey", type=int, help="Overwrite this draft journey (id) instead of creating one")

    def handle(self, *args, file: Path, dry_run: bool, journey: int | None, user: str | None, **options) -> None:
        if str(file) == "-":
            text = sys.stdin.read()
        elif not file.is_file():
            raise CommandError(f"No such file: {file}")
        else:
            text = file.read_bytes()
        target = None
        if journey is not None:
            target = Journey.objects.filter(pk=journey).first()
            if target is None:
                raise CommandError(f"No journey with id {journey}.")
        author = None
        if user:
            author = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: user}).first()
            if author is None:
                raise CommandError(f"No user with username {user!r}.")
        result = portable.import_journey(text, now=timezone.now(), user=author, dry_run=dry_run, journey=target)
        for line in result.changes:
            self.stdout.write(line)
        if not result.ok:
            raise CommandError("Nothing imported:\n" + "\n".join(f"  {error}" for error in result.errors))
        for tile, messages in result.validation.items():
            self.stdout.write(f"before going live, {tile or 'journey'}: {' '.join(messages)}")
        if dry_run:
            self.stdout.write("Dry run: nothing saved.")
        else:
            verb = "Created" if result.created else "Updated"
            self.stdout.write(self.style.SUCCESS(f"{verb} draft journey {result.journey.pk} “{result.journey}”."))
