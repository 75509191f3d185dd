"""Demo accounts, contacts and leads, each contact with a profile that drives its timeline.

A profile is the plan of one person's behaviour (purchases, email engagement, consent); the
timeline and consent modules turn it into rows. Planting puts a handful of people squarely
into the example segments, so every one of them has members however the dice fall.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import models
from django.utils.text import slugify

from contacts.demo import catalog
from contacts.hooks import report_people_changed
from contacts.models import Account, Contact, CustomAttribute, Lead, Topic

BATCH_SIZE = 500


@dataclass
class Profile:
    contact: Contact
    engagement: float  # the chance of opening an email
    purchases: list[tuple[float, str]] = field(default_factory=list)  # (days ago, product)
    consent: str = "none"  # opted_in, pending, opted_out or none
    consent_days_ago: float = 0.0  # when the current email consent was recorded
    opted_in_days_ago: float | None = None  # when they first opted in to email, if ever
    clicks: list[tuple[str, str]] = field(default_factory=list)  # (email key, link) surely opened + clicked
    open_opportunity: bool = False

    def subscribed(self, days_ago: float) -> bool:
        """Were they effectively opted in to email `days_ago` days ago?"""
        if self.opted_in_days_ago is None or self.consent == "pending" or self.opted_in_days_ago < days_ago:
            return False
        return self.consent != "opted_out" or days_ago > self.consent_days_ago

    @property
    def country(self) -> str:
        return self.contact.country

    @property
    def state(self) -> str:
        return self.contact.state

    @property
    def loyal(self) -> bool:
        return bool(self.contact.attributes.get("loyalty_member"))


def weighted(rng: random.Random, weights: dict[str, int | float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def batches(items: list, size: int = BATCH_SIZE) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def person_fields(model: type[models.Model]) -> set[str]:
    return {f.name for f in model._meta.concrete_fields if not f.primary_key} - {"created_at", "updated_at"}


# --- Definitions ---------------------------------------------------------------------------------
def ensure_definitions() -> dict[str, Topic]:
    """The loyalty attributes and the Newsletter and Events topics (reused if they exist)."""
    CustomAttribute.objects.get_or_create(
        entity=CustomAttribute.Entity.CONTACT, key="loyalty_member",
        defaults={"label": "Loyalty member", "type": CustomAttribute.Type.BOOLEAN},
    )
    CustomAttribute.objects.get_or_create(
        entity=CustomAttribute.Entity.CONTACT, key="loyalty_tier",
        defaults={"label": "Loyalty tier", "type": CustomAttribute.Type.CHOICE, "choices": catalog.LOYALTY_TIERS},
    )
    newsletter, _ = Topic.objects.get_or_create(
        key="newsletter", defaults={"name": "Newsletter", "description": "Recipes, blends and stories, monthly"}
    )
    events, _ = Topic.objects.get_or_create(
        key="events", defaults={"name": "Events", "description": "Tastings and masterclasses near you",
                                "requires_opt_in": True}
    )
    return {"newsletter": newsletter, "events": events}


# --- Accounts --------------------------------------------------------------------------------------
def account_domain(account: Account) -> str:
    return f"{slugify(account.name)}.example"


def create_accounts(rng: random.Random, *, owner) -> list[Account]:
    accounts = []
    for name, industry, country, size in catalog.ACCOUNTS:
        state, city, _ = _place_in(rng, country)
        revenue = {"small": 2, "medium": 40, "large": 900, "enterprise": 12000}[size] * rng.randint(80, 120)
        accounts.append(Account(
            name=name, industry=industry, country=country, region=state, city=city, size=size,
            website=f"https://{slugify(name)}.example", annual_revenue=revenue * 10_000, owner=owner,
        ))
    return Account.objects.bulk_create(accounts)


# --- Contacts --------------------------------------------------------------------------------------
def _place_in(rng: random.Random, country: str) -> tuple[str, str, str]:
    states = catalog.PLACES[country][3]
    state, _, time_zone, cities = rng.choices(states, weights=[s[1] for s in states])[0]
    return state, rng.choice(cities), time_zone


def _random_country(rng: random.Random) -> str:
    return weighted(rng, {country: spec[0] for country, spec in catalog.PLACES.items()})


def _new_contact(rng: random.Random, n: int, account: Account | None, *, owner) -> Contact:
    if account is not None and rng.random() < 0.8:
        country = account.country
    else:
        country = _random_country(rng)
    _, language, phone_prefix, _ = catalog.PLACES[country]
    state, city, time_zone = _place_in(rng, country)
    if state == "Quebec":
        language = "fr"
    first, last = rng.choice(catalog.FIRST_NAMES[language]), rng.choice(catalog.LAST_NAMES[language])
    domain = account_domain(account) if account else rng.choice(catalog.CONSUMER_DOMAINS)
    loyal = rng.random() < (0.2 if account else 0.6)
    attributes = {"loyalty_member": loyal}
    if loyal:
        attributes["loyalty_tier"] = weighted(rng, {"bronze": 55, "silver": 30, "gold": 15})
    return Contact(
        first_name=first, last_name=last, email=f"{first}.{last}.{n}@{domain}".replace(" ", "").lower(),
        phone=f"{phone_prefix} {rng.randint(200, 989)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        job_title=rng.choice(catalog.JOB_TITLES) if account else "", country=country, state=state, city=city,
        time_zone=time_zone, language=language, account=account, attributes=attributes,
        owner=owner if account else None,
        birthday=None if rng.random() < 0.7 else datetime(rng.randint(1960, 2002), rng.randint(1, 12),
                                                           rng.randint(1, 28)).date(),
    )


def _new_profile(rng: random.Random, contact: Contact) -> Profile:
    profile = Profile(contact=contact, engagement=rng.uniform(0.1, 0.75))
    roll = rng.random()
    profile.consent = "opted_in" if roll < 0.70 else "pending" if roll < 0.78 else "opted_out" if roll < 0.9 else "none"
    profile.consent_days_ago = {"opted_in": rng.uniform(125, 700), "pending": rng.uniform(0, 20),
                                "opted_out": rng.uniform(1, 110), "none": 0.0}[profile.consent]
    if profile.consent == "opted_in":
        profile.opted_in_days_ago = profile.consent_days_ago
    elif profile.consent == "opted_out":
        profile.opted_in_days_ago = profile.consent_days_ago + rng.uniform(130, 500)
    if rng.random() < 0.65:  # a customer
        lapsed = rng.random() < 0.15
        for _ in range(rng.randint(1, 6)):
            days_ago = rng.uniform(61, 119.9) if lapsed else rng.uniform(0, 119.9)
            product = weighted(rng, {name: spec[0] for name, spec in catalog.PRODUCTS.items()})
            if product == catalog.CONCENTRATE and days_ago > catalog.CONCENTRATE_LAUNCHED_DAYS_AGO:
                product = catalog.COLD_BREW  # the concentrate is new
            profile.purchases.append((days_ago, product))
    return profile


def plan_contacts(rng: random.Random, accounts: list[Account], *, count: int, owner) -> list[Profile]:
    """`count` contacts; every account gets at least two, about a third are consumers."""
    profiles = []
    for n in range(1, count + 1):
        if n <= 2 * len(accounts):
            account = accounts[(n - 1) % len(accounts)]
        else:
            account = None if rng.random() < catalog.CONSUMER_SHARE else rng.choice(accounts)
        profiles.append(_new_profile(rng, _new_contact(rng, n, account, owner=owner)))
    plant_segment_members(rng, profiles)
    return profiles


def plant_segment_members(rng: random.Random, profiles: list[Profile]) -> None:
    """Make sure each example segment of the demo has members (and some near misses)."""
    def where(predicate, k: int) -> list[Profile]:
        return [p for p in profiles if predicate(p)][:k]

    for p in where(lambda p: p.country == "Sweden", 8):  # purchase in 90 days + open opportunity
        p.purchases.append((rng.uniform(2, 80), "espresso beans"))
        p.open_opportunity = True
    texas = where(lambda p: p.state == "Texas", 14)
    for i, p in enumerate(texas):  # loyal, cold brew in 90 days; the first ten without the concentrate
        p.contact.attributes = {"loyalty_member": True, "loyalty_tier": catalog.LOYALTY_TIERS[i % 3]}
        p.purchases = [(d, product) for d, product in p.purchases if product != catalog.CONCENTRATE]
        p.purchases.append((rng.uniform(2, 80), catalog.COLD_BREW))
        if i >= 10:
            p.purchases.append((rng.uniform(2, 40), catalog.CONCENTRATE))
    for i, p in enumerate(where(lambda p: p.state == "North Dakota", 10)):  # opened + clicked the launch
        p.consent = "opted_in"
        p.consent_days_ago = p.opted_in_days_ago = rng.uniform(125, 700)
        other_link = catalog.EMAILS[catalog.LAUNCH_EMAIL][1][1]
        p.clicks.append((catalog.LAUNCH_EMAIL, catalog.LAUNCH_LINK if i < 7 else other_link))
    lapsed = where(lambda p: p.country in {"Germany", "United Kingdom", "Canada"} and p.purchases, 12)
    for p in lapsed:  # customers who have not purchased in the last 60 days
        p.purchases = [(rng.uniform(62, 119), product if product != catalog.CONCENTRATE else catalog.COLD_BREW)
                       for _, product in p.purchases]


def create_contacts(profiles: list[Profile], *, now: datetime, rng: random.Random) -> list[Contact]:
    """Insert the planned contacts in batches, spread their creation dates, report each batch."""
    contacts = [p.contact for p in profiles]
    for batch in batches(contacts):
        Contact.objects.bulk_create(batch)
        report_people_changed(contact_ids=[c.pk for c in batch], fields=person_fields(Contact), created=True)
    for contact in contacts:  # auto_now_add stamped them all now; most customers are older
        contact.created_at = now - timedelta(days=rng.uniform(0, 120) if rng.random() < 0.25 else rng.uniform(120, 900))
    Contact.objects.bulk_update(contacts, ["created_at"], batch_size=BATCH_SIZE)
    return contacts


# --- Leads -----------------------------------------------------------------------------------------
def create_leads(rng: random.Random, profiles: list[Profile], *, count: int, now: datetime, owner) -> list[Lead]:
    """Leads in every status; qualified ones point at the contact and account they became."""
    statuses = {Lead.Status.NEW: 35, Lead.Status.CONTACTED: 25, Lead.Status.QUALIFIED: 25,
                Lead.Status.DISQUALIFIED: 15}
    with_account = [p.contact for p in profiles if p.contact.account_id]
    leads = []
    for n in range(1, count + 1):
        status = list(statuses)[n - 1] if n <= len(statuses) else weighted(rng, statuses)
        source = rng.choice(catalog.LEAD_SOURCES)
        lead = Lead(status=status, source=source, topic=rng.choice(catalog.LEAD_TOPICS), owner=owner)
        if status == Lead.Status.QUALIFIED:
            contact = rng.choice(with_account)
            lead.contact, lead.account, lead.company = contact, contact.account, contact.account.name
            lead.first_name, lead.last_name, lead.email = contact.first_name, contact.last_name, contact.email
            lead.country, lead.state, lead.city = contact.country, contact.state, contact.city
            lead.qualified_at = now - timedelta(days=rng.uniform(1, 100))
        else:
            lead.company = rng.choice(catalog.LEAD_COMPANIES)
            lead.country = _random_country(rng)
            language = catalog.PLACES[lead.country][1]
            lead.state, lead.city, lead.time_zone = _place_in(rng, lead.country)
            lead.first_name = rng.choice(catalog.FIRST_NAMES[language])
            lead.last_name = rng.choice(catalog.LAST_NAMES[language])
            lead.email = f"{lead.first_name}.{lead.last_name}.lead{n}@{slugify(lead.company)}.example".lower()
        leads.append(lead)
    for batch in batches(leads):
        Lead.objects.bulk_create(batch)
        report_people_changed(lead_ids=[lead.pk for lead in batch], fields=person_fields(Lead), created=True)
    return leads
