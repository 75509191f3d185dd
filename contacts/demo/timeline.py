"""120 days of demo interactions: email engagement, purchases, web visits, forms and events."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from contacts.demo import catalog
from contacts.demo.people import Profile, batches
from contacts.models import Interaction, InteractionType, Lead

T = InteractionType
DAYS = 120


class Timeline:
    def __init__(self, rng: random.Random, *, now: datetime) -> None:
        self.rng, self.now = rng, now
        self.rows: list[Interaction] = []

    def at(self, days_ago: float, *, hours_later: float = 0.0) -> datetime:
        """A moment `days_ago` (plus some hours), never in the future nor older than the window."""
        moment = self.now - timedelta(days=min(days_ago, DAYS - 0.01)) + timedelta(hours=hours_later)
        return min(moment, self.now - timedelta(minutes=1))

    def add(self, person, type: str, occurred_at: datetime, source: str, **columns) -> datetime:
        key = "lead" if isinstance(person, Lead) else "contact"
        self.rows.append(Interaction(**{key: person}, type=type, occurred_at=occurred_at, source=source, **columns))
        return occurred_at

    def emails(self, profile: Profile) -> None:
        contact, rng = profile.contact, self.rng
        sure_clicks = dict(profile.clicks)
        for email_key, (days_ago, links) in catalog.EMAILS.items():
            if not profile.subscribed(days_ago):
                continue
            sent = self.add(contact, T.EMAIL_DELIVERED, self.at(days_ago, hours_later=rng.uniform(0, 1.5)), "email",
                            email_key=email_key)
            if email_key in sure_clicks or rng.random() < profile.engagement:
                opened = self.add(contact, T.EMAIL_OPENED, min(sent + timedelta(hours=rng.uniform(0.1, 40)),
                                                               self.now), "email", email_key=email_key)
                link = sure_clicks.get(email_key) or (rng.choice(links) if rng.random() < 0.35 else "")
                if link:
                    clicked = min(opened + timedelta(minutes=rng.uniform(0.2, 20)), self.now)
                    self.add(contact, T.EMAIL_CLICKED, clicked, "email", email_key=email_key, link=link)
        if profile.consent == "opted_out" and profile.consent_days_ago < DAYS:
            sent_before = [k for k, (d, _) in catalog.EMAILS.items() if d >= profile.consent_days_ago]
            last_email = min(sent_before, key=lambda k: catalog.EMAILS[k][0], default="")
            self.add(contact, T.EMAIL_UNSUBSCRIBED, self.at(profile.consent_days_ago), "email", email_key=last_email)

    def purchases(self, profile: Profile) -> None:
        for days_ago, product in profile.purchases:
            low, high = catalog.PRODUCTS[product][1]
            quantity = self.rng.choice([1, 1, 1, 2, 3])
            amount = (low + (high - low) * Decimal(self.rng.random())).quantize(Decimal("0.01")) * quantity
            self.add(profile.contact, T.PURCHASE, self.at(days_ago), "shop", product=product, amount=amount,
                     properties={"quantity": quantity, "channel": self.rng.choice(["online", "store"])})

    def web(self, person, *, visits: int, form: str | None) -> None:
        for _ in range(visits):
            page = self.rng.choice(catalog.PAGES)
            self.add(person, T.PAGE_VISITED, self.at(self.rng.uniform(0, DAYS)), "website", link=catalog.SITE + page)
        if form:
            path = catalog.FORMS[form]
            self.add(person, T.FORM_SUBMITTED, self.at(self.rng.uniform(0, DAYS)), "website",
                     link=catalog.SITE + path, properties={"form": form})

    def events(self, profile: Profile) -> None:
        if self.rng.random() >= 0.12:
            return
        name, days_ago = self.rng.choice(list(catalog.EVENTS.items()))
        props = {"event": name}
        self.add(profile.contact, T.EVENT_REGISTERED, self.at(days_ago + self.rng.uniform(3, 30)), "events",
                 properties=props)
        if self.rng.random() < 0.7:
            self.add(profile.contact, T.EVENT_ATTENDED, self.at(days_ago, hours_later=18), "events", properties=props)


def create_interactions(rng: random.Random, profiles: list[Profile], leads: list[Lead], *, now: datetime) -> int:
    timeline = Timeline(rng, now=now)
    for profile in profiles:
        timeline.emails(profile)
        timeline.purchases(profile)
        timeline.web(profile.contact, visits=rng.randint(0, 8),
                     form="newsletter-signup" if rng.random() < 0.15 else None)
        timeline.events(profile)
    for lead in leads:
        form = rng.choice(list(catalog.FORMS)) if lead.source == "web form" else None
        timeline.web(lead, visits=rng.randint(0, 3), form=form)
    for batch in batches(timeline.rows, 2000):
        Interaction.objects.bulk_create(batch)
    return len(timeline.rows)
