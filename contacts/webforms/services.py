"""The verbs of forms and landing pages: accept a submission, confirm a double opt-in, publish a page.

A submission is one transaction: the person (matched by email or created), their consent with its
history, a "form submitted" interaction, the FormSubmission row and, for double opt-in, the queued
confirmation email. Only after it commits is `form.submitted` published, so a journey never sees
a submission that was rolled back, and a trigger problem never loses an accepted submission.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from channels import services as channels
from contacts import services as people
from contacts.models import (
    Channel,
    ConsentStatus,
    Contact,
    DoubleOptIn,
    FormConsent,
    FormSubmission,
    InteractionType,
    LandingPage,
    Lead,
    WebForm,
)
from contacts.models.webforms import ATTRIBUTE_PREFIX, PERSON_FIELDS
from contacts.validation import attribute_definitions
from contacts.webforms import blocks, tokens
from journeys import services as journeys

logger = logging.getLogger(__name__)
Person = Contact | Lead
SOURCE = "form"


@dataclass(frozen=True)
class Visit:
    """Where a submission came from (stored with it, for audits and abuse reports)."""

    ip_address: str | None = None
    user_agent: str = ""
    page_url: str = ""


@dataclass(frozen=True)
class Accepted:
    submission: FormSubmission
    duplicate: bool = False  # the same rendered form was sent again (a double click)


def email_field_key(form: WebForm, fields: list | None = None) -> str | None:
    for field in fields if fields is not None else form.fields.all():
        if field.maps_to == "email":
            return field.key
    return None


def find_person(form: WebForm, email: str) -> Person | None:
    """The existing person this email belongs to, by the form's matching strategy."""
    if not email or form.matching == WebForm.Matching.NONE:
        return None
    email = email.strip().lower()
    if form.matching in (WebForm.Matching.CONTACT_THEN_LEAD, WebForm.Matching.CONTACT):
        contact = Contact.objects.filter(email=email).first()
        if contact is not None or form.matching == WebForm.Matching.CONTACT:
            return contact
    # Of several leads with one address, the newest open one is the one a person is working with.
    return (Lead.objects.filter(email=email).exclude(status=Lead.Status.DISQUALIFIED).order_by("-created_at", "-id")
            .first())


def apply_values(person: Person, form: WebForm, values: dict[str, Any], fields: list) -> set[str]:
    """Copy mapped, non-empty values onto the person; returns the names of what was set."""
    kind = "contact" if isinstance(person, Contact) else "lead"
    changed: set[str] = set()
    attribute_keys = set(attribute_definitions(kind)) if any(
        f.maps_to.startswith(ATTRIBUTE_PREFIX) for f in fields) else set()
    for field in fields:
        value = values.get(field.key)
        if not field.maps_to or value in (None, "", []):
            continue
        if field.maps_to.startswith(ATTRIBUTE_PREFIX):
            key = field.maps_to.removeprefix(ATTRIBUTE_PREFIX)
            if key in attribute_keys:
                person.attributes = {**(person.attributes or {}), key: value}
                changed.add(field.maps_to)
        elif kind in PERSON_FIELDS.get(field.maps_to, ()):
            setattr(person, field.maps_to, ", ".join(value) if isinstance(value, list) else value)
            changed.add(field.maps_to)
    return changed


def _save_person(person: Person) -> None:
    person.full_clean(exclude=["owner", "account", "contact"], validate_unique=False)
    person.save()


def _new_person(form: WebForm, email: str) -> Person:
    if form.creates == WebForm.Creates.CONTACT:
        return Contact(email=email or None)
    return Lead(email=email, source=f"Form: {form.name}"[:100], topic=form.name[:200])


def _opt_in(person: Person, form: WebForm, *, channel: str, topic: Any, note: str, again: bool,
            now: datetime.datetime) -> bool:
    """Record an opt-in; True if it now awaits confirmation. Someone already effectively opted in
    keeps their confirmed consent: asking them to confirm again would silently stop their mail."""
    current = person.consents.filter(channel=channel, topic=topic).first()
    effective = current is not None and current.effective
    if effective and not again:
        return False
    pending = form.double_opt_in and not effective
    people.set_consent(person, channel=channel, topic=topic, status=ConsentStatus.OPTED_IN, now=now,
                       source=f"form:{form.slug}", double_opt_in=DoubleOptIn.PENDING if pending else None, note=note)
    return pending


def _record_consent(person: Person, form: WebForm, consent: FormConsent, *, now: datetime.datetime) -> bool:
    """Opt in on the checkbox's channel (and topic); a topic opt-in also opts in on its channel, which
    commercial sends need, unless the person already is. True if anything awaits confirmation."""
    note = consent.wording[:300]
    awaiting = False
    if consent.topic_id:
        awaiting = _opt_in(person, form, channel=consent.channel, topic=None, note=note, again=False, now=now)
    return _opt_in(person, form, channel=consent.channel, topic=consent.topic, note=note, again=True,
                   now=now) or awaiting


def submit(form: WebForm, *, values: dict[str, Any], consents_given: dict[int, bool], now: datetime.datetime,
           visit: Visit = Visit(), client_key: str | None = None, known_person: Person | None = None) -> Accepted:
    """Accept one submission of `form` (already validated); see the module docstring."""
    if client_key:
        existing = FormSubmission.objects.filter(client_key=client_key).first()
        if existing is not None:
            return Accepted(existing, duplicate=True)
    fields = list(form.fields.all())
    boxes = list(form.consents.select_related("topic"))
    try:
        with transaction.atomic():
            submission = _submit(form, fields, boxes, values=values, consents_given=consents_given, now=now,
                                 visit=visit, client_key=client_key, known_person=known_person)
    except IntegrityError:
        # Two submissions raced: the same rendered form twice, or two new people with one email.
        if client_key and (existing := FormSubmission.objects.filter(client_key=client_key).first()):
            return Accepted(existing, duplicate=True)
        with transaction.atomic():
            submission = _submit(form, fields, boxes, values=values, consents_given=consents_given, now=now,
                                 visit=visit, client_key=client_key, known_person=known_person)
    transaction.on_commit(partial(_publish, submission.pk), robust=True)
    return Accepted(submission)


