"""The verbs of the contacts app: what views, the API, admin actions and other apps call."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q

from contacts.models import (
    Channel,
    Consent,
    ConsentChange,
    ConsentStatus,
    Contact,
    DoubleOptIn,
    Interaction,
    InteractionType,
    Lead,
    SalesQueue,
    Task,
    Topic,
    person_keys,
)

Person = Contact | Lead


# --- Consent ----------------------------------------------------------------------------------
def set_consent(
    person: Person,
    *,
    channel: str,
    status: str,
    now: datetime,
    topic: Topic | None = None,
    source: str = "",
    double_opt_in: str | None = None,
    note: str = "",
    changed_by=None,
) -> Consent:
    """Record a consent decision: update the current state and append one history line.

    `double_opt_in="pending"` records an opt-in that counts only once confirmed.
    Recording the same status again still appends history (the person said it again).
    """
    if channel not in Channel.values:
        raise ValueError(f"Unknown channel {channel!r}; expected one of {', '.join(Channel.values)}")
    if status not in ConsentStatus.values:
        raise ValueError(f"Unknown consent status {status!r}")
    keys = person_keys(person)
    with transaction.atomic():
        consent = (
            Consent.objects.select_for_update()
            .filter(**keys, channel=channel, topic=topic)
            .order_by()  # the default ordering joins Topic, which FOR UPDATE cannot lock
            .first()
        )
        old_status = consent.status if consent else ConsentStatus.NOT_SET
        old_double_opt_in = consent.double_opt_in if consent else DoubleOptIn.NOT_REQUIRED
        if consent is None:
            consent = Consent(**keys, channel=channel, topic=topic)
        if double_opt_in is None:
            double_opt_in = consent.double_opt_in if status == old_status else DoubleOptIn.NOT_REQUIRED
        if status != ConsentStatus.OPTED_IN:
            double_opt_in = DoubleOptIn.NOT_REQUIRED
        consent.status = status
        consent.double_opt_in = double_opt_in
        consent.source = source
        consent.updated_at = now
        consent.save()
        ConsentChange.objects.create(
            **keys, channel=channel, topic=topic, old_status=old_status, new_status=status,
            double_opt_in=double_opt_in, source=source, note=note, changed_by=changed_by,
            changed_at=now,
        )
        if status != old_status or double_opt_in != old_double_opt_in:
            _publish("consent.changed", person, now=now, payload={
                "channel": channel, "topic": topic.key if topic else None, "old_status": old_status,
                "new_status": status, "double_opt_in": double_opt_in, "source": source})
    return consent


def confirm_double_opt_in(person: Person, *, channel: str, now: datetime, topic: Topic | None = None,
                          source: str = "double opt-in") -> Consent:
    """Mark a pending opt-in as confirmed (the person clicked the confirmation link)."""
    return set_consent(
        person, channel=channel, topic=topic, status=ConsentStatus.OPTED_IN, now=now,
        source=source, double_opt_in=DoubleOptIn.CONFIRMED,
    )


def may_send(person: Person, *, channel: str, topic: Topic | None = None, commercial: bool = True) -> bool:
    """May we send a message on `channel` (and `topic`) to `person`?

    Commercial messages need an effective opt-in for the channel (confirmed, where double
    opt-in was asked). A topic opt-out blocks; a topic that `requires_opt_in` needs an
    effective topic opt-in. Transactional messages are not a consent matter: channels still
    check the address (invalid, bounced, complained).
    """
    if not commercial:
        return True
    return bool(may_send_many([person], channel=channel, topic=topic))


def may_send_many(persons: list[Person], *, channel: str, topic: Topic | None = None) -> set[tuple[str, int]]:
    """The people of `persons` who may get a commercial message, as ("contact"|"lead", id) — one query."""
    contact_ids = [p.pk for p in persons if isinstance(p, Contact)]
    lead_ids = [p.pk for p in persons if isinstance(p, Lead)]
    rows: dict[tuple[str, int], dict[int | None, Consent]] = {}
    consents = Consent.objects.filter(Q(contact_id__in=contact_ids) | Q(lead_id__in=lead_ids), channel=channel)
    for consent in consents.filter(Q(topic__isnull=True) | Q(topic=topic)):
        key = ("contact", consent.contact_id) if consent.contact_id else ("lead", consent.lead_id)
        rows.setdefault(key, {})[consent.topic_id] = consent
    allowed = set()
    for key, by_topic in rows.items():
        channel_consent = by_topic.get(None)
        if channel_consent is None or not channel_consent.effective:
            continue
        if topic is not None:
            topic_consent = by_topic.get(topic.pk)
            if topic_consent is not None and topic_consent.status == ConsentStatus.OPTED_OUT:
                continue
            if topic.requires_opt_in and not (topic_consent is not None and topic_consent.effective):
                continue
        allowed.add(key)
    return allowed


# --- Interactions -------------------------------------------------------------------------------
INTERACTION_COLUMNS = ("email_key", "link", "product", "amount", "journey_id", "tile_key", "source", "name")


def record_interaction(
    person: Person,
    *,
    type: str,
    occurred_at: datetime,
    properties: dict[str, Any] | None = None,
    **columns: Any,
) -> Interaction:
    """Add one line to a person's timeline. `columns` are Interaction's typed columns."""
    unknown = set(columns) - set(INTERACTION_COLUMNS)
    if unknown:
        raise TypeError(f"Unknown interaction columns: {', '.join(sorted(unknown))}")
    if columns.get("amount") is not None:
        columns["amount"] = Decimal(str(columns["amount"]))
    interaction = Interaction(
        **person_keys(person), type=type, occurred_at=occurred_at, properties=properties or {},
        **{k: v for k, v in columns.items() if v is not None},
    )
    interaction.full_clean(exclude=["contact", "lead"])
    with transaction.atomic():
        interaction.save()
        if type == InteractionType.PURCHASE:
            _publish("purchase.completed", person, now=occurred_at, payload=purchase_payload(interaction))
    return interaction


def purchase_payload(interaction: Interaction) -> dict[str, Any]:
    """purchase.completed's payload: the typed columns, and order, currency, products from properties."""
    properties = interaction.properties or {}
    products = properties.get("products")
    if not isinstance(products, list):
        products = [interaction.product] if interaction.product else []
    payload = {"amount": float(interaction.amount or 0), "products": [str(p) for p in products]}
    for name in ("order", "currency"):
        if properties.get(name) not in (None, ""):
            payload[name] = str(properties[name])
    return payload


