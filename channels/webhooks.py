"""Outgoing webhooks on the wire: Standard Webhooks signatures, the SSRF guard and the HTTP POST.

Signing follows https://www.standardwebhooks.com/: `webhook-signature: v1,<base64 HMAC-SHA256 of
"{webhook-id}.{webhook-timestamp}.{body}">`, keyed with the base64-decoded `whsec_` secret.

The SSRF guard resolves the host once, refuses the request unless every address is public (or the
operator allowed it in `WAYMARK_WEBHOOK_ALLOWED_HOSTS`), and the request then connects to that
checked address itself, sending the original name as `Host` and as the TLS server name (SNI and
certificate check). Nothing resolves the name a second time, so a DNS answer that changes between
the check and the connection (DNS rebinding) cannot steer the request to an internal address.
Redirects are never followed: a receiver cannot bounce the request somewhere unchecked.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

if TYPE_CHECKING:
    from channels.models import WebhookDelivery

SECRET_PREFIX = "whsec_"
USER_AGENT = "Waymark-Webhooks/1.0"
BODY_EXCERPT = 500
# Statuses worth retrying: the receiver was busy, timed out, or asked us to come back later.
RETRY_STATUSES = {408, 409, 425, 429}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")


# --- Signatures --------------------------------------------------------------------------------------
def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, *, msg_id: str, timestamp: int, body: str) -> str:
    """The `v1,<signature>` of one message under one secret."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Iterable[str], *, msg_id: str, timestamp: int, body: str) -> str:
    """Space-separated signatures, one per valid secret (two while a rotated secret is in its grace period)."""
    return " ".join(sign(secret, msg_id=msg_id, timestamp=timestamp, body=body) for secret in secrets_)


# --- The SSRF guard ----------------------------------------------------------------------------------
class UnsafeURL(ValueError):
    """The URL may not be called: wrong scheme, credentials, or a non-public address."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (a resolved, allowed address) and what to ask for there."""

    scheme: str
    host: str  # the name as written, for Host and TLS
    port: int
    address: str  # the checked IP to connect to
    path: str  # path and query

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def why_not_public(address: IPAddress) -> str:
    """Why requests to this address are refused, or "" when it is a public address."""
    inner = _embedded_ipv4(address)
    if inner is not None:
        reason = why_not_public(inner)
        return f"{reason} (inside {address})" if reason else ""
    for check, reason in (
        ("is_unspecified", "an unspecified address"), ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"), ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"), ("is_private", "a private address"),
    ):
        if getattr(address, check):
            return reason
    return "" if address.is_global else "not a public address"


def _allowed(host: str, address: IPAddress) -> bool:
    """Did the operator allow this host (by name) or this address (by IP or network)?"""
    for entry in settings.WAYMARK_WEBHOOK_ALLOWED_HOSTS:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            if entry.lower().rstrip(".") == host.lower().rstrip("."):
                return True
    return False


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"The host {host!r} could not be resolved ({exc}).") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])  # drop an IPv6 zone index
        if address not in addresses:
            addresses.append(address)
    return addresses


def check_url(url: str) -> Target:
    """Parse, resolve and check a webhook URL; raise UnsafeURL with a readable reason."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"Not a valid URL: {exc}.") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("Only http:// and https:// URLs can receive webhooks.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("Credentials in the URL are not allowed; the payload is signed with the endpoint's secret.")
    host = parts.hostname
    if not host:
        raise UnsafeURL("The URL has no host.")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(host, port)
    if not addresses:
        raise UnsafeURL(f"The host {host!r} has no address.")
    for address in addresses:
        reason = why_not_public(address)
        if reason and not _allowed(host, address):
            raise UnsafeURL(
                f"The host {host!r} resolves to {address}, {reason}; webhooks only go to public addresses "
                "(an administrator can allow internal hosts with WAYMARK_WEBHOOK_ALLOWED_HOSTS).")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=parts.scheme, host=host, port=port, address=str(addresses[0]), path=path)


# --- Sending -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attempt:
    """What one POST came to: delivered, retry (maybe after `retry_after`), or failed for good."""

    outcome: str  # "delivered" | "retry" | "failed"
    status_code: int | None = None
    body: str = ""
    error: str = ""
    retry_after: datetime.timedelta | None = None


def parse_retry_after(value: str | None, *, now: datetime.datetime) -> datetime.timedelta | None:
    """A Retry-After header (seconds, or an HTTP date) as a delay from `now`."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return datetime.timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(when - now, datetime.timedelta(0))


