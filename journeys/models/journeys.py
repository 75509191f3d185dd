"""Journeys, their frozen versions, one run per person per entry and the step log."""

from __future__ import annotations

from django.db import models

from contacts.models import PersonRef

EXIT = "exit"  # the "next" of a tile that ends the path


def _empty_tiles() -> dict:
    return {"start": "", "tiles": {}}


class Journey(models.Model):
    class Audience(models.TextChoices):
        CONTACT = "contact", "Contacts"
        LEAD = "lead", "Leads"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"
        COMPLETED = "completed", "Completed"

    class ReEntry(models.TextChoices):
        NEVER = "never", "Never"
        AFTER_FINISH = "after_finish", "After finishing"
        ANY_TIME = "any_time", "Any time"

    name = models.CharField(max_length=200)
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.CONTACT)
    entry_trigger = models.CharField(max_length=100, blank=True, help_text="Trigger key that starts a run")
    entry_conditions = models.JSONField(
        null=True, blank=True, help_text="Segment query language; trigger.<field> reads the payload")
    entry_segment = models.ForeignKey("segments.Segment", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+", help_text="One-time entry of this segment's members")
    exit_trigger = models.CharField(max_length=100, blank=True)
    exit_segment = models.ForeignKey("segments.Segment", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    goal_trigger = models.CharField(max_length=100, blank=True)
    re_entry = models.CharField(max_length=12, choices=ReEntry.choices, default=ReEntry.NEVER)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    tiles = models.JSONField(default=_empty_tiles, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class JourneyVersion(models.Model):
    """The tiles as they were at go-live: runs follow their version, whatever the draft becomes."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    tiles = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["journey", "-number"]
        constraints = [models.UniqueConstraint(fields=["journey", "number"], name="journey_version_unique")]

    def __str__(self) -> str:
        return f"{self.journey} v{self.number}"


class JourneyRunQuerySet(models.QuerySet):
    def due(self, now):
        return self.filter(state__in=JourneyRun.OPEN_STATES, due_at__lte=now,
                           journey__status=Journey.Status.LIVE)

    def open(self):
        return self.filter(state__in=JourneyRun.OPEN_STATES)


class JourneyRun(PersonRef):
    """One person's way through one journey: where they stand, until when, and why they left."""

    class State(models.TextChoices):
        ACTIVE = "active", "Ready to run its tile"
        WAITING = "waiting", "Waiting"
        DONE = "done", "Done"
        EXITED = "exited", "Exited early"
        FAILED = "failed", "Failed"

    OPEN_STATES = (State.ACTIVE, State.WAITING)

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(JourneyVersion, on_delete=models.PROTECT, related_name="runs")
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    tile_key = models.CharField(max_length=100)
    attempt = models.PositiveIntegerField(default=1, help_text="Visit number of the current tile")
    visits = models.JSONField(default=dict, blank=True, help_text="Visits per tile key")
    due_at = models.DateTimeField(null=True, blank=True)
    waiting_for = models.CharField(max_length=100, null=True, blank=True, help_text="Trigger key")
    context = models.JSONField(default=dict, blank=True, help_text="The entry trigger's payload")
    entered_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)

    objects = JourneyRunQuerySet.as_manager()

    class Meta(PersonRef.Meta):
        ordering = ["-entered_at", "-id"]
        indexes = [
            models.Index(fields=["state", "due_at"], name="journey_run_claim"),
            models.Index(fields=["journey", "contact"], name="journey_run_contact"),
            models.Index(fields=["journey", "lead"], name="journey_run_lead"),
            models.Index(fields=["contact", "waiting_for"], name="journey_run_wait_contact"),
            models.Index(fields=["lead", "waiting_for"], name="journey_run_wait_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.journey} run {self.pk} ({self.state} at {self.tile_key})"


class StepLog(models.Model):
    """One tile visit. Unique on (run, tile, attempt): written in the same transaction as the
    tile's action, it is the idempotency record — a retried batch does nothing twice."""

    run = models.ForeignKey(JourneyRun, on_delete=models.CASCADE, related_name="steps")
    tile_key = models.CharField(max_length=100)
    attempt = models.PositiveIntegerField()
    at = models.DateTimeField()
    outcome = models.CharField(max_length=10)  # next, exit, goal, entered
    reason = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "tile_key", "attempt"], name="step_log_unique")]

    def __str__(self) -> str:
        return f"run {self.run_id} {self.tile_key}#{self.attempt}: {self.outcome}"
