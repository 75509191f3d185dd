"""The verbs of email: validate and publish an email, queue a message, send queued messages.

`queue_email` is the one way anything sends email (journeys, events, forms): it inserts a queued
Delivery in the caller's transaction, unique on the caller's idempotency key. `send_queued` claims
queued deliveries in batches (FOR UPDATE SKIP LOCKED), checks consent and the address, renders
and sends them over one SMTP connection, DKIM-signed when the sender has a key.
"""

from __future__ import annotations

import datetime
import logging
from email.utils import make_msgid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from channels import compose, mail, rendering, tasks, templating
from channels.models import AddressState, ContentBlock, Delivery, Email, EmailVersion
from contacts import services as people
from contacts.hooks import report_people_changed
from contacts.models import Channel, Contact, CustomAttribute, Interaction, Lead, person_keys
from segments import services as segments

logger = logging.getLogger(__name__)
Person = Contact | Lead
MAX_ATTEMPTS = 5
STALE_CLAIM = datetime.timedelta(minutes=10)


# --- Authoring --------------------------------------------------------------------------------------
def content_blocks() -> dict[str, list[dict]]:
    return dict(ContentBlock.objects.values_list("key", "blocks"))


def build(email: Email) -> tuple[compose.Composition, str, str, list[str]]:
    """Compile an email's current blocks: (composition, html with link markers, text, links)."""
    composition = compose.to_mjml(email.blocks, brand=email.brand, preheader=email.preheader,
                                  commercial=email.commercial, content_blocks=content_blocks())
    html, links = compose.track_links(compose.to_html(composition.mjml))
    return composition, html, compose.to_text(html), links


def check_email(email: Email) -> list[str]:
    """Every problem that would stop this email from being published, as readable messages."""
    errors: list[str] = []
    keys = set(CustomAttribute.objects.filter(entity="contact").values_list("key", flat=True))
    for label, text in (("subject", email.subject), ("preheader", email.preheader)):
        try:
            unknown = templating.unknown_tokens(templating.parse(text), attribute_keys=keys)
            errors += [f"{label}: unknown token {{{{ {path} }}}}" for path in unknown]
        except templating.TemplateError as exc:
            errors.append(f"{label}: {exc}")
    try:
        composition, html, _text, _links = build(email)
    except compose.ComposeError as exc:
        return [*errors, str(exc)]
    try:
        unknown = templating.unknown_tokens(templating.parse(html), attribute_keys=keys)
        errors += [f"content: unknown token {{{{ {path} }}}}" for path in unknown]
    except templating.TemplateError as exc:
        errors.append(f"content: {exc}")
    for index, condition in enumerate(composition.conditions):
        problems = segments.check_query(condition, audience="contact", allow_trigger=True)
        errors += [f"conditional block {index + 1}: {problem}" for problem in problems]
    if email.commercial and not email.brand.postal_address:
        errors.append("a commercial email needs the brand's postal address in its footer")
    return errors


