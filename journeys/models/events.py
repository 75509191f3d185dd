"""Trigger events: every published fact, stored before it is dispatched."""

from __future__ import annotations

from django.db import models

from contacts.models import PersonRef


class TriggerEvent(PersonRef):
    """One published fact, durable before it is dispatched."""

    key = models.CharField(max_length=100)
    payload = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    occurred_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta(PersonRef.Meta):
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["key", "occurred_at"], name="trigger_event_key"),
            # The dispatcher's claim: waiting events, oldest first. Partial, so an ordered scan with a
            # LIMIT reads only waiting events (and skips the dead entries of dispatched ones).
            models.Index(fields=["occurred_at", "id"], condition=models.Q(dispatched_at__isnull=True),
                         name="trigger_event_waiting"),
            models.Index(fields=["occurred_at"], name="trigger_event_time"),  # the recent events list
        ]

    def __str__(self) -> str:
        return f"{self.key} at {self.occurred_at:%Y-%m-%d %H:%M}"
