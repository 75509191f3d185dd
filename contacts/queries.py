"""Reads shared by the marketer pages, the CSV export and the dashboard."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from contacts.models import (
    Account,
    Channel,
    Consent,
    ConsentChange,
    ConsentStatus,
    Contact,
    CustomAttribute,
    ImportJob,
    Interaction,
    Lead,
    Opportunity,
    Task,
    person_keys,
)

Person = Contact | Lead
MAX_SEARCH_TERMS = 5


# --- Dashboard ----------------------------------------------------------------------------------
def dashboard_counts(*, user: Any, now: datetime.datetime) -> dict[str, int]:
    """The dashboard's headline numbers; `my_open_tasks` counts the user's and their queues' tasks."""
    return {
        "contacts": Contact.objects.count(),
        "leads": Lead.objects.count(),
        "accounts": Account.objects.count(),
        "open_opportunities": Opportunity.objects.filter(status=Opportunity.Status.OPEN).count(),
        "my_open_tasks": Task.objects.for_user(user).open().count(),
        "interactions_last_7_days": Interaction.objects.filter(
            occurred_at__gt=now - datetime.timedelta(days=7), occurred_at__lte=now
        ).count(),
    }


def recent_contacts(limit: int = 6) -> QuerySet[Contact]:
    return Contact.objects.select_related("account").order_by("-created_at", "-id")[:limit]


# --- Lists -------------------------------------------------------------------------------------
def _search(queryset: QuerySet, text: str, fields: list[str]) -> QuerySet:
    """Every word of `text` must appear (case-insensitively) in one of `fields`."""
    for term in (text or "").split()[:MAX_SEARCH_TERMS]:
        condition = Q()
        for name in fields:
            condition |= Q(**{f"{name}__icontains": term})
        queryset = queryset.filter(condition)
    return queryset


def _start_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _created_between(queryset: QuerySet, start: datetime.date | None, end: datetime.date | None) -> QuerySet:
    # Whole local days, compared as datetimes so the created_at index stays usable.
    if start:
        queryset = queryset.filter(created_at__gte=_start_of_day(start))
    if end:
        queryset = queryset.filter(created_at__lt=_start_of_day(end + datetime.timedelta(days=1)))
    return queryset


def matching_contacts(filters: dict[str, Any]) -> QuerySet[Contact]:
    """Contacts matching the list filters: q, country, state, industry, owner, created_from/to."""
    contacts = Contact.objects.select_related("account", "owner")
    contacts = _search(contacts, filters.get("q", ""), ["first_name", "last_name", "email", "account__name"])
    for name, lookup in (("country", "country"), ("state", "state"), ("industry", "account__industry")):
        if filters.get(name):
            contacts = contacts.filter(**{lookup: filters[name]})
    if filters.get("owner"):
        contacts = contacts.filter(owner=filters["owner"])
    return _created_between(contacts, filters.get("created_from"), filters.get("created_to"))


def matching_leads(filters: dict[str, Any]) -> QuerySet[Lead]:
    leads = Lead.objects.select_related("owner", "account")
    leads = _search(leads, filters.get("q", ""), ["first_name", "last_name", "email", "company"])
    if filters.get("status"):
        leads = leads.filter(status=filters["status"])
    return leads


def matching_accounts(filters: dict[str, Any]) -> QuerySet[Account]:
    accounts = Account.objects.select_related("owner").annotate(
        contact_count=Count("contacts", distinct=True),
        open_opportunity_count=Count(
            "opportunities", filter=Q(opportunities__status=Opportunity.Status.OPEN), distinct=True
        ),
    )
    accounts = _search(accounts, filters.get("q", ""), ["name", "city", "website"]).order_by("name", "id")
    if filters.get("industry"):
        accounts = accounts.filter(industry=filters["industry"])
    return accounts


def _distinct_values(queryset: QuerySet, field: str) -> list[str]:
    return list(
        queryset.exclude(**{field: ""}).order_by(field).values_list(field, flat=True).distinct()
    )


def contact_filter_options() -> dict[str, list]:
    """The values the contact list's filter menus offer."""
    return {
        "country": _distinct_values(Contact.objects.all(), "country"),
        "state": _distinct_values(Contact.objects.all(), "state"),
        "industry": _distinct_values(Account.objects.all(), "industry"),
    }


def account_industries() -> list[str]:
    return _distinct_values(Account.objects.all(), "industry")


def active_users() -> QuerySet:
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")


# --- One person -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AttributeValue:
    key: str
    label: str
    type: str
    value: Any


