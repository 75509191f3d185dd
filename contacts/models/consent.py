"""Consent per person, channel and topic, with an append-only history."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from contacts.models.person_ref import PersonRef


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PUSH = "push", "Push"


class Topic(models.Model):
    """A subscription topic such as "Newsletter" or "Events"."""

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    requires_opt_in = models.BooleanField(
        default=False,
        help_text="If set, commercial messages on this topic need an explicit topic opt-in; "
        "otherwise only a topic opt-out blocks them.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ConsentStatus(models.TextChoices):
    OPTED_IN = "opted_in", "Opted in"
    OPTED_OUT = "opted_out", "Opted out"
    NOT_SET = "not_set", "Not set"


class DoubleOptIn(models.TextChoices):
    NOT_REQUIRED = "not_required", "Not required"
    PENDING = "pending", "Awaiting confirmation"
    CONFIRMED = "confirmed", "Confirmed"


class Consent(PersonRef):
    """The current consent of one person for a channel (topic empty) or a channel + topic."""

    channel = models.CharField(max_length=10, choices=Channel.choices)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.CASCADE, related_name="consents")
    status = models.CharField(max_length=12, choices=ConsentStatus.choices, default=ConsentStatus.NOT_SET)
    double_opt_in = models.CharField(
        max_length=14, choices=DoubleOptIn.choices, default=DoubleOptIn.NOT_REQUIRED
    )
    source = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField()

    class Meta(PersonRef.Meta):
        ordering = ["channel", "topic__name"]
        constraints = [
            *PersonRef.Meta.constraints,
            # Channel-level rows (no topic) and topic rows are unique separately: NULL topics
            # would otherwise never collide.
            *(
                models.UniqueConstraint(
                    fields=[key, "channel", *(["topic"] if with_topic else [])],
                    condition=models.Q(**{f"{key}__isnull": False, "topic__isnull": not with_topic}),
                    name=f"consent_unique_{key}_{'topic' if with_topic else 'channel'}",
                )
                for key in ("contact", "lead")
                for with_topic in (False, True)
            ),
        ]

    def __str__(self) -> str:
        scope = f"{self.get_channel_display()} / {self.topic}" if self.topic_id else self.get_channel_display()
        return f"{scope}: {self.get_status_display()}"

    @property
    def effective(self) -> bool:
        """Opted in, and confirmed where double opt-in was asked for."""
        return self.status == ConsentStatus.OPTED_IN and self.double_opt_in != DoubleOptIn.PENDING


class ConsentChange(PersonRef):
    """One immutable line of consent history. Rows are only ever inserted."""

    channel = models.CharField(max_length=10, choices=Channel.choices)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    old_status = models.CharField(max_length=12, choices=ConsentStatus.choices)
    new_status = models.CharField(max_length=12, choices=ConsentStatus.choices)
    double_opt_in = models.CharField(max_length=14, choices=DoubleOptIn.choices)
    source = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="e.g. the consent wording shown")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(db_index=True)

    class Meta(PersonRef.Meta):
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel}: {self.old_status} → {self.new_status} ({self.changed_at:%Y-%m-%d})"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Consent history is append-only; record a new change instead.")
        super().save(*args, **kwargs)
