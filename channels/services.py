"""The verbs of email: validate and publish an email, queue a message, send queued messages.

`queue_email` is the one way anything sends email (journeys, events, forms): it inserts a queued
Delivery in the caller's transaction, unique on the caller's idempotency key. `send_queued` claims
queued deliveries in batches (FOR UPDATE SKIP LOCKED), checks consent and the address, renders
and sends them over one SMTP connection, DKIM-signed when the sender has a key.

Webhooks go the same way: `queue_webhook` inserts a queued WebhookDelivery in the caller's
transaction; `send_queued_webhooks` claims due ones, POSTs them signed (see `channels.webhooks`)
and records each answer, retrying with backoff until the schedule runs out.
"""

from __future__ import annotations

import datetime
import logging
import random
import uuid
from collections.abc import Sequence
from email.utils import make_msgid
from typing import Any, NamedTuple, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F, QuerySet

from channels import compose, mail, rendering, tasks, templating, webhooks
from channels.models import AddressState, ContentBlock, Delivery, Email, EmailVersion, WebhookDelivery, WebhookEndpoint
from config.db import insert_many
from config.wake import wake_on_commit
from contacts import services as people
from contacts.hooks import report_people_changed
from contacts.models import Channel, Contact, CustomAttribute, Interaction, Lead, person_keys
from segments import services as segments

logger = logging.getLogger(__name__)
Person = Contact | Lead
MAX_ATTEMPTS = 5
STALE_CLAIM = datetime.timedelta(minutes=10)
Row = TypeVar("Row", bound=models.Model)
INSERT_CHUNK = 1000  # deliveries per INSERT (SQLite takes at most 32,766 parameters a statement)
UNSENT_CONTENT = ("version__blocks", "version__html", "version__text", "version__links", "version__conditions",
                  "email__blocks")


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
    # Malformed tokens are named as the author wrote them, in their block: the compiled HTML
    # around a stray "{{" means nothing to them.
    malformed = block_token_errors(email.blocks)
    errors += malformed
    try:
        unknown = templating.unknown_tokens(templating.parse(html), attribute_keys=keys)
        errors += [f"content: unknown token {{{{ {path} }}}}" for path in unknown]
    except templating.TemplateError as exc:
        errors += [] if malformed else [f"content: {exc}"]
    for index, condition in enumerate(composition.conditions):
        problems = segments.check_query(condition, audience="contact", allow_trigger=True)
        errors += [f"conditional block {index + 1}: {problem}" for problem in problems]
    if email.commercial and not email.brand.postal_address:
        errors.append("a commercial email needs the brand's postal address in its footer")
    return errors


