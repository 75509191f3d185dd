"""Signed, tamper-proof tokens for tracking and unsubscribe links. Tokens carry ids, never URLs,
so a click redirect cannot be turned into an open redirect."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

OPEN, CLICK, UNSUBSCRIBE, PREFERENCES = "waymark.open", "waymark.click", "waymark.unsub", "waymark.prefs"


def _token(payload: dict, salt: str) -> str:
    return signing.dumps(payload, salt=salt, compress=True)


def read(token: str, salt: str, *, max_age: int | None = None) -> dict | None:
    """The token's payload, or None when it was altered or minted for another purpose."""
    try:
        return signing.loads(token, salt=salt, max_age=max_age)
    except signing.BadSignature:
        return None


def open_url(delivery_id: int) -> str:
    return settings.SITE_URL + reverse("channels:open", args=[_token({"d": delivery_id}, OPEN)])


def click_url(delivery_id: int, link: int) -> str:
    return settings.SITE_URL + reverse("channels:click", args=[_token({"d": delivery_id, "l": link}, CLICK)])


def unsubscribe_url(delivery_id: int) -> str:
    return settings.SITE_URL + reverse("channels:unsubscribe", args=[_token({"d": delivery_id}, UNSUBSCRIBE)])


def preferences_url(*, contact_id: int | None = None, lead_id: int | None = None) -> str:
    token = _token({"c": contact_id, "l": lead_id}, PREFERENCES)
    return settings.SITE_URL + reverse("channels:preferences", args=[token])


def unsubscribe_token(delivery_id: int) -> str:
    return _token({"d": delivery_id}, UNSUBSCRIBE)
