"""Record triggers: the people change hook and the record change hook, routed into events.

Both hooks call us after the writing transaction commits, once per save or per import batch.
Each call costs a few statements whatever the batch size: people's events are one INSERT … SELECT
per trigger with the payload built in SQL (`ingest.publish_rows`), the others one bulk insert
(`ingest.publish_many`). Payloads follow the catalog's schemas by construction, so an import of
100,000 people validates none of them one by one (the tests check every payload). Whose event it is:
- contacts and leads: the record itself;
- opportunities: the opportunity's contact (an opportunity without a contact fires nothing);
- accounts: every contact of the account when the change commits (none: nothing fires).
Custom triggers bound to a record change ("Opportunity status changes to won") fire on updates,
for the same person, with the record, field, new value and (for single saves) the previous value.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from django.utils import timezone

from contacts.hooks import PeopleChange, RecordChange
from contacts.models import Account, Contact, Lead, Opportunity
from journeys import ingest
from journeys.ingest import NewEvent
from journeys.models import CustomTrigger

SOURCE = "waymark"


def on_people_changed(change: PeopleChange) -> None:
    publish_people_change(change, now=timezone.now())


def on_records_changed(change: RecordChange) -> None:
    publish_record_change(change, now=timezone.now())


def plain(value: Any) -> Any:
    """A JSON-safe value for payloads."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return value


def _bindings(table: str, fields: set[str]) -> list[CustomTrigger]:
    if not fields:
        return []
    return list(CustomTrigger.objects.filter(kind=CustomTrigger.Kind.RECORD, active=True, record_table=table,
                                             record_field__in=fields))


def _binding_fires(binding: CustomTrigger, value: Any) -> bool:
    if binding.condition == CustomTrigger.Condition.CHANGED_TO:
        return str(plain(value) if value is not None else "").strip().lower() == binding.value.strip().lower()
    return True


def _binding_event(binding: CustomTrigger, *, table: str, record: int, value: Any, previous: Any = None,
                   contact_id: int | None = None, lead_id: int | None = None) -> NewEvent:
    payload = {"record": record, "table": table, "field": binding.record_field, "value": plain(value),
               "previous": plain(previous)}
    return NewEvent(binding.key, payload, contact_id=contact_id, lead_id=lead_id)


def _attname(model, field: str) -> str:
    return model._meta.get_field(field).attname


# --- Contacts and leads -------------------------------------------------------------------------------
def publish_people_change(change: PeopleChange, *, now: datetime.datetime) -> int:
    """contact.created / contact.updated, lead.created / lead.updated / lead.qualified /
    lead.disqualified — each one INSERT … SELECT over the batch — and bound custom triggers."""
    if "deleted" in change.fields:
        return 0
    # Only the person's own fields: the hook also reports their interactions, consent, opportunities.
    fields = sorted(f for f in change.fields if "." not in f)
    published = 0
    for model, table, ids in ((Contact, "contact", change.contact_ids), (Lead, "lead", change.lead_ids)):
        if ids and (change.created or fields):
            published += _publish_person_events(model, table, ids, fields, created=change.created, now=now)
    return published


def _publish_person_events(model, table: str, ids: frozenset[int], fields: list[str], *, created: bool,
                           now: datetime.datetime) -> int:
    people = model.objects.filter(pk__in=ids)
    base = {table: "pk", "email": "email", "first_name": "first_name", "last_name": "last_name"}
    if created:
        extra = {"company": "company", "status": "status", "source": "source"} if model is Lead else {}
        return ingest.publish_rows(f"{table}.created", people, payload={**base, **extra}, source=SOURCE, now=now)
    status = {"status": "status"} if model is Lead else {}
    published = ingest.publish_rows(f"{table}.updated", people, source=SOURCE, now=now,
                                    payload={**base, **status, "fields": ingest.json_value(fields)})
    if model is Lead and "status" in fields:
        for outcome in (Lead.Status.QUALIFIED, Lead.Status.DISQUALIFIED):
            published += ingest.publish_rows(f"lead.{outcome}", people.filter(status=outcome), source=SOURCE,
                                             now=now, payload={**base, "company": "company", "status": "status"})
    bindings = _bindings(table, set(fields))
    if bindings:
        events = _binding_events(model, table, people, bindings)
        ingest.publish_many(events, source=SOURCE, now=now, checked=True)
        published += len(events)
    return published


def _binding_events(model, table: str, people, bindings: list[CustomTrigger]) -> list[NewEvent]:
    columns = {"id", *(_attname(model, b.record_field) for b in bindings)}
    events = []
    for row in people.order_by("pk").values(*columns):
        for binding in bindings:
            value = row[_attname(model, binding.record_field)]
            if _binding_fires(binding, value):
                events.append(_binding_event(binding, table=table, record=row["id"], value=value,
                                             **{f"{table}_id": row["id"]}))
    return events


# --- Opportunities and accounts -----------------------------------------------------------------------
def publish_record_change(change: RecordChange, *, now: datetime.datetime) -> int:
    if change.table == "opportunity":
        events = _opportunity_events(change)
    elif change.table == "account":
        events = _account_events(change)
    else:
        return 0
    if events:
        ingest.publish_many(events, source=SOURCE, now=now, checked=True)
    return len(events)


def opportunity_payload(opportunity: Opportunity) -> dict[str, Any]:
    return {"opportunity": opportunity.pk, "name": opportunity.name, "status": opportunity.status,
            "stage": opportunity.stage, "estimated_revenue": plain(opportunity.estimated_revenue),
            "account": opportunity.account_id, "close_date": plain(opportunity.close_date)}


def _opportunity_events(change: RecordChange) -> list[NewEvent]:
    previous = dict(change.previous)
    bindings = [] if change.created else _bindings("opportunity", set(change.fields))
    events = []
    for opportunity in Opportunity.objects.filter(pk__in=change.record_ids, contact__isnull=False).order_by("pk"):
        person = {"contact_id": opportunity.contact_id}
        payload = opportunity_payload(opportunity)
        if change.created:
            events.append(NewEvent("opportunity.created", payload, **person))
        if "stage" in change.fields and not change.created:
            events.append(NewEvent("opportunity.stage_changed",
                                   {**payload, "previous_stage": previous.get("stage") or ""}, **person))
        if "status" in change.fields and not change.created and opportunity.status in ("won", "lost"):
            events.append(NewEvent(f"opportunity.{opportunity.status}", payload, **person))
        for binding in bindings:
            value = getattr(opportunity, _attname(Opportunity, binding.record_field))
            if _binding_fires(binding, value):
                events.append(_binding_event(binding, table="opportunity", record=opportunity.pk, value=value,
                                             previous=previous.get(binding.record_field), **person))
    return events


def _account_events(change: RecordChange) -> list[NewEvent]:
    previous = dict(change.previous)
    bindings = [] if change.created else _bindings("account", set(change.fields))
    if not change.created and not bindings:
        return []
    accounts = {a.pk: a for a in Account.objects.filter(pk__in=change.record_ids)}
    events = []
    members = Contact.objects.filter(account_id__in=accounts).order_by("pk").values_list("pk", "account_id")
    for contact_id, account_id in members:
        account = accounts[account_id]
        if change.created:
            events.append(NewEvent("account.created", {"account": account.pk, "name": account.name,
                                                       "industry": account.industry, "country": account.country},
                                   contact_id=contact_id))
        for binding in bindings:
            value = getattr(account, _attname(Account, binding.record_field))
            if _binding_fires(binding, value):
                events.append(_binding_event(binding, table="account", record=account.pk, value=value,
                                             previous=previous.get(binding.record_field), contact_id=contact_id))
    return events