def block_strings(value: Any) -> list[str]:
    """Every text a block (or list of blocks) holds, nested columns included, conditions left out."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() if key != "condition" for s in block_strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in block_strings(item)]
    return []


def block_token_errors(blocks: Any) -> list[str]:
    """'block 2 (text): malformed personalization token …' for each block with a malformed token."""
    errors = []
    for index, block in enumerate(blocks if isinstance(blocks, list) else []):
        kind = block.get("type") if isinstance(block, dict) else None
        for text in block_strings(block):
            try:
                templating.parse(text)
            except templating.TemplateError as exc:
                errors.append(f"block {index + 1}{f' ({kind})' if kind else ''}: {exc}")
                break
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


# --- Queueing (email and webhooks) ------------------------------------------------------------------
def _insert_once(row: Row) -> tuple[Row, bool]:
    """Insert a row unique on `idempotency_key` in the caller's transaction, or return the first one."""
    model = type(row)
    existing = model.objects.filter(idempotency_key=row.idempotency_key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # a concurrent caller inserted the same key first
        return model.objects.get(idempotency_key=row.idempotency_key), False
    return row, True


def _insert_deliveries(deliveries: list[Delivery]) -> list[Delivery]:
    """Insert the lot in one statement, skipping keys already taken; returns the row stored under
    each one's key, in order: the new row, or the first one stored under that key (by an earlier
    call, or earlier in this list)."""
    stored = {delivery.idempotency_key: delivery for delivery in insert_many(deliveries,
                                                                            skip_taken="idempotency_key")}
    taken = [d.idempotency_key for d in deliveries if d.idempotency_key not in stored]
    if taken:
        stored |= Delivery.objects.in_bulk(taken, field_name="idempotency_key")
    return [stored[delivery.idempotency_key] for delivery in deliveries]


class EmailToQueue(NamedTuple):
    """One message for `queue_emails`: what `queue_email` takes, as a row."""

    email: Email
    person: Person
    idempotency_key: str
    context: dict[str, Any] | None = None
    journey_id: int | None = None
    tile_key: str = ""
    version: EmailVersion | None = None


def queue_emails(messages: Sequence[EmailToQueue], *, now: datetime.datetime) -> list[Delivery]:
    """Queue many messages in the caller's transaction in one INSERT (a journey batch's sends);
    returns one Delivery per message, in order, and a key queued before gives that first Delivery.
    A message without `version` is sent as its email's latest published version."""
    if not messages:
        return []
    versions: dict[int, EmailVersion | None] = {}
    deliveries = []
    for message in messages:
        email, person = message.email, message.person
        version = message.version
        if version is None:
            if email.pk not in versions:
                versions[email.pk] = latest_version(email)
            version = versions[email.pk]
        if version is None:
            raise ValidationError(f"The email {email.name!r} has no published version yet.")
        deliveries.append(Delivery(
            **person_keys(person), email=email, version=version, idempotency_key=message.idempotency_key,
            to_address=person.email or "", context=message.context or {}, journey_id=message.journey_id,
            tile_key=message.tile_key, queued_at=now, message_id=make_msgid(domain=email.sender.domain),
        ))
    stored = [row for start in range(0, len(deliveries), INSERT_CHUNK)
              for row in _insert_deliveries(deliveries[start:start + INSERT_CHUNK])]
    if any(row is new for row, new in zip(stored, deliveries, strict=True)):
        wake_on_commit(tasks.send_queued, once_per_transaction=True)
    return stored


def queue_email(email: Email, *, person: Person, idempotency_key: str, context: dict[str, Any] | None = None,
                now: datetime.datetime, journey_id: int | None = None, tile_key: str = "",
                version: EmailVersion | None = None) -> Delivery:
    """Queue one message in the caller's transaction; the same key twice returns the first Delivery.
    One INSERT in the common case; a caller holding the latest published `version` passes it and
    saves the lookup. (Many at once: `queue_emails`.)"""
    return queue_emails([EmailToQueue(email, person, idempotency_key, context, journey_id, tile_key, version)],
                        now=now)[0]


# --- Sending ----------------------------------------------------------------------------------------
def _claim(due: QuerySet, *, order_by: tuple[str, ...], limit: int, now: datetime.datetime) -> list[int]:
    """Mark up to `limit` due rows "sending" (attempt + 1) and return their ids; rows other workers
    hold are skipped (FOR UPDATE SKIP LOCKED), so no two workers send the same message."""
    with transaction.atomic():
        ids = list(due.order_by(*order_by).select_for_update(skip_locked=True).values_list("id", flat=True)[:limit])
        due.model.objects.filter(id__in=ids).update(status="sending", claimed_at=now, attempts=F("attempts") + 1)
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


class Sent(NamedTuple):
    claimed: int  # messages this call took from the queue (sent, suppressed or failed)
    sent: int


def send_queued(*, now: datetime.datetime, limit: int = 200) -> int:
    """Claim and send up to `limit` queued messages; returns how many were sent."""
    return send_next(now=now, limit=limit).sent


def send_next(*, now: datetime.datetime, limit: int = 200) -> Sent:
    """`send_queued`, answering how many messages it claimed as well as how many it sent (a batch
    claimed in full means more may be waiting, however many of them were suppressed)."""
    ids = _claim(Delivery.objects.queued().filter(queued_at__lte=now), order_by=("queued_at", "id"), limit=limit,
                 now=now)
    if not ids:
        return Sent(0, 0)
    # The version's content is rendered from the per-process cache (rendering.prepared): fetching
    # it with every row would move ~70 KB per message from the database.
    deliveries = list(
        Delivery.objects.filter(id__in=ids).select_related(
            "version", "email__sender", "email__brand", "email__topic", "contact__account", "lead__account")
        .defer(*UNSENT_CONTENT)
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
    return Sent(len(ids), len(sent))


def _record_delivered(deliveries: list[Delivery], *, now: datetime.datetime) -> None:
    """Set-based: one insert of 'email delivered' interactions for the batch, one hook report."""
    if not deliveries:
        return
    report_people_changed(contact_ids=[d.contact_id for d in deliveries if d.contact_id],
                          lead_ids=[d.lead_id for d in deliveries if d.lead_id],
                          fields={"interaction.email_delivered"})
    insert_many([
        Interaction(contact_id=d.contact_id, lead_id=d.lead_id, type="email_delivered", occurred_at=now,
                    email_key=d.email.key, journey_id=d.journey_id, tile_key=d.tile_key, source="waymark",
                    properties={"delivery": d.pk, "version": d.version.number})
        for d in deliveries
    ])
    from journeys import ingest  # journeys' engine imports channels: import at call time

    ingest.publish_many([
        ingest.NewEvent("email.delivered", {"email_key": d.email.key, "delivery": d.pk, "journey_id": d.journey_id,
                                            "tile_key": d.tile_key},
                        contact_id=d.contact_id, lead_id=d.lead_id)
        for d in deliveries
    ], source="waymark", now=now, unheard_as_dispatched=True)


def _stale_claims(model: type[models.Model], *, now: datetime.datetime) -> QuerySet:
    return model.objects.filter(status="sending", claimed_at__lt=now - STALE_CLAIM)


def sweep_stale_claims(*, now: datetime.datetime) -> int:
    """Return messages claimed by a worker that vanished to the queue (same Message-ID on retry)."""
    return _stale_claims(Delivery, now=now).update(status=Delivery.Status.QUEUED)


# --- Webhooks -----------------------------------------------------------------------------------------
def queue_webhook(endpoint: WebhookEndpoint, *, person: Person, payload: dict[str, Any], idempotency_key: str,
                  now: datetime.datetime, event_type: str = "journey.webhook", journey_id: int | None = None,
                  tile_key: str = "") -> WebhookDelivery:
    """Queue one event for `endpoint` in the caller's transaction; the same key twice returns the first row."""
    delivery, created = _insert_once(WebhookDelivery(
        **person_keys(person), endpoint=endpoint, event_type=event_type, payload=payload,
        idempotency_key=idempotency_key, journey_id=journey_id, tile_key=tile_key, queued_at=now,
        next_attempt_at=now,
    ))
    if created:
        wake_on_commit(tasks.send_queued_webhooks, once_per_transaction=True)
    return delivery


def send_test_webhook(endpoint: WebhookEndpoint, *, person: Person, now: datetime.datetime,
                      user: Any = None) -> WebhookDelivery:
    """Queue a signed `webhook.test` ping, so a receiver can check its verification end to end."""
    if not endpoint.active:
        raise ValidationError("The endpoint is deactivated; activate it to send a test event.")
    sender = getattr(user, "username", "") or "Waymark"
    return queue_webhook(endpoint, person=person, event_type="webhook.test", now=now,
                         payload={"message": f"Test event sent by {sender} from Waymark."},
                         idempotency_key=f"test:{endpoint.pk}:{uuid.uuid4().hex}")


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> datetime.timedelta | None:
    """How long to wait after the `attempts`-th failed attempt, with up to 20 % jitter so that many
    messages that failed together do not come back together; None once the schedule is used up."""
    schedule = settings.WAYMARK_WEBHOOK_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    return datetime.timedelta(seconds=schedule[attempts - 1] * (rng or random).uniform(1.0, 1.2))


def _record_attempt(delivery: WebhookDelivery, attempt: webhooks.Attempt, *, now: datetime.datetime) -> None:
    fields: dict[str, Any] = {"response_code": attempt.status_code, "response_body": attempt.body,
                              "last_error": attempt.error[:300], "last_attempt_at": now, "next_attempt_at": None}
    if attempt.outcome == "delivered":
        fields |= {"status": WebhookDelivery.Status.DELIVERED, "delivered_at": now}
    elif attempt.outcome == "retry" and (delay := retry_delay(delivery.attempts)) is not None:
        if attempt.retry_after is not None:  # the receiver said when to come back
            delay = min(attempt.retry_after, datetime.timedelta(seconds=settings.WAYMARK_WEBHOOK_MAX_RETRY_AFTER))
        fields |= {"status": WebhookDelivery.Status.RETRYING, "next_attempt_at": now + delay}
    else:
        fields["status"] = WebhookDelivery.Status.FAILED
        if attempt.outcome == "retry":
            fields["last_error"] = f"{attempt.error} — gave up after {delivery.attempts} attempts"[:300]
    WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.SENDING).update(**fields)


def send_queued_webhooks(*, now: datetime.datetime, limit: int = 50) -> int:
    """Claim and POST up to `limit` due webhook messages; returns how many were attempted (whatever
    the answers), so a full batch tells the caller that more may be waiting."""
    due = WebhookDelivery.objects.due(now)
    ids = _claim(due, order_by=("next_attempt_at", "id"), limit=limit, now=now)
    if not ids:
        return 0
    deliveries = list(WebhookDelivery.objects.filter(id__in=ids).select_related("endpoint", "contact", "lead")
                      .order_by("next_attempt_at", "id"))
    attempts = webhooks.send_batch(deliveries, now=now)
    for delivery, attempt in zip(deliveries, attempts, strict=True):
        _record_attempt(delivery, attempt, now=now)
    return len(deliveries)


def sweep_stale_webhook_claims(*, now: datetime.datetime) -> int:
    """Messages claimed by a worker that vanished go back to the queue; the retry carries the same
    webhook-id, so a receiver that got the first attempt can drop the second."""
    return _stale_claims(WebhookDelivery, now=now).update(status=WebhookDelivery.Status.RETRYING,
                                                          next_attempt_at=now)


def retry_webhooks_now(deliveries: QuerySet, *, now: datetime.datetime) -> int:
    """Send failed or waiting messages again at once (one more attempt each); returns how many."""
    count = deliveries.filter(status__in=[WebhookDelivery.Status.FAILED, WebhookDelivery.Status.RETRYING]).update(
        status=WebhookDelivery.Status.QUEUED, next_attempt_at=now)
    if count:
        wake_on_commit(tasks.send_queued_webhooks, once_per_transaction=True)
    return count


def rotate_webhook_secret(endpoint: WebhookEndpoint, *, now: datetime.datetime) -> str:
    """Give the endpoint a new secret; the old one keeps signing alongside it for a grace period,
    so receivers can switch without losing messages. Returns the new secret."""
    grace = datetime.timedelta(hours=settings.WAYMARK_WEBHOOK_ROTATION_GRACE_HOURS)
    endpoint.previous_secret, endpoint.secret = endpoint.secret, webhooks.new_secret()
    endpoint.previous_secret_expires_at = now + grace if grace else None
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint.secret
