"""Read models of email for the marketer pages: delivery totals and rates per email and per
version, suppression reasons, the delivery log and one person's deliveries.

"Sent" means handed to the mail server (`sent_at` set), so a message that later bounced still
counts as sent; open and click rates are opened / sent and clicked / sent.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, fields

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from channels.models import Delivery, Email, EmailVersion
from contacts.models import Contact

Status = Delivery.Status
COUNTS = {
    "total": Count("id"),
    "queued": Count("id", filter=Q(status__in=[Status.QUEUED, Status.SENDING])),
    "sent": Count("id", filter=Q(sent_at__isnull=False)),
    "delivered": Count("id", filter=Q(delivered_at__isnull=False)),
    "suppressed": Count("id", filter=Q(status=Status.SUPPRESSED)),
    "failed": Count("id", filter=Q(status=Status.FAILED)),
    "bounced": Count("id", filter=Q(status=Status.BOUNCED) | Q(bounced_at__isnull=False)),
    "opened": Count("id", filter=Q(opened_at__isnull=False)),
    "clicked": Count("id", filter=Q(clicked_at__isnull=False)),
    "unsubscribed": Count("id", filter=Q(unsubscribed_at__isnull=False)),
}


@dataclass
class Totals:
    total: int = 0
    queued: int = 0
    sent: int = 0
    delivered: int = 0
    suppressed: int = 0
    failed: int = 0
    bounced: int = 0
    opened: int = 0
    clicked: int = 0
    unsubscribed: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @property
    def open_rate(self) -> float | None:
        """Opened / sent, in percent; None before anything was sent."""
        return 100 * self.opened / self.sent if self.sent else None

    @property
    def click_rate(self) -> float | None:
        return 100 * self.clicked / self.sent if self.sent else None


@dataclass
class VersionRow:
    version: EmailVersion
    totals: Totals


def _totals(row: dict) -> Totals:
    return Totals(**{name: row[name] for name in COUNTS})


def totals_by_email(email_ids: Iterable[int]) -> dict[int, Totals]:
    """Totals of each email in one grouped query (emails without deliveries are absent)."""
    rows = Delivery.objects.filter(email_id__in=list(email_ids)).order_by().values("email_id").annotate(**COUNTS)
    return {row["email_id"]: _totals(row) for row in rows}


def totals_by_tile(journey_id: int) -> dict[str, Totals]:
    """Totals of each send tile of a journey (by tile key), in one grouped query."""
    rows = (Delivery.objects.filter(journey_id=journey_id).exclude(tile_key="").order_by().values("tile_key")
            .annotate(**COUNTS))
    return {row["tile_key"]: _totals(row) for row in rows}


def totals_by_version(email: Email) -> tuple[list[VersionRow], Totals]:
    """Every published version, newest first, with its totals, and the sum over all versions."""
    rows = Delivery.objects.filter(email=email).order_by().values("version_id").annotate(**COUNTS)
    by_version = {row["version_id"]: _totals(row) for row in rows}
    versions = email.versions.select_related("published_by").defer("html", "text", "blocks").order_by("-number")
    table = [VersionRow(version, by_version.get(version.pk, Totals())) for version in versions]
    overall = sum((row.totals for row in table), Totals())
    return table, overall


def suppressed_reasons(email: Email) -> list[dict]:
    """Why messages were not sent, most frequent first: [{"reason", "count"}]."""
    return list(
        Delivery.objects.filter(email=email, status=Status.SUPPRESSED).order_by().values("reason")
        .annotate(count=Count("id")).order_by("-count", "reason")
    )


def delivery_log(email: Email, *, search: str = "") -> QuerySet[Delivery]:
    """The email's deliveries, newest first, optionally those whose address contains `search`."""
    deliveries = (
        Delivery.objects.filter(email=email).select_related("version")
        .only("id", "to_address", "status", "reason", "contact_id", "lead_id", "queued_at", "sent_at",
              "opened_at", "clicked_at", "bounced_at", "unsubscribed_at", "version__number")
    )
    if search:
        deliveries = deliveries.filter(to_address__icontains=search.strip())
    return deliveries.order_by("-queued_at", "-id")


def email_list(*, search: str = "", status: str = "") -> QuerySet[Email]:
    """Emails for the list page, with their topic and latest published version number."""
    latest = EmailVersion.objects.filter(email=OuterRef("pk")).order_by("-number").values("number")[:1]
    emails = Email.objects.select_related("topic").annotate(latest_version=Subquery(latest)).defer("blocks")
    if search:
        emails = emails.filter(Q(name__icontains=search) | Q(key__icontains=search) | Q(subject__icontains=search))
    if status:
        emails = emails.filter(status=status)
    return emails.order_by("name", "pk")


def contact_deliveries(contact: Contact, *, limit: int = 10) -> list[Delivery]:
    """A contact's latest messages with their email, for the contact page."""
    return list(
        Delivery.objects.filter(contact=contact).select_related("email", "version")
        .only("id", "status", "reason", "to_address", "queued_at", "sent_at", "opened_at", "clicked_at",
              "bounced_at", "email__id", "email__name", "version__number")
        .order_by("-queued_at", "-id")[:limit]
    )


def search_contacts(text: str, *, limit: int = 8) -> list[Contact]:
    """Contacts to preview an email as: address (or name) contains `text`."""
    text = text.strip()
    if not text:
        return []
    return list(
        Contact.objects.filter(Q(email__icontains=text) | Q(first_name__icontains=text)
                               | Q(last_name__icontains=text))
        .exclude(email__isnull=True).exclude(email="").order_by("email")[:limit]
    )


def recent_commercial_sends(*, contact_ids: Iterable[int] = (), lead_ids: Iterable[int] = (),
                            since: datetime.datetime) -> dict[tuple[str, int], list[datetime.datetime]]:
    """When each of these people was last sent (or queued) commercial email since `since`, oldest
    first, keyed ("contact", id) / ("lead", id): what journeys count against frequency caps."""
    not_sent = (Delivery.Status.SUPPRESSED, Delivery.Status.FAILED)
    found: dict[tuple[str, int], list[datetime.datetime]] = {}
    for key, ids in (("contact", list(contact_ids)), ("lead", list(lead_ids))):
        if not ids:
            continue
        rows = (Delivery.objects.filter(**{f"{key}_id__in": ids}, queued_at__gte=since,
                                        email__purpose=Email.Purpose.COMMERCIAL)
                .exclude(status__in=not_sent).order_by("queued_at").values_list(f"{key}_id", "queued_at"))
        for person_id, at in rows:
            found.setdefault((key, person_id), []).append(at)
    return found
