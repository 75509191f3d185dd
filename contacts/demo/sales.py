"""Demo sales work: opportunities in every stage and status, a sales queue and a few tasks."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from contacts.demo import catalog
from contacts.demo.people import Profile
from contacts.models import Account, Lead, Opportunity, SalesQueue, Task

Stage, Status = Opportunity.Stage, Opportunity.Status
# Every stage while open, and closed ones won and lost: the first rows cover them all.
COMBINATIONS = [(Stage.QUALIFY, Status.OPEN), (Stage.DEVELOP, Status.OPEN), (Stage.PROPOSE, Status.OPEN),
                (Stage.CLOSE, Status.OPEN), (Stage.CLOSE, Status.WON), (Stage.PROPOSE, Status.LOST),
                (Stage.QUALIFY, Status.LOST), (Stage.DEVELOP, Status.LOST)]
COMBINATION_WEIGHTS = [14, 12, 10, 6, 18, 6, 5, 4]


def _opportunity(rng: random.Random, *, account: Account | None, contact, stage: str, status: str,
                 now: datetime, owner) -> Opportunity:
    if status == Status.OPEN:
        close_date = (now + timedelta(days=rng.randint(7, 120))).date()
    else:
        close_date = (now - timedelta(days=rng.randint(1, 200))).date()
    return Opportunity(
        name=f"{(account.name if account else contact.full_name)} – {rng.choice(catalog.LEAD_TOPICS)}",
        account=account, contact=contact, stage=stage, status=status, owner=owner, close_date=close_date,
        estimated_revenue=Decimal(rng.randrange(2_000, 250_000, 250)),
    )


def create_opportunities(rng: random.Random, profiles: list[Profile], accounts: list[Account], *,
                         now: datetime, owner) -> list[Opportunity]:
    """One to four per customer account, plus an open one for each person planned to have one."""
    people_by_account: dict[int, list] = {}
    for profile in profiles:
        if profile.contact.account_id:
            people_by_account.setdefault(profile.contact.account_id, []).append(profile.contact)
    opportunities = []
    for account in accounts:
        if account.name == catalog.DEMO_MARKER_ACCOUNT:
            continue
        for _ in range(rng.randint(1, 4)):
            n = len(opportunities)
            stage, status = COMBINATIONS[n] if n < len(COMBINATIONS) else rng.choices(
                COMBINATIONS, weights=COMBINATION_WEIGHTS)[0]
            contact = rng.choice(people_by_account[account.pk]) if rng.random() < 0.8 else None
            opportunities.append(_opportunity(rng, account=account, contact=contact, stage=stage, status=status,
                                              now=now, owner=owner))
    for profile in profiles:
        if profile.open_opportunity:
            contact = profile.contact
            opportunities.append(_opportunity(rng, account=contact.account, contact=contact, stage=Stage.PROPOSE,
                                              status=Status.OPEN, now=now, owner=owner))
    return Opportunity.objects.bulk_create(opportunities)


def create_sales_work(rng: random.Random, opportunities: list[Opportunity], leads: list[Lead], *,
                      now: datetime, sales_user, marketer) -> list[Task]:
    """An "Inside sales" queue the sales user works, and tasks: theirs, the queue's, some done."""
    queue, _ = SalesQueue.objects.get_or_create(
        name="Inside sales", defaults={"description": "New web leads and office coffee inquiries"}
    )
    queue.members.add(sales_user)
    open_deals = [o for o in opportunities if o.status == Status.OPEN and o.contact_id]
    new_leads = [lead for lead in leads if lead.status in (Lead.Status.NEW, Lead.Status.CONTACTED)]
    tasks = []
    for i, opportunity in enumerate(open_deals[:6]):  # the sales user's own follow-ups, two overdue
        tasks.append(Task(contact=opportunity.contact, opportunity=opportunity, assigned_to=sales_user,
                          subject=f"Follow up on {opportunity.name}", priority=Task.Priority.HIGH if i < 2 else
                          Task.Priority.NORMAL, due_at=now + timedelta(days=i - 2, hours=3), created_by=marketer,
                          created_at=now - timedelta(days=rng.uniform(3, 20)), source="manual"))
    for lead in new_leads[:5]:  # unclaimed, for whoever in the queue picks them up
        tasks.append(Task(lead=lead, queue=queue, subject=f"Call {lead.full_name} ({lead.company})",
                          due_at=now + timedelta(days=rng.randint(0, 5)), created_by=marketer,
                          created_at=now - timedelta(days=rng.uniform(0, 5)), source="journey"))
    for opportunity in open_deals[6:9]:
        created = now - timedelta(days=rng.uniform(10, 40))
        tasks.append(Task(contact=opportunity.contact, opportunity=opportunity, assigned_to=sales_user,
                          subject=f"Send a tasting kit to {opportunity.contact.full_name}", due_at=created
                          + timedelta(days=3), status=Task.Status.DONE, completed_at=created + timedelta(days=2),
                          created_at=created, created_by=sales_user, source="manual"))
    return Task.objects.bulk_create(tasks)