def publish(email: Email, *, now: datetime.datetime, user: Any = None) -> EmailVersion:
    """Validate and freeze a new numbered version; journeys send the latest one."""
    errors = check_email(email)
    if errors:
        raise ValidationError(errors)
    composition, html, text, links = build(email)
    with transaction.atomic():
        locked = Email.objects.select_for_update().get(pk=email.pk)
        number = (locked.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        version = EmailVersion.objects.create(
            email=locked, number=number, subject=email.subject, preheader=email.preheader, blocks=email.blocks,
            html=html, text=text, links=links, conditions=composition.conditions, published_at=now,
            published_by=user if getattr(user, "pk", None) else None,
        )
        Email.objects.filter(pk=email.pk).update(status=Email.Status.READY)
    email.status = Email.Status.READY
    return version


def preview(email: Email, *, person: Person | None, context: dict | None = None,
            now: datetime.datetime) -> rendering.Rendered:
    """Render the current draft (not a published version) as `person` would see it."""
    composition, html, text, links = build(email)
    version = EmailVersion(subject=email.subject, preheader=email.preheader, html=html, text=text, links=links,
                           conditions=composition.conditions)
    prep = rendering.prepare_version(version)
    sample = person or Contact(first_name="", last_name="", email="preview@example.com")
    return rendering.render(prep, person=sample, context=context or {}, delivery_id=None, now=now)


def latest_version(email: Email) -> EmailVersion | None:
    return email.versions.order_by("-number").first()


# --- Queueing ---------------------------------------------------------------------------------------
def queue_email(email: Email, *, person: Person, idempotency_key: str, context: dict[str, Any] | None = None,
                now: datetime.datetime, journey_id: int | None = None, tile_key: str = "") -> Delivery:
    """Queue one message in the caller's transaction; the same key twice returns the first Delivery."""
    version = latest_version(email)
    if version is None:
        raise ValidationError(f"The email {email.name!r} has no published version yet.")
    existing = Delivery.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    delivery = Delivery(
        **person_keys(person), email=email, version=version, idempotency_key=idempotency_key,
        to_address=person.email or "", context=context or {}, journey_id=journey_id, tile_key=tile_key,
        queued_at=now, message_id=make_msgid(domain=email.sender.domain),
    )
    try:
        with transaction.atomic():
            delivery.save()
    except IntegrityError:
        return Delivery.objects.get(idempotency_key=idempotency_key)
    tasks.send_queued.delay_on_commit()
    return delivery


# --- Sending ----------------------------------------------------------------------------------------
def _claim(*, limit: int, now: datetime.datetime) -> list[int]:
    with transaction.atomic():
        ids = list(
            Delivery.objects.queued().filter(queued_at__lte=now).order_by("queued_at", "id")
            .select_for_update(skip_locked=True).values_list("id", flat=True)[:limit]
        )
        Delivery.objects.filter(id__in=ids).update(status=Delivery.Status.SENDING, claimed_at=now,
                                                   attempts=F("attempts") + 1)
    return ids


def reason_not_to_send(delivery: Delivery, states: dict[str, str], consented: set[tuple[str, int]]) -> str:
    """Why this message must not go out, or "" — consent for commercial mail, the address for all."""
    if not delivery.to_address:
        return "no email address"
    state = states.get(delivery.to_address.lower())
    if state == AddressState.Status.INVALID:
        return "address is invalid (hard bounce)"
    if state == AddressState.Status.COMPLAINED:
        return "recipient marked our email as spam"
    email = delivery.email
    person_key = ("contact", delivery.contact_id) if delivery.contact_id else ("lead", delivery.lead_id)
    if email.commercial and person_key not in consented:
        return "no consent for commercial email" + (f" on {email.topic}" if email.topic_id else "")
    return ""


def send_queued(*, now: datetime.datetime, limit: int = 200) -> int:
    """Claim and send up to `limit` queued messages; returns how many were sent."""
    ids = _claim(limit=limit, now=now)
    if not ids:
        return 0
    deliveries = list(
        Delivery.objects.filter(id__in=ids).select_related(
            "version", "email__sender", "email__brand", "email__topic", "contact__account", "lead__account")
    )
    states = dict(AddressState.objects.filter(address__in=[d.to_address.lower() for d in deliveries if d.to_address])
                  .exclude(status=AddressState.Status.VALID).values_list("address", "status"))
    consented: set[tuple[str, int]] = set()
    by_topic: dict[Any, list[Delivery]] = {}
    for delivery in deliveries:
        if delivery.email.commercial:
            by_topic.setdefault(delivery.email.topic, []).append(delivery)
    for topic, group in by_topic.items():  # one consent query per topic in the batch
        consented |= people.may_send_many([d.person for d in group], channel=Channel.EMAIL, topic=topic)
    outgoing, suppressed = [], []
    for delivery in deliveries:
        reason = reason_not_to_send(delivery, states, consented)
        if reason:
            suppressed.append((delivery.pk, reason))
        else:
            outgoing.append(delivery)
    for reason in {reason for _pk, reason in suppressed}:
        Delivery.objects.filter(pk__in=[pk for pk, r in suppressed if r == reason]).update(
            status=Delivery.Status.SUPPRESSED, reason=reason)
    sent, failed = mail.send_batch(outgoing, now=now)
    Delivery.objects.filter(id__in=[d.pk for d in sent]).update(status=Delivery.Status.SENT, sent_at=now, reason="")
    for delivery, error in failed:
        final = delivery.attempts >= MAX_ATTEMPTS
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.FAILED if final else Delivery.Status.QUEUED, reason=error[:200])
    _record_delivered(sent, now=now)
    return len(sent)


def _record_delivered(deliveries: list[Delivery], *, now: datetime.datetime) -> None:
    """Set-based: one insert of 'email delivered' interactions for the batch, one hook report."""
    if not deliveries:
        return
    report_people_changed(contact_ids=[d.contact_id for d in deliveries if d.contact_id],
                          lead_ids=[d.lead_id for d in deliveries if d.lead_id],
                          fields={"interaction.email_delivered"})
    Interaction.objects.bulk_create([
        Interaction(contact_id=d.contact_id, lead_id=d.lead_id, type="email_delivered", occurred_at=now,
                    email_key=d.email.key, journey_id=d.journey_id, tile_key=d.tile_key, source="waymark",
                    properties={"delivery": d.pk, "version": d.version.number})
        for d in deliveries
    ])


def sweep_stale_claims(*, now: datetime.datetime) -> int:
    """Return messages claimed by a worker that vanished to the queue (same Message-ID on retry)."""
    return Delivery.objects.filter(status=Delivery.Status.SENDING, claimed_at__lt=now - STALE_CLAIM).update(
        status=Delivery.Status.QUEUED)