def _lock_email(email: str) -> None:
    """Serialize submissions for one address until commit, so two at once cannot create two people.
    PostgreSQL: a transaction-scoped advisory lock; SQLite already runs one writer at a time."""
    if email and connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.blake2b(f"webform:{email}".encode(), digest_size=8).digest(), "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _submit(form: WebForm, fields: list, boxes: list[FormConsent], *, values: dict[str, Any],
            consents_given: dict[int, bool], now: datetime.datetime, visit: Visit, client_key: str | None,
            known_person: Person | None) -> FormSubmission:
    email_key = email_field_key(form, fields)
    email = str(values.get(email_key) or "").strip().lower() if email_key else ""
    _lock_email(email)
    person = known_person if known_person is not None and (not email or email == known_person.email) else None
    person = person or find_person(form, email)
    created = person is None
    if created:
        person = _new_person(form, email)
    apply_values(person, form, values, fields)
    _save_person(person)
    ticked = [box for box in boxes if consents_given.get(box.pk)]
    awaiting = [_record_consent(person, form, box, now=now) for box in ticked]
    double_opt_in = form.double_opt_in and any(awaiting)
    submission = FormSubmission.objects.create(
        **{"contact" if isinstance(person, Contact) else "lead": person}, form=form, email=email, values=values,
        consents=[{"id": box.pk, "channel": box.channel, "topic": box.topic.key if box.topic_id else None,
                   "wording": box.wording, "given": bool(consents_given.get(box.pk))} for box in boxes],
        created_person=created, ip_address=visit.ip_address, user_agent=visit.user_agent[:300],
        page_url=visit.page_url[:2000], client_key=client_key or None, submitted_at=now,
        double_opt_in=DoubleOptIn.PENDING if double_opt_in else DoubleOptIn.NOT_REQUIRED,
    )
    people.record_interaction(
        person, type=InteractionType.FORM_SUBMITTED, occurred_at=now, source=SOURCE, link=visit.page_url[:2000],
        properties={"form": form.slug, "form_name": form.name, "submission": submission.pk},
    )
    if double_opt_in:
        channels.queue_email(
            form.confirmation_email, person=person, idempotency_key=f"form-confirmation:{submission.pk}", now=now,
            context={"trigger": {"confirm_url": tokens.confirmation_url(submission), "form": form.slug,
                                 "form_name": form.name}},
        )
    return submission


def _publish(submission_id: int) -> None:
    publish_submitted(FormSubmission.objects.select_related("form", "contact", "lead").get(pk=submission_id))


def publish_submitted(submission: FormSubmission) -> None:
    """Publish `form.submitted` for a stored submission, as of when it was sent. Keyed by the submission,
    so publishing again (from the admin, after a crash between commit and publish) never fires it twice."""
    journeys.publish(
        "form.submitted", person=submission.person, source=SOURCE, idempotency_key=submission.trigger_key,
        now=submission.submitted_at,
        payload={"form": submission.form.slug, "fields": submission.values, "submission": submission.pk,
                 "form_name": submission.form.name},
    )


def confirm(submission: FormSubmission, *, now: datetime.datetime) -> bool:
    """The person clicked their confirmation link: their pending opt-ins from this submission now
    count. False if it was already confirmed. An opt-out recorded since stays an opt-out."""
    with transaction.atomic():
        updated = FormSubmission.objects.filter(
            pk=submission.pk, double_opt_in=DoubleOptIn.PENDING,
        ).update(double_opt_in=DoubleOptIn.CONFIRMED, confirmed_at=now)
        if not updated:
            return False
        person = submission.person
        scopes = {(c["channel"], None) for c in submission.consents if c["given"]}
        scopes |= {(c["channel"], c["topic"]) for c in submission.consents if c["given"]}
        pending = person.consents.filter(status=ConsentStatus.OPTED_IN, double_opt_in=DoubleOptIn.PENDING)
        for consent in pending.select_related("topic"):
            if (consent.channel, consent.topic.key if consent.topic_id else None) in scopes:
                people.confirm_double_opt_in(person, channel=consent.channel, topic=consent.topic, now=now,
                                             source=f"form:{submission.form.slug} (confirmed)")
    submission.double_opt_in, submission.confirmed_at = DoubleOptIn.CONFIRMED, now
    return True


# --- Landing pages --------------------------------------------------------------------------------
def publish_page(page: LandingPage, *, now: datetime.datetime) -> None:
    """Check the draft and make it what visitors see."""
    errors = blocks.block_errors(page.blocks)
    if not page.blocks:
        errors.append("an empty page cannot be published; add a block first")
    if errors:
        raise ValidationError(errors)
    LandingPage.objects.filter(pk=page.pk).update(
        status=LandingPage.Status.PUBLISHED, published_blocks=page.blocks, published_at=now)
    page.status, page.published_blocks, page.published_at = LandingPage.Status.PUBLISHED, page.blocks, now


def unpublish_page(page: LandingPage) -> None:
    LandingPage.objects.filter(pk=page.pk).update(status=LandingPage.Status.DRAFT)
    page.status = LandingPage.Status.DRAFT


CHANNEL_LABELS = dict(Channel.choices)
