"""Reads shared by the segment pages, the API and exports."""

from __future__ import annotations

import datetime

from django.db.models import Max, Sum
from django.db.models.functions import TruncDate

from segments.models import Segment, SegmentRefresh


def membership_trend(segment: Segment, *, days: int, now: datetime.datetime) -> list[dict]:
    """One point per day over the last `days` days: members at the day's end, entered, exited.

    Days without a refresh carry the previous day's member count forward."""
    start = (now - datetime.timedelta(days=days - 1)).date()
    rows = (
        SegmentRefresh.objects.filter(segment=segment, started_at__date__gte=start)
        .annotate(day=TruncDate("started_at"))
        .values("day")
        .annotate(entered=Sum("entered"), exited=Sum("exited"), last_id=Max("id"))
        .order_by("day")
    )
    by_day = {row["day"]: row for row in rows}
    last_counts = dict(SegmentRefresh.objects.filter(pk__in=[r["last_id"] for r in by_day.values()])
                       .values_list("pk", "member_count"))
    before = SegmentRefresh.objects.filter(segment=segment, started_at__date__lt=start).order_by("-started_at",
                                                                                                  "-id").first()
    members = before.member_count if before else 0
    points = []
    for offset in range(days):
        day = start + datetime.timedelta(days=offset)
        row = by_day.get(day)
        if row:
            members = last_counts[row["last_id"]]
        points.append({"date": day.isoformat(), "members": members,
                       "entered": row["entered"] if row else 0, "exited": row["exited"] if row else 0})
    return points
