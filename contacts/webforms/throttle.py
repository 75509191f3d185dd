"""Rate limits of the public form endpoints: per client address and per form.

Fixed windows counted in the default cache with `add` + `incr`, both atomic on Redis (production,
CACHE_URL=redis://…, shared by every worker) and on the local-memory cache of the single-process
embedded default. Rates are "<count>/<s|m|h>" settings.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULTS = {"WAYMARK_FORM_RATE_PER_IP": "10/m", "WAYMARK_FORM_RATE_PER_FORM": "600/m"}


@dataclass(frozen=True)
class Refusal:
    scope: str
    retry_after: int


def parse_rate(rate: str) -> tuple[int, int]:
    """"10/m" -> (10, 60)."""
    count, _, period = rate.partition("/")
    try:
        return int(count), PERIODS[period.strip().lower()[:1]]
    except (ValueError, KeyError):
        raise ValueError(f"A rate is <count>/<s|m|h|d>, like 10/m, not {rate!r}") from None


def client_ip(request: HttpRequest) -> str:
    """The client's address. Behind a proxy, WAYMARK_CLIENT_IP_HEADER names the header it sets
    (e.g. HTTP_X_FORWARDED_FOR); its first address is the client's."""
    header = getattr(settings, "WAYMARK_CLIENT_IP_HEADER", "")
    forwarded = request.META.get(header, "") if header else ""
    return forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR", "") or "unknown"


def _hit(key: str, rate: str, now: datetime.datetime) -> int | None:
    """Count one hit; the seconds until the window ends if the limit is exceeded, else None."""
    limit, period = parse_rate(rate)
    window = int(now.timestamp()) // period
    cache_key = f"wm:rl:{key}:{period}:{window}"
    cache.add(cache_key, 0, timeout=period + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr: this hit opens a new window
        cache.add(cache_key, 1, timeout=period + 1)
        count = 1
    if count > limit:
        return max(1, (window + 1) * period - int(now.timestamp()))
    return None


def check(request: HttpRequest, form_slug: str, *, now: datetime.datetime) -> Refusal | None:
    """Count this submission against the client's and the form's limits; a Refusal if over either."""
    ip_rate = getattr(settings, "WAYMARK_FORM_RATE_PER_IP", DEFAULTS["WAYMARK_FORM_RATE_PER_IP"])
    form_rate = getattr(settings, "WAYMARK_FORM_RATE_PER_FORM", DEFAULTS["WAYMARK_FORM_RATE_PER_FORM"])
    retry = _hit(f"ip:{client_ip(request)}", ip_rate, now)
    if retry is not None:
        return Refusal("ip", retry)
    retry = _hit(f"form:{form_slug}", form_rate, now)
    if retry is not None:
        return Refusal("form", retry)
    return None