def custom_attribute_values(person: Person) -> list[AttributeValue]:
    """Each defined custom attribute of the person's kind, labelled, with the person's value."""
    entity = type(person)._meta.model_name
    values = person.attributes or {}
    return [
        AttributeValue(a.key, a.label, a.type, values.get(a.key))
        for a in CustomAttribute.objects.filter(entity=entity).order_by("label")
    ]


def consent_overview(person: Person) -> list[Consent]:
    """Current consent: each channel's own row (unsaved "not set" if none) followed by its topics."""
    rows = list(Consent.objects.filter(**person_keys(person)).select_related("topic"))
    overview = []
    for channel in Channel:
        channel_rows = [r for r in rows if r.channel == channel]
        own = next((r for r in channel_rows if r.topic_id is None), None)
        overview.append(own or Consent(**person_keys(person), channel=channel, status=ConsentStatus.NOT_SET))
        overview.extend(sorted((r for r in channel_rows if r.topic_id), key=lambda r: r.topic.name))
    return overview


def consent_history(person: Person, limit: int = 25) -> list[ConsentChange]:
    return list(
        ConsentChange.objects.filter(**person_keys(person)).select_related("topic", "changed_by")[:limit]
    )


def timeline_page(person: Person, page: int, per_page: int = 20) -> tuple[list[Interaction], bool]:
    """One page of the person's interactions, newest first, and whether there are more."""
    start = (max(page, 1) - 1) * per_page
    rows = list(Interaction.objects.filter(**person_keys(person))[start : start + per_page + 1])
    return rows[:per_page], len(rows) > per_page


def open_tasks_of(person: Person) -> QuerySet[Task]:
    return (
        Task.objects.filter(**person_keys(person)).open()
        .select_related("contact", "lead", "assigned_to", "queue", "opportunity")
        .order_by(F("due_at").asc(nulls_last=True), "id")
    )


def my_open_tasks(user: Any) -> QuerySet[Task]:
    """Open tasks for the user or their sales queues, soonest due first (undated last)."""
    return (
        Task.objects.for_user(user).open()
        .select_related("contact", "lead", "queue", "assigned_to", "opportunity")
        .order_by(F("due_at").asc(nulls_last=True), "id")
    )


# --- Imports ----------------------------------------------------------------------------------------
def recent_imports(limit: int = 8) -> QuerySet[ImportJob]:
    return ImportJob.objects.select_related("created_by")[:limit]


def import_error_rows(job: ImportJob, labels: dict[str, str]) -> list[dict[str, Any]]:
    """The job's rejected rows as {row, messages: [(label, text)]} for display."""
    rows = []
    for entry in job.errors or []:
        errors = entry.get("errors") or {}
        if not isinstance(errors, dict):
            errors = {"row": errors}
        messages = []
        for target, text in errors.items():
            if isinstance(text, (list, tuple)):
                text = " ".join(str(t) for t in text)
            messages.append((labels.get(target, target.removeprefix("attributes.")), str(text)))
        rows.append({"row": entry.get("row"), "messages": messages})
    return rows


# --- CSV export -----------------------------------------------------------------------------------
EXPORT_FIELDS = [
    "id", "email", "first_name", "last_name", "phone", "job_title", "account", "account_industry",
    "country", "state", "city", "time_zone", "language", "birthday", "owner", "created_at", "updated_at",
]
# A leading =, +, -, @ makes spreadsheets evaluate a cell; phone-like values stay as they are.
_FORMULA = re.compile(r"^[=@\t\r]|^[+-](?![\d\s().-]*$)")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    return "'" + text if _FORMULA.match(text) else text


def contact_export_header(attribute_keys: list[str]) -> list[str]:
    # Custom attributes are headed by their key, which the importer maps back automatically;
    # a key that shadows a built-in column keeps its "attributes." prefix.
    return EXPORT_FIELDS + [key if key not in EXPORT_FIELDS else f"attributes.{key}" for key in attribute_keys]


def contact_export_rows(contacts: QuerySet[Contact], *, chunk_size: int = 2000) -> Iterator[list[str]]:
    """The header, then one row per contact, reading the queryset in chunks."""
    keys = list(
        CustomAttribute.objects.filter(entity=CustomAttribute.Entity.CONTACT).order_by("key")
        .values_list("key", flat=True)
    )
    yield contact_export_header(keys)
    for contact in contacts.order_by("id").iterator(chunk_size=chunk_size):
        owner = contact.owner
        account = contact.account
        values = {
            "account": account.name if account else "",
            "account_industry": account.industry if account else "",
            "owner": owner.get_username() if owner else "",
        }
        row = [_cell(values[name] if name in values else getattr(contact, name)) for name in EXPORT_FIELDS]
        attributes = contact.attributes or {}
        row.extend(_cell(attributes.get(key)) for key in keys)
        yield row
