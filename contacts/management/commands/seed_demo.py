"""Seed the Contoso Coffee demo data and demo users (once; a second run adds nothing)."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse
from django.utils import timezone

from contacts import demo


class Command(BaseCommand):
    help = "Create the Contoso Coffee demo data and the admin, marketer and sales demo users."

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        result = demo.seed_demo(now=now)
        # Segments, emails and journeys built on the people data (each found by name, so idempotent).
        from journeys import demo as journeys_demo

        journeys_demo.ensure_journeys(now=now)
        if result.seeded:
            counts = ", ".join(f"{count:,} {name}" for name, count in result.counts.items())
            self.stdout.write(self.style.SUCCESS(f"Seeded Contoso Coffee: {counts}."))
        else:
            self.stdout.write("Contoso Coffee demo data is already seeded; nothing added.")
        for spec in demo.DEMO_USERS:
            state = "created" if spec.username in result.users_created else "exists"
            self.stdout.write(f"  {spec.role:<9} login {spec.username} / {spec.password} ({state})")
        self.stdout.write(f"Sign in at {settings.SITE_URL}{reverse('login')}")
