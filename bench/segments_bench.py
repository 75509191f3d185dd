"""bench segments: full refreshes of four reference segments against hand-written SQL.

Runs on whatever people data the database holds (`seed_scale` makes the reference data set:
1,000,000 contacts and 10,000,000 interactions); with fewer than `contacts` contacts it seeds
that many first. Each Waymark refresh starts from an empty membership and writes the members and
their "entered" changes; each baseline selects the same set with hand-written SQL into a bare
table. A-minus-B is composed from the stored memberships on both sides (an anti-join).
"""

from __future__ import annotations

import statistics
import time

from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from bench.common import Log, Result, ratio
from contacts.models import Contact, CustomAttribute, Interaction
from segments import services
from segments.models import Segment, SegmentMembership

DEFAULT_CONTACTS = 100_000
RECHECKS = 200


def _query(*conditions: dict) -> dict:
    return {"version": 1, "match": "all", "conditions": list(conditions)}


def _texas_loyal() -> list[dict]:
    return [{"type": "attribute", "field": "state", "op": "equals", "value": "Texas"},
            {"type": "attribute", "field": "attributes.loyalty_member", "op": "is_true"}]


def _purchase(product: str, **extra) -> dict:
    return {"type": "behavior", "interaction": "purchase",
            "where": [{"field": "product", "op": "equals", "value": product}], **extra}


def _baseline(sql: str, params: list) -> tuple[float, set[int]]:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_members")
        cursor.execute("CREATE TEMP TABLE bench_members (contact_id bigint PRIMARY KEY)")
        started = time.perf_counter()
        cursor.execute(f"INSERT INTO bench_members (contact_id) {sql}", params)
        seconds = time.perf_counter() - started
        cursor.execute("SELECT contact_id FROM bench_members")
        members = {row[0] for row in cursor.fetchall()}
        cursor.execute("DROP TABLE bench_members")
    return seconds, members


def _refresh(segment: Segment, now) -> tuple[float, set[int]]:
    started = time.perf_counter()
    services.refresh(segment, now=now)
    seconds = time.perf_counter() - started
    return seconds, set(SegmentMembership.objects.filter(segment=segment).values_list("contact_id", flat=True))


