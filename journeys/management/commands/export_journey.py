"""Write a journey as a document (journeys as code), as the API's and the admin's export do."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from journeys import portable
from journeys.models import Journey


class Command(BaseCommand):
    help = ("Export a journey with its entry, governance and tiles as a YAML (default) or JSON document, "
            "references by key or name. Writes to standard output, or to --output.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("journey", type=int, help="Journey id")
        parser.add_argument("--format", choices=["yaml", "json"], default="yaml")
        parser.add_argument("--journey-version", type=int, dest="journey_version",
                            help="Export the tiles frozen in this version number (default: the draft)")
        parser.add_argument("--output", "-o", type=Path, help="Write to this file instead of standard output")

    def handle(self, *args, journey: int, format: str, journey_version: int | None, output: Path | None,
               **options) -> None:
        found = Journey.objects.filter(pk=journey).first()
        if found is None:
            raise CommandError(f"No journey with id {journey}.")
        frozen = None
        if journey_version is not None:
            frozen = found.versions.filter(number=journey_version).first()
            if frozen is None:
                raise CommandError(f"“{found}” has no version {journey_version}.")
        text = portable.dumps(portable.export_journey(found, version=frozen), format)
        if output is None:
            self.stdout.write(text, ending="")
        else:
            output.write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote “{found}” to {output}.")
