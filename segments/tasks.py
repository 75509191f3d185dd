"""Celery doors of segments: ids in, one service call."""

import datetime

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from segments import services
from segments.models import Segment


@shared_task
def recheck_people(contact_ids: list[int], lead_ids: list[int]) -> int:
    return services.recheck_people(contact_ids=contact_ids, lead_ids=lead_ids, now=timezone.now())


@shared_task
def refresh_segment(segment_id: int) -> int:
    segment = Segment.objects.filter(pk=segment_id, status=Segment.Status.READY, kind=Segment.Kind.DYNAMIC).first()
    if segment is None:
        return 0
    return services.refresh(segment, now=timezone.now()).member_count


@shared_task
def refresh_due() -> int:
    every = datetime.timedelta(seconds=settings.WAYMARK_CONTINUOUS_FULL_REFRESH_SECONDS)
    return services.refresh_due(now=timezone.now(), continuous_every=every)
