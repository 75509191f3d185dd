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
            models.Index(fields=["dispatched_at", "occurred_at"], name="trigger_event_undispatched"),
            models.Index(fields=["occurred_at"], name="trigger_event_time"),  # the recent events list
        ]

    def __str__(self) -> str:
        return f"{self.key} at {self.occurred_at:%Y-%m-%d %H:%M}"
