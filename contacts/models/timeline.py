"""Interaction: the behavioral timeline of contacts and leads that segments filter on."""

from __future__ import annotations

from django.db import models

from contacts.models.person_ref import PersonRef


class InteractionType(models.TextChoices):
    EMAIL_DELIVERED = "email_delivered", "Email delivered"
    EMAIL_OPENED = "email_opened", "Email opened"
    EMAIL_CLICKED = "email_clicked", "Email link clicked"
    EMAIL_BOUNCED = "email_bounced", "Email bounced"
    EMAIL_UNSUBSCRIBED = "email_unsubscribed", "Unsubscribed"
    FORM_SUBMITTED = "form_submitted", "Form submitted"
    PAGE_VISITED = "page_visited", "Page visited"
    EVENT_REGISTERED = "event_registered", "Event registered"
    EVENT_ATTENDED = "event_attended", "Event attended"
    PURCHASE = "purchase", "Purchase"
    CUSTOM = "custom", "Custom"


class Interaction(PersonRef):
    """One thing a person did. Typed columns for what segments filter on, the rest in properties.

    Values from other apps (email, journey, tile) are plain values, not foreign keys, so the
    timeline outlives what it points at and the segment compiler joins nothing it need not.
    """

    type = models.CharField(max_length=30, choices=InteractionType.choices)
    occurred_at = models.DateTimeField()
    email_key = models.CharField(max_length=100, blank=True, help_text="Which email (its key)")
    link = models.CharField(max_length=2000, blank=True, help_text="Clicked URL or visited page")
    product = models.CharField(max_length=200, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    journey_id = models.BigIntegerField(null=True, blank=True)
    tile_key = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=100, blank=True, help_text="Which system recorded it")
    name = models.CharField(max_length=100, blank=True, help_text="For custom interactions: what happened")
    properties = models.JSONField(default=dict, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta(PersonRef.Meta):
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "type", "occurred_at"], name="interaction_contact_type"),
            models.Index(fields=["lead", "type", "occurred_at"], name="interaction_lead_type"),
            models.Index(fields=["type", "occurred_at"], name="interaction_type_time"),
            models.Index(fields=["type", "product", "occurred_at"], name="interaction_product"),
            models.Index(fields=["type", "email_key", "occurred_at"], name="interaction_email"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} at {self.occurred_at:%Y-%m-%d %H:%M}"
