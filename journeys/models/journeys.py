"""Journeys, their frozen versions, one run per person per entry and the step log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from contacts.models import Audience, Contact, Lead, PersonRef

EXIT = "exit"  # the "next" of a tile that ends the path


def _empty_tiles() -> dict:
    return {"start": "", "tiles": {}}


class Journey(models.Model):
    Audience = Audience

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"
        COMPLETED = "completed", "Completed"

    class EntryMode(models.TextChoices):
        ONE_TIME = "one_time", "One time"
        CONTINUOUS = "continuous", "Continuous (new members enter as they qualify)"
        REPEATING = "repeating", "Repeating"

    class RepeatUnit(models.TextChoices):
        DAYS = "days", "Days"
        WEEKS = "weeks", "Weeks"

    class ReEntry(models.TextChoices):
        NEVER = "never", "Never"
        AFTER_FINISH = "after_finish", "After finishing"
        ANY_TIME = "any_time", "Any time"
        AFTER_DAYS = "after_days", "After N days"

    class CapAction(models.TextChoices):
        SKIP = "skip", "Skip the message (logged)"
        DEFER = "defer", "Defer it to the next allowed time"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.CONTACT)
    # Entry: a trigger (with optional conditions), or a segment with a mode.
    entry_trigger = models.CharField(max_length=100, blank=True, help_text="Trigger key that starts a run")
    entry_conditions = models.JSONField(
        null=True, blank=True, help_text="Segment query language; trigger.<field> reads the payload")
    entry_segment = models.ForeignKey("segments.Segment", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+", help_text="Members of this segment enter")
    entry_mode = models.CharField(max_length=10, choices=EntryMode.choices, default=EntryMode.ONE_TIME,
                                  help_text="For segment entry")
    entry_at = models.DateTimeField(null=True, blank=True,
                                    help_text="One-time: when members enter (empty = at go-live); "
                                              "repeating: the first entry")
    repeat_every = models.PositiveIntegerField(null=True, blank=True)
    repeat_unit = models.CharField(max_length=5, choices=RepeatUnit.choices, default=RepeatUnit.DAYS)
    next_entry_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                         help_text="When the segment's members next enter (set by the engine)")
    # Governance.
    exclusion_segments = models.ManyToManyField("segments.Segment", blank=True, related_name="+",
                                                help_text="Members never enter, and leave at their next step")
    honor_suppression = models.BooleanField(default=True,
                                            help_text="Honour the global suppression segment (Journey settings)")
    exit_trigger = models.CharField(max_length=100, blank=True)
    exit_segment = models.ForeignKey("segments.Segment", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    goal_trigger = models.CharField(max_length=100, blank=True)
    goal_segment = models.ForeignKey("segments.Segment", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    goal_target_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    re_entry = models.CharField(max_length=12, choices=ReEntry.choices, default=ReEntry.NEVER)
    re_entry_days = models.PositiveIntegerField(null=True, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True, help_text="No one enters before")
    ends_at = models.DateTimeField(null=True, blank=True, help_text="No one enters after")
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA name for waits, quiet hours, caps")
    use_contact_time_zone = models.BooleanField(
        default=True, help_text="Quiet hours in the contact's own time zone when known")
    quiet_hours_start = models.TimeField(null=True, blank=True, help_text="e.g. 21:00")
    quiet_hours_end = models.TimeField(null=True, blank=True, help_text="e.g. 08:00")
    cap_per_day = models.PositiveIntegerField(null=True, blank=True, help_text="Empty = the global default")
    cap_per_week = models.PositiveIntegerField(null=True, blank=True, help_text="Empty = the global default")
    cap_action = models.CharField(max_length=5, choices=CapAction.choices, default=CapAction.DEFER)
    priority = models.SmallIntegerField(default=0, help_text="Higher wins the last slot under a frequency cap")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    tiles = models.JSONField(default=_empty_tiles, blank=True, help_text="The draft; go-live freezes a version")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("journeys:detail", args=[self.pk])

    # What may change while people are inside (applies at once): its name and its governance. Entry
    # and tiles of a live journey change only by a new version (tiles) or a clone (entry).
    GOVERNANCE_FIELDS = (
        "exclusion_segments", "honor_suppression", "exit_trigger", "exit_segment", "goal_trigger", "goal_segment",
        "goal_target_percent", "re_entry", "re_entry_days", "starts_at", "ends_at", "time_zone",
        "use_contact_time_zone", "quiet_hours_start", "quiet_hours_end", "cap_per_day", "cap_per_week",
        "cap_action", "priority",
    )
    LIVE_EDITABLE_FIELDS = ("name", "description", *GOVERNANCE_FIELDS)

    @property
    def is_trigger_based(self) -> bool:
        return bool(self.entry_trigger)


class JourneySettings(models.Model):
    """Defaults every journey shares (one row): the global suppression segment and frequency caps."""

    suppression_segment = models.ForeignKey("segments.Segment", null=True, blank=True,
                                             on_delete=models.PROTECT, related_name="+")
    cap_per_day = models.PositiveIntegerField(null=True, blank=True,
                                              help_text="Commercial messages per person per channel per day")
    cap_per_week = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "journey settings"

    def __str__(self) -> str:
        return "Journey settings"

    @classmethod
    def current(cls) -> JourneySettings:
        return cls.objects.order_by("pk").first() or cls.objects.create()


class JourneyVersion(models.Model):
    """The tiles as they were at go-live: runs follow their version, whatever the draft becomes."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    tiles = models.JSONField()
    created_at = models.DateTimeField()
    ab_winners = models.JSONField(default=dict, blank=True, help_text="A/B tile key -> winning variant name")

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

    # A step rewrites every index of the run (its state and due time are indexed), so the person
    # and journey keys have no index of their own: those in Meta lead with them.
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="journeyruns",
                                db_index=False)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="journeyruns",
                             db_index=False)
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="runs", db_index=False)
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
            # "does any run wait for this trigger?" (ingest.has_listeners) without a scan of every run
            models.Index(fields=["waiting_for"], condition=models.Q(waiting_for__isnull=False),
                         name="journey_run_waiting_for"),
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