def run(*, contacts: int | None, log: Log) -> Result:
    wanted = contacts or DEFAULT_CONTACTS
    if Contact.objects.count() < wanted:
        log(f"segments: seeding {wanted} contacts and {wanted * 10} interactions")
        call_command("seed_scale", contacts=wanted, interactions=wanted * 10)
    CustomAttribute.objects.get_or_create(entity="contact", key="loyalty_member",
                                          defaults={"label": "Loyalty member", "type": "boolean"})
    now = timezone.now()
    link = (Interaction.objects.filter(type="email_clicked").exclude(link="").values_list("link", flat=True)
            .first() or "https://example.com")
    since = now - timezone.timedelta(days=90)
    table, interactions = Contact._meta.db_table, Interaction._meta.db_table
    loyal = "(c.attributes -> 'loyalty_member') = 'true'" if connection.vendor == "postgresql" else \
        "json_extract(c.attributes, '$.loyalty_member') = 1"
    references = {
        "attribute": (_query(*_texas_loyal()),
                      f"SELECT c.id FROM {table} c WHERE c.state = %s AND {loyal}", ["Texas"]),
        "behavioral": (_query({"type": "behavior", "interaction": "email_opened", "window": {"last_days": 90}},
                              {"type": "behavior", "interaction": "email_clicked", "window": {"last_days": 90},
                               "where": [{"field": "link", "op": "equals", "value": link}]}),
                       f"SELECT c.id FROM {table} c WHERE EXISTS (SELECT 1 FROM {interactions} i WHERE "
                       f"i.contact_id = c.id AND i.type = 'email_opened' AND i.occurred_at >= %s AND "
                       f"i.occurred_at <= %s) AND EXISTS (SELECT 1 FROM {interactions} i WHERE i.contact_id = c.id "
                       f"AND i.type = 'email_clicked' AND i.link = %s AND i.occurred_at >= %s AND i.occurred_at <= %s)",
                       [since, now, link, since, now]),
        "texas_cold_brew": (_query(*_texas_loyal(), _purchase("cold brew", window={"last_days": 90}),
                                   _purchase("cold brew concentrate", count={"op": "exactly", "value": 0})),
                            f"SELECT c.id FROM {table} c WHERE c.state = %s AND {loyal} AND EXISTS (SELECT 1 FROM "
                            f"{interactions} i WHERE i.contact_id = c.id AND i.type = 'purchase' AND i.product = %s "
                            f"AND i.occurred_at >= %s AND i.occurred_at <= %s) AND NOT EXISTS (SELECT 1 FROM "
                            f"{interactions} i WHERE i.contact_id = c.id AND i.type = 'purchase' AND i.product = %s)",
                            ["Texas", "cold brew", since, now, "cold brew concentrate"]),
    }
    result = Result()
    result.figures["baseline"] = "hand-written SQL selecting the same set into a bare table"
    result.figures["contacts"] = Contact.objects.count()
    made: list[Segment] = []
    try:
        for name, (query, sql, params) in references.items():
            segment = services.save_segment(Segment(name=f"bench {name}", query=query, refresh_mode="manual"),
                                            now=now)
            made.append(segment)
            waymark_s, members = _refresh(segment, now)
            baseline_s, expected = _baseline(sql, params)
            result.figures[f"{name}_members"] = len(members)
            result.figures[f"{name}_refresh_ms"] = round(waymark_s * 1000, 1)
            result.figures[f"{name}_baseline_ms"] = round(baseline_s * 1000, 1)
            result.ratios[name] = ratio(waymark_s, baseline_s)
            result.checks[f"{name}_same_members"] = members == expected
            log(f"segments: {name} {len(members)} members, {waymark_s * 1000:.0f} ms vs {baseline_s * 1000:.0f} ms")
        loyal_segment = services.save_segment(Segment(name="bench loyal", refresh_mode="manual", query=_query(
            {"type": "attribute", "field": "attributes.loyalty_member", "op": "is_true"})), now=now)
        made.append(loyal_segment)
        services.refresh(loyal_segment, now=now)
        composed = services.save_segment(Segment(name="bench loyal minus texas", refresh_mode="manual", query=_query(
            {"type": "segment", "segment": loyal_segment.pk},
            {"type": "segment", "op": "not_in", "segment": made[0].pk})), now=now)
        made.append(composed)
        waymark_s, members = _refresh(composed, now)
        memberships = SegmentMembership._meta.db_table
        baseline_s, expected = _baseline(
            f"SELECT a.contact_id FROM {memberships} a WHERE a.segment_id = %s AND NOT EXISTS (SELECT 1 FROM "
            f"{memberships} b WHERE b.segment_id = %s AND b.contact_id = a.contact_id)",
            [loyal_segment.pk, made[0].pk])
        result.figures.update(a_minus_b_members=len(members), a_minus_b_refresh_ms=round(waymark_s * 1000, 1),
                              a_minus_b_baseline_ms=round(baseline_s * 1000, 1))
        result.ratios["a_minus_b"] = ratio(waymark_s, baseline_s)
        result.checks["a_minus_b_same_members"] = members == expected
        _recheck(made[2], result, now)
    finally:
        Segment.objects.filter(pk__in=[s.pk for s in made]).delete()
    return result


def _recheck(segment: Segment, result: Result, now) -> None:
    """Single-contact re-check: Waymark's recheck (decide + write the difference) against one indexed
    EXISTS query for the same contact."""
    ids = list(Contact.objects.order_by("?").values_list("pk", flat=True)[:RECHECKS])
    waymark, baseline = [], []
    table = SegmentMembership._meta.db_table
    for contact_id in ids:
        started = time.perf_counter()
        services.recheck(segment, [contact_id], now=now)
        waymark.append(time.perf_counter() - started)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE segment_id = %s AND contact_id = %s)",
                           [segment.pk, contact_id])
            cursor.fetchone()
        baseline.append(time.perf_counter() - started)
    result.figures["recheck_p50_ms"] = round(statistics.median(waymark) * 1000, 3)
    result.figures["recheck_baseline_p50_ms"] = round(statistics.median(baseline) * 1000, 3)
    result.ratios["recheck"] = ratio(statistics.median(waymark), statistics.median(baseline))