def _publish(key: str, person: Person, *, now: datetime, payload: dict[str, Any]) -> None:
    """Stored in the caller's transaction with the fact, dispatched after commit."""
    from journeys import services as journeys  # journeys imports contacts: import at call time

    journeys.publish(key, person=person, payload=payload, source="waymark", now=now)


# --- Tasks ----------------------------------------------------------------------------------------
def create_task(
    person: Person,
    *,
    subject: str,
    now: datetime,
    assigned_to=None,
    queue: SalesQueue | None = None,
    due_at: datetime | None = None,
    description: str = "",
    priority: str = Task.Priority.NORMAL,
    opportunity=None,
    source: str = "manual",
    created_by=None,
) -> Task:
    """Create a follow-up for a user or a sales queue."""
    task = Task(
        **person_keys(person), subject=subject, description=description, assigned_to=assigned_to,
        queue=queue, due_at=due_at, priority=priority, opportunity=opportunity, source=source,
        created_by=created_by, created_at=now,
    )
    task.full_clean()
    task.save()
    return task


def complete_task(task: Task, *, now: datetime) -> bool:
    """Mark an open task done; False if it was not open (someone else got there first)."""
    updated = Task.objects.filter(pk=task.pk, status=Task.Status.OPEN).update(
        status=Task.Status.DONE, completed_at=now
    )
    if updated:
        task.refresh_from_db(fields=["status", "completed_at"])
    return bool(updated)