def _status_text(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def classify(status: int, body: str, retry_after: datetime.timedelta | None) -> Attempt:
    if 200 <= status < 300:
        return Attempt("delivered", status, body)
    if 300 <= status < 400:
        error = f"{_status_text(status)}: redirects are not followed; use the final URL."
        return Attempt("failed", status, body, error)
    if status >= 500 or status in RETRY_STATUSES:
        return Attempt("retry", status, body, _status_text(status), retry_after)
    return Attempt("failed", status, body, f"{_status_text(status)}: the receiver refused the message.")


def body_of(delivery: WebhookDelivery) -> str:
    """The JSON sent, the same on every attempt: {"type", "timestamp", "data": payload + person}."""
    person = delivery.person
    data = {**delivery.payload, "person": {"type": "contact" if delivery.contact_id else "lead",
                                           "id": person.pk, "email": person.email or None}}
    envelope = {"type": delivery.event_type, "timestamp": delivery.queued_at.isoformat().replace("+00:00", "Z"),
                "data": data}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, sort_keys=True, default=str)


def post(url: str, *, body: str, headers: dict[str, str], timeout: float,
         now: datetime.datetime) -> Attempt:
    """POST to a checked address; never raises for network trouble, never follows a redirect."""
    try:
        target = check_url(url)
    except UnsafeURL as exc:
        return Attempt("failed", error=f"Refused: {exc}")
    kwargs = {"timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(target.address, target.port, server_hostname=target.host,
                                           assert_hostname=target.host, cert_reqs="CERT_REQUIRED",
                                           ca_certs=settings.WAYMARK_WEBHOOK_CA_BUNDLE or None, **kwargs)
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, **kwargs)
    try:
        response = pool.urlopen("POST", target.path, body=body.encode(), redirect=False, preload_content=False,
                                headers={**headers, "Host": target.host_header, "User-Agent": USER_AGENT,
                                         "Content-Type": "application/json"})
        try:
            excerpt = response.read(BODY_EXCERPT * 4).decode("utf-8", "replace")[:BODY_EXCERPT]
        finally:
            response.release_conn()
    except urllib3.exceptions.NewConnectionError as exc:  # a subclass of the timeout error, but refused
        return Attempt("retry", error=f"Connection failed: {exc}")
    except urllib3.exceptions.TimeoutError:
        return Attempt("retry", error=f"Timed out after {timeout:g} s.")
    except urllib3.exceptions.HTTPError as exc:
        return Attempt("retry", error=f"Connection failed: {exc}")
    finally:
        pool.close()
    return classify(response.status, excerpt, parse_retry_after(response.headers.get("Retry-After"), now=now))


@dataclass(frozen=True)
class Request:
    url: str
    body: str
    headers: dict[str, str]
    timeout: float


def prepare(delivery: WebhookDelivery, *, now: datetime.datetime) -> Request | Attempt:
    """The signed request of one attempt (signed at `now` with every valid secret of the endpoint),
    or the failed Attempt when its endpoint is deactivated."""
    endpoint = delivery.endpoint
    if not endpoint.active:
        return Attempt("failed", error="The endpoint is deactivated.")
    body = body_of(delivery)
    timestamp = int(now.timestamp())
    headers = {
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(endpoint.signing_secrets(now=now), msg_id=delivery.message_id,
                                              timestamp=timestamp, body=body),
    }
    return Request(endpoint.url, body, headers, endpoint.timeout_seconds)


def send_batch(deliveries: list[WebhookDelivery], *, now: datetime.datetime) -> list[Attempt]:
    """Attempt each delivery, several at once, so one slow receiver does not hold up the batch.
    Requests are built here (database reads stay in this thread); only the HTTP runs in the pool."""
    requests = [prepare(delivery, now=now) for delivery in deliveries]
    pending = [request for request in requests if isinstance(request, Request)]
    if not pending:
        return list(requests)  # type: ignore[arg-type]
    workers = max(1, min(settings.WAYMARK_WEBHOOK_CONCURRENCY, len(pending)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
        answers = iter(pool.map(lambda r: post(r.url, body=r.body, headers=r.headers, timeout=r.timeout, now=now),
                                pending))
    return [next(answers) if isinstance(request, Request) else request for request in requests]
