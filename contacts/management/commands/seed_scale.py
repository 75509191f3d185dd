"""Generate benchmark-scale contacts and interactions (set-based SQL on PostgreSQL)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from contacts.demo import scale


class Command(BaseCommand):
    help = (
        "Add generated contacts (scale<n>@scale.example.com) with interactions over 120 days, for "
        "benchmarks. Safe next to demo or real data; --reset removes the previous scale rows first."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--contacts", type=int, default=1_000_000)
        parser.add_argument("--interactions", type=int, default=10_000_000)
        parser.add_argument("--purchases-share", type=float, default=0.1,
                            help="Share of interactions that are purchases (default 0.1)")
        parser.add_argument("--reset", action="store_true", help="Delete earlier scale rows first")

    def handle(self, *args, contacts: int, interactions: int, purchases_share: float, reset: bool,
               **options) -> None:
        if contacts < 0 or interactions < 0:
            raise CommandError("--contacts and --interactions cannot be negative.")
        if interactions and not contacts:
            raise CommandError("Interactions need contacts: give --contacts too.")
        if connection.vendor != "postgresql" and contacts + interactions > 200_000:
            self.stderr.write("Warning: without PostgreSQL rows are generated in Python; this will be slow.")
        def log(message: str) -> None:
            self.stdout.write(message)
            self.stdout.flush()

        try:
            timings = scale.seed_scale(contacts=contacts, interactions=interactions, now=timezone.now(),
                                       purchases_share=purchases_share, reset=reset, log=log)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        total = sum(timings.values())
        self.stdout.write(self.style.SUCCESS(
            f"Seeded {contacts:,} contacts and {interactions:,} interactions in {total:.1f} s "
            f"({', '.join(f'{k} {v:.2f}' for k, v in timings.items())})."
        ))
