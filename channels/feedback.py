"""What comes back from a sent email: opens, clicks, unsubscribes, bounces and complaints.

Each is recorded on the Delivery and as an Interaction on the person's timeline (which the people
change hook reports, so continuous segments see it at once).
"""

from __future__ import annotations

import datetime

from django.db import transaction

from channels.models import AddressState, Delivery
from contacts import services as people
from contacts.models import Channel, ConsentStatus, Topic

SOFT_BOUNCE_LIMIT = 3


TRIGGERS = {"email_opened": "email.opened", "email_clicked": "email.clicked", "email_bounced": "email.bounced",
            "email_unsubscribed": "email.unsubscribed"}


def _interaction(delivery: Delivery, kind: str, *, now: datetime.datetime, payload: dict | None = None,
                 **columns) -> None:
    people.record_interaction(
        delivery.person, type=kind, occurred_at=now, email_key=delivery.email.key, journey_id=delivery.journey_id,
        tile_key=delivery.tile_key, source="waymark", properties={"delivery": delivery.pk}, **columns,
    )
    extra = {"link": columns["link"]} if "link" in columns else {}
    _publish(delivery, TRIGGERS[kind], now=now, **extra, **(payload or {}))


def _publish(delivery: Delivery, key: str, *, now: datetime.datetime, **extra) -> None:
    """The trigger event, stored in the same transaction as the fact; dispatched after commit."""
    from journeys import services as journeys  # journeys' engine imports channels: import at call time

    payload = {"email_key": delivery.email.key, "delivery": delivery.pk, "journey_id": delivery.journey_id,
               "tile_key": delivery.tile_key, **extra}
    journeys.publish(key, person=delivery.person, payload=payload, source="waymark", now=now)


def _delivery(delivery_id: int) -> Delivery | None:
    return Delivery.objects.select_related("email", "contact", "lead").filter(pk=delivery_id).first()


def record_open(delivery_id: int, *, now: datetime.datetime) -> bool:
    """The first open of a message is recorded (mail clients fetch the pixel repeatedly)."""
    delivery = _delivery(delivery_id)
    if delivery is None:
        return False
    with transaction.atomic():
        first = Delivery.objects.filter(pk=delivery_id, opened_at__isnull=True).update(opened_at=now)
        if first:
            _interaction(delivery, "email_opened", now=now)
    return bool(first)


def record_click(delivery_id: int, link: int, *, now: datetime.datetime) -> str | None:
    """Record a click on link number `link`; return where to send the reader (None if unknown)."""
    delivery = _delivery(delivery_id)
    if delivery is None or not 0 <= link < len(delivery.version.links):
        return None
    url = delivery.version.links[link]
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery_id, clicked_at__isnull=True).update(clicked_at=now)
        if Delivery.objects.filter(pk=delivery_id, opened_at__isnull=True).update(opened_at=now):
            _interaction(delivery, "email_opened", now=now)  # a click proves an open the pixel missed
        _interaction(delivery, "email_clicked", now=now, link=url)
    return url


def unsubscribe(delivery_id: int, *, now: datetime.datetime, source: str = "one-click unsubscribe") -> bool:
    """Opt the recipient out of commercial email, at once. Safe to repeat."""
    delivery = _delivery(delivery_id)
    if delivery is None:
        return False
    with transaction.atomic():
        people.set_consent(delivery.person, channel=Channel.EMAIL, status=ConsentStatus.OPTED_OUT, now=now,
                           source=source, note=f"from email {delivery.email.key}")
        if Delivery.objects.filter(pk=delivery_id, unsubscribed_at__isnull=True).update(unsubscribed_at=now):
            _interaction(delivery, "email_unsubscribed", now=now)
    return True


def set_preferences(person, *, email_opt_in: bool, topics: dict[int, bool], now: datetime.datetime) -> None:
    """The preference centre: channel consent and per-topic consent in one go."""
    with transaction.atomic():
        people.set_consent(person, channel=Channel.EMAIL, now=now, source="preference centre",
                           status=ConsentStatus.OPTED_IN if email_opt_in else ConsentStatus.OPTED_OUT)
        for topic in Topic.objects.filter(pk__in=topics):
            people.set_consent(person, channel=Channel.EMAIL, topic=topic, now=now, source="preference centre",
                               status=ConsentStatus.OPTED_IN if topics[topic.pk] else ConsentStatus.OPTED_OUT)


def _address_state(address: str, *, now: datetime.datetime) -> AddressState:
    state, _ = AddressState.objects.select_for_update().get_or_create(
        address=address.lower(), defaults={"updated_at": now})
    return state


def record_bounce(delivery: Delivery | None, *, address: str, permanent: bool, reason: str,
                  now: datetime.datetime) -> AddressState:
    """A hard bounce marks the address invalid; soft bounces do after SOFT_BOUNCE_LIMIT in a row."""
    with transaction.atomic():
        state = _address_state(address, now=now)
        if permanent:
            state.status = AddressState.Status.INVALID
        else:
            state.soft_bounces += 1
            if state.soft_bounces >= SOFT_BOUNCE_LIMIT and state.status == AddressState.Status.VALID:
                state.status = AddressState.Status.INVALID
        state.reason, state.updated_at = reason[:300], now
        state.save()
        if delivery is not None:
            Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.BOUNCED, bounced_at=now,
                                                           reason=reason[:200])
            kind = "hard" if permanent else "soft"
            _interaction(delivery, "email_bounced", now=now, name=kind,
                         payload={"bounce": kind, "reason": reason[:200]})
    return state


def record_complaint(delivery: Delivery | None, *, address: str, now: datetime.datetime) -> AddressState:
    """A spam complaint: never email the address commercially again, and opt the person out."""
    with transaction.atomic():
        state = _address_state(address, now=now)
        state.status, state.reason, state.updated_at = AddressState.Status.COMPLAINED, "spam complaint", now
        state.save()
        if delivery is not None:
            people.set_consent(delivery.person, channel=Channel.EMAIL, status=ConsentStatus.OPTED_OUT, now=now,
                               source="spam complaint")
            _publish(delivery, "email.complained", now=now)
    return state


def delivery_by_message_id(message_id: str) -> Delivery | None:
    if not message_id:
        return None
    wanted = message_id.strip()
    if not wanted.startswith("<"):
        wanted = f"<{wanted}>"
    return Delivery.objects.select_related("email", "contact", "lead").filter(message_id=wanted).first()
