"""Segments, their materialized membership, refresh runs, and membership history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from contacts.models import Audience, PersonRef


def _empty_query() -> dict:
    return {"version": 1, "match": "all", "conditions": []}


class Segment(models.Model):
    class Kind(models.TextChoices):
        DYNAMIC = "dynamic", "Dynamic (query)"
        STATIC = "static", "Static (hand-picked)"

    Audience = Audience

    class RefreshMode(models.TextChoices):
        CONTINUOUS = "continuous", "Continuous"
        DAILY = "daily", "Daily"
        MANUAL = "manual", "Manual"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        READY = "ready", "Ready"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DYNAMIC)
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.CONTACT)
    query = models.JSONField(default=_empty_query, blank=True)
    refresh_mode = models.CharField(max_length=12, choices=RefreshMode.choices, default=RefreshMode.DAILY)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT,
        help_text="Ready when the query validates; drafts are never refreshed or used by journeys",
    )
    depends_on = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="used_by",
        help_text="Segments this one's query refers to (kept in sync with the query)",
    )
    member_count = models.PositiveIntegerField(default=0)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_refresh_ms = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("segments:detail", args=[self.pk])

    @property
    def is_dynamic(self) -> bool:
        return self.kind == self.Kind.DYNAMIC


class SegmentMembership(PersonRef):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    entered_at = models.DateTimeField()

    class Meta(PersonRef.Meta):
        constraints = [
            *PersonRef.Meta.constraints,
            models.UniqueConstraint(fields=["segment", "contact"], name="membership_unique_contact",
                                    condition=models.Q(contact__isnull=False)),
            models.UniqueConstraint(fields=["segment", "lead"], name="membership_unique_lead",
                                    condition=models.Q(lead__isnull=False)),
        ]
        indexes = [
            models.Index(fields=["contact", "segment"], name="membership_by_contact"),
            models.Index(fields=["lead", "segment"], name="membership_by_lead"),
        ]


class SegmentRefresh(models.Model):
    """One refresh run: full (whole audience), partial (some people) or a static edit."""

    class Kind(models.TextChoices):
        FULL = "full", "Full"
        PARTIAL = "partial", "Re-check of changed people"
        EDIT = "edit", "Static members edited"

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="refreshes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    started_at = models.DateTimeField(db_index=True)
    duration_ms = models.PositiveIntegerField(default=0)
    entered = models.PositiveIntegerField(default=0)
    exited = models.PositiveIntegerField(default=0)
    member_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.segment} {self.kind} refresh at {self.started_at:%Y-%m-%d %H:%M}"


class MembershipChange(PersonRef):
    """Who entered or exited a segment, and when: the facts journeys listen to."""

    class Change(models.TextChoices):
        ENTERED = "entered", "Entered"
        EXITED = "exited", "Exited"

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="changes")
    refresh = models.ForeignKey(SegmentRefresh, on_delete=models.CASCADE, related_name="changes")
    change = models.CharField(max_length=8, choices=Change.choices)
    changed_at = models.DateTimeField()

    class Meta(PersonRef.Meta):
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["segment", "changed_at"], name="membership_change_time"),
            models.Index(fields=["refresh", "change"], name="membership_change_refresh"),
        ]
