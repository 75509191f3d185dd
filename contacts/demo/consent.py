"""Demo consent: the current state per contact, channel and topic, with the history behind it.

Rows are what `contacts.services.set_consent` would have left after the same decisions, written
set-based: a double opt-in is a pending opt-in followed by its confirmation, an opt-out is an
opt-in followed by the opt-out.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from contacts.demo.people import Profile
from contacts.models import Channel, Consent, ConsentChange, ConsentStatus, DoubleOptIn, Topic

IN, OUT, NOT_SET = ConsentStatus.OPTED_IN, ConsentStatus.OPTED_OUT, ConsentStatus.NOT_SET
PENDING, CONFIRMED, NOT_REQUIRED = DoubleOptIn.PENDING, DoubleOptIn.CONFIRMED, DoubleOptIn.NOT_REQUIRED


class ConsentWriter:
    """Collects decisions as set_consent would record them, then writes them in two inserts."""

    def __init__(self) -> None:
        self.current: dict[tuple[int, int | None], Consent] = {}
        self.history: list[ConsentChange] = []

    def decide(self, profile: Profile, *, status: str, at: datetime, source: str,
               topic: Topic | None = None, double_opt_in: str = NOT_REQUIRED) -> None:
        contact = profile.contact
        key = (contact.pk, topic.pk if topic else None)
        consent = self.current.get(key)
        old_status = consent.status if consent else NOT_SET
        if consent is None:
            consent = self.current[key] = Consent(contact=contact, channel=Channel.EMAIL, topic=topic)
        consent.status, consent.double_opt_in = status, double_opt_in if status == IN else NOT_REQUIRED
        consent.source, consent.updated_at = source, at
        self.history.append(ConsentChange(
            contact=contact, channel=Channel.EMAIL, topic=topic, old_status=old_status, new_status=status,
            double_opt_in=consent.double_opt_in, source=source, changed_at=at,
            note="Yes, send me news and offers from Contoso Coffee." if status == IN else "",
        ))

    def write(self) -> tuple[int, int]:
        Consent.objects.bulk_create(self.current.values(), batch_size=1000)
        ConsentChange.objects.bulk_create(self.history, batch_size=1000)
        return len(self.current), len(self.history)


def create_consent(rng: random.Random, profiles: list[Profile], topics: dict[str, Topic], *,
                   now: datetime) -> tuple[int, int]:
    """Email consent for most contacts (some opted out, some awaiting confirmation), topics too."""
    writer = ConsentWriter()
    for profile in profiles:
        if profile.opted_in_days_ago is None and profile.consent != "pending":
            continue
        opted_in_at = now - timedelta(days=profile.opted_in_days_ago or profile.consent_days_ago)
        source = rng.choice(["web form", "web form", "store", "event", "import"])
        if profile.consent == "pending" or source == "web form":
            writer.decide(profile, status=IN, at=opted_in_at, source=source, double_opt_in=PENDING)
            if profile.consent != "pending":
                writer.decide(profile, status=IN, at=opted_in_at + timedelta(minutes=rng.uniform(1, 600)),
                              source="double opt-in", double_opt_in=CONFIRMED)
        else:
            writer.decide(profile, status=IN, at=opted_in_at, source=source)
        if profile.consent == "opted_out":
            writer.decide(profile, status=OUT, at=now - timedelta(days=profile.consent_days_ago),
                          source="unsubscribe link")
            continue
        if profile.consent != "opted_in":
            continue
        if rng.random() < 0.6:
            writer.decide(profile, status=IN, at=opted_in_at, source=source, topic=topics["newsletter"])
        roll = rng.random()
        if roll < 0.3:
            writer.decide(profile, status=IN, at=opted_in_at, source=source, topic=topics["events"])
        elif roll < 0.35:
            writer.decide(profile, status=OUT, at=now - timedelta(days=rng.uniform(1, 100)),
                          source="preference center", topic=topics["events"])
    return writer.write()
