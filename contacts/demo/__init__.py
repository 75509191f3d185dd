"""The Contoso Coffee demo: people, consent, sales work and 120 days of behaviour to try Waymark on.

`seed_demo` is deterministic for a given `now` (one `random.Random(42)`) and runs once: the
"Contoso Coffee" account marks a seeded database. Rows are written with bulk_create, which
skips model signals, so each batch of new people is reported to the change hook by hand.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from contacts import roles
from contacts.demo import catalog, consent, forms, people, sales, timeline
from contacts.models import Account

CONTACTS = 500
LEADS = 60


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    superuser: bool = False
    first_name: str = ""
    last_name: str = ""


DEMO_USERS = [
    DemoUser("admin", "waymark-admin", roles.ADMIN, superuser=True, first_name="Adele", last_name="Vance"),
    DemoUser("marketer", "waymark-demo", roles.MARKETER, first_name="Megan", last_name="Bowen"),
    DemoUser("sales", "waymark-demo", roles.SALES, first_name="Diego", last_name="Siciliani"),
]


@dataclass
class SeedResult:
    seeded: bool  # False when the demo data was already there
    users_created: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def is_seeded() -> bool:
    return Account.objects.filter(name=catalog.DEMO_MARKER_ACCOUNT).exists()


def ensure_demo_users() -> tuple[dict[str, object], list[str]]:
    """The demo users by username, creating those missing; existing users are left untouched."""
    User = get_user_model()
    users, created = {}, []
    for spec in DEMO_USERS:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = User.objects.create_user(
                spec.username, email=f"{spec.username}@contoso-coffee.example", password=spec.password,
                first_name=spec.first_name, last_name=spec.last_name,
                is_staff=spec.superuser, is_superuser=spec.superuser,
            )
            user.groups.add(Group.objects.get(name=spec.role))
            created.append(spec.username)
        users[spec.username] = user
    return users, created


def seed_demo(*, now: datetime, contacts: int = CONTACTS, leads: int = LEADS) -> SeedResult:
    """Create the demo users and, unless already seeded, the Contoso Coffee data around `now`."""
    roles.sync_roles()
    with transaction.atomic():
        users, users_created = ensure_demo_users()
        # Forms and the landing page are found by slug, so databases seeded before they existed get them too.
        demo_forms = forms.ensure_forms(now=now)
        if is_seeded():
            return SeedResult(seeded=False, users_created=users_created)
        counts = _seed_data(random.Random(42), users, now=now, contacts=contacts, leads=leads)
        counts["forms"] = sum(isinstance(v, forms.WebForm) for v in demo_forms.values())
    return SeedResult(seeded=True, users_created=users_created, counts=counts)


def _seed_data(rng: random.Random, users: dict, *, now: datetime, contacts: int, leads: int) -> dict[str, int]:
    sales_user, marketer = users["sales"], users["marketer"]
    topics = people.ensure_definitions()
    accounts = people.create_accounts(rng, owner=sales_user)
    profiles = people.plan_contacts(rng, accounts, count=contacts, owner=sales_user)
    people.create_contacts(profiles, now=now, rng=rng)
    lead_rows = people.create_leads(rng, profiles, count=leads, now=now, owner=sales_user)
    opportunities = sales.create_opportunities(rng, profiles, accounts, now=now, owner=sales_user)
    consents, consent_changes = consent.create_consent(rng, profiles, topics, now=now)
    tasks = sales.create_sales_work(rng, opportunities, lead_rows, now=now, sales_user=sales_user, marketer=marketer)
    interactions = timeline.create_interactions(rng, profiles, lead_rows, now=now)
    return {
        "accounts": len(accounts), "contacts": len(profiles), "leads": len(lead_rows),
        "opportunities": len(opportunities), "consents": consents, "consent changes": consent_changes,
        "tasks": len(tasks), "interactions": interactions,
    }
