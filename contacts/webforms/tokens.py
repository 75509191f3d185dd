"""Signed tokens of the public forms (django.core.signing, one salt per purpose).

- render token: issued with every rendered form; proves the submitter fetched it, carries a nonce
  (a double click stores one submission) and the render time (bots post faster than people type).
- prefill token: a link that opens a form filled in with a known person's details.
- confirmation token: the double opt-in link of one submission.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

from contacts.models import Contact, FormSubmission, Lead, WebForm

RENDER_SALT = "webforms.render"
PREFILL_SALT = "webforms.prefill"
CONFIRM_SALT = "webforms.confirm"
PREFILL_MAX_AGE = datetime.timedelta(days=30)
CONFIRM_MAX_AGE = datetime.timedelta(days=30)


class TokenError(ValueError):
    pass


@dataclass(frozen=True)
class RenderToken:
    form_id: int
    nonce: str
    issued_at: datetime.datetime


def render_token(form: WebForm, *, now: datetime.datetime) -> str:
    return signing.dumps({"f": form.pk, "n": secrets.token_urlsafe(16), "t": int(now.timestamp())},
                         salt=RENDER_SALT, compress=True)


def read_render_token(token: str, form: WebForm, *, now: datetime.datetime) -> RenderToken:
    """The token's content, or TokenError saying why the form must be sent again."""
    max_age = getattr(settings, "WAYMARK_FORM_TOKEN_MAX_AGE", 2 * 24 * 3600)
    try:
        data = signing.loads(token, salt=RENDER_SALT)
    except signing.BadSignature:
        raise TokenError("This form could not be verified. Please submit it again.") from None
    issued = datetime.datetime.fromtimestamp(data.get("t", 0), tz=datetime.UTC)
    if data.get("f") != form.pk:
        raise TokenError("This form could not be verified. Please submit it again.")
    if (now - issued).total_seconds() > max_age:
        raise TokenError("This form was open for a long time. Please check your answers and submit again.")
    return RenderToken(form_id=form.pk, nonce=str(data.get("n", "")), issued_at=issued)


def prefill_token(person: Contact | Lead) -> str:
    kind = "contact" if isinstance(person, Contact) else "lead"
    return signing.dumps({"k": kind, "id": person.pk}, salt=PREFILL_SALT)


def prefill_url(form: WebForm, person: Contact | Lead) -> str:
    """The hosted form's address, filled in for `person` (valid for 30 days)."""
    return f"{settings.SITE_URL}{form.public_url()}?p={prefill_token(person)}"


def read_prefill_token(token: str) -> Contact | Lead | None:
    """The person a prefill link was made for; None if it is forged, expired or they are gone."""
    try:
        data = signing.loads(token, salt=PREFILL_SALT, max_age=PREFILL_MAX_AGE)
    except signing.BadSignature:
        return None
    model = {"contact": Contact, "lead": Lead}.get(data.get("k"))
    return model.objects.filter(pk=data.get("id")).first() if model else None


def confirmation_url(submission: FormSubmission) -> str:
    token = signing.dumps({"s": submission.pk}, salt=CONFIRM_SALT)
    return settings.SITE_URL + reverse("webforms:confirm", args=[token])


def read_confirmation_token(token: str) -> FormSubmission | None:
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        return None
    return FormSubmission.objects.select_related("form", "contact", "lead").filter(pk=data.get("s")).first()
