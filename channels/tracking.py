"""Signed, tamper-proof tokens for tracking and unsubscribe links. Tokens carry ids, never URLs,
so a click redirect cannot be turned into an open redirect.

A message carries a dozen tokens (one per tracked link, the open pixel, unsubscribe, preferences),
so minting is on the sending path: tokens are exactly what `django.core.signing.dumps(payload,
salt=salt, compress=True)` returns, and `read` (`signing.loads`) checks them, but the salted HMAC
key is derived once per (secret, salt) rather than per token, and each URL's prefix and suffix
come from one `reverse()` per process rather than one per link.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import zlib
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.urls import get_script_prefix, get_urlconf, reverse

OPEN, CLICK, UNSUBSCRIBE, PREFERENCES = "waymark.open", "waymark.click", "waymark.unsub", "waymark.prefs"
_TOKEN_MARK = "WAYMARKTOKEN"  # stands for the token in a reversed URL


@lru_cache(maxsize=32)
def _keyed_hmac(secret: str | bytes, salt: str) -> hmac.HMAC:
    """Django's salted HMAC (`salted_hmac(salt + "signer", …, secret, algorithm="sha256")`), keyed once."""
    secret_bytes = secret if isinstance(secret, bytes) else secret.encode()
    key = hashlib.sha256((salt + "signer").encode() + secret_bytes).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def _token(payload: dict, salt: str) -> str:
    """`signing.dumps(payload, salt=salt, compress=True)`, byte for byte."""
    return _signed(json.dumps(payload, separators=(",", ":")).encode("latin-1"), salt)


def _ids(**ids: int | None) -> bytes:
    """The JSON of a payload of ids, as json.dumps writes it, without json.dumps."""
    return ("{" + ",".join(f'"{key}":{"null" if value is None else int(value)}' for key, value in ids.items())
            + "}").encode()


def _signed(data: bytes, salt: str) -> str:
    compressed = zlib.compress(data)
    if len(compressed) < len(data) - 1:
        value = "." + signing.b64_encode(compressed).decode()
    else:
        value = signing.b64_encode(data).decode()
    value = f"{value}:{signing.b62_encode(int(time.time()))}"
    mac = _keyed_hmac(settings.SECRET_KEY, salt).copy()
    mac.update(value.encode())
    return f"{value}:{signing.b64_encode(mac.digest()).decode()}"


def read(token: str, salt: str, *, max_age: int | None = None) -> dict | None:
    """The token's payload, or None when it was altered or minted for another purpose."""
    try:
        return signing.loads(token, salt=salt, max_age=max_age)
    except signing.BadSignature:
        return None


@lru_cache(maxsize=32)
def _url_parts(name: str, site_url: str, script_prefix: str, urlconf: str | None,
               _root_urlconf: str) -> tuple[str, str]:
    """What comes before and after the token in `name`'s absolute URL (reverse() quotes none of a
    token's characters: URL-safe base64, '.' and ':')."""
    before, after = (site_url + reverse(name, args=[_TOKEN_MARK], urlconf=urlconf)).split(_TOKEN_MARK)
    return before, after


class Links:
    """Tracking and unsubscribe URLs as reverse() builds them where this object was made (SITE_URL,
    script prefix, URLconf); make one per batch of messages and mint its URLs per message."""

    def __init__(self) -> None:
        where = (settings.SITE_URL, get_script_prefix(), get_urlconf(), settings.ROOT_URLCONF)
        self.open_parts = _url_parts("channels:open", *where)
        self.click_parts = _url_parts("channels:click", *where)
        self.unsubscribe_parts = _url_parts("channels:unsubscribe", *where)
        self.preferences_parts = _url_parts("channels:preferences", *where)

    def open_url(self, delivery_id: int) -> str:
        before, after = self.open_parts
        return before + _signed(_ids(d=delivery_id), OPEN) + after

    def click_url(self, delivery_id: int, link: int) -> str:
        before, after = self.click_parts
        return before + _signed(_ids(d=delivery_id, l=link), CLICK) + after

    def unsubscribe_url(self, delivery_id: int, *, token: str | None = None) -> str:
        before, after = self.unsubscribe_parts
        return before + (token or unsubscribe_token(delivery_id)) + after

    def preferences_url(self, *, contact_id: int | None = None, lead_id: int | None = None) -> str:
        before, after = self.preferences_parts
        return before + _signed(_ids(c=contact_id, l=lead_id), PREFERENCES) + after


def open_url(delivery_id: int) -> str:
    return Links().open_url(delivery_id)


def click_url(delivery_id: int, link: int) -> str:
    return Links().click_url(delivery_id, link)


def unsubscribe_url(delivery_id: int) -> str:
    return Links().unsubscribe_url(delivery_id)


def preferences_url(*, contact_id: int | None = None, lead_id: int | None = None) -> str:
    return Links().preferences_url(contact_id=contact_id, lead_id=lead_id)


def unsubscribe_token(delivery_id: int) -> str:
    return _signed(_ids(d=delivery_id), UNSUBSCRIBE)
