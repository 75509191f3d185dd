"""Email: sender and brand profiles, reusable content blocks, emails and their published versions,
deliveries (one row per message) and the state of each address."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from contacts.models import PersonRef, Topic


class SenderProfile(models.Model):
    name = models.CharField(max_length=100, help_text="Internal name, e.g. 'Contoso newsletter'")
    from_name = models.CharField(max_length=100)
    from_email = models.EmailField()
    reply_to = models.EmailField(blank=True)
    dkim_selector = models.CharField(max_length=63, blank=True, help_text="DNS selector, e.g. 'waymark'")
    dkim_private_key = models.TextField(
        blank=True, help_text="PEM private key for DKIM signing of this sender's domain (empty: no signing)"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.from_name} <{self.from_email}>"

    @property
    def domain(self) -> str:
        return self.from_email.rsplit("@", 1)[-1].lower()


class BrandProfile(models.Model):
    name = models.CharField(max_length=100)
    logo_url = models.URLField(blank=True)
    primary_color = models.CharField(max_length=7, default="#4f46e5")
    text_color = models.CharField(max_length=7, default="#111827")
    background_color = models.CharField(max_length=7, default="#f3f4f6")
    font_family = models.CharField(max_length=200, default="Helvetica, Arial, sans-serif")
    footer_text = models.TextField(blank=True)
    postal_address = models.CharField(max_length=300, help_text="Shown in every commercial email's footer")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ContentBlock(models.Model):
    """Reusable content: edited once, picked up by emails at their next publish."""

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    blocks = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Email(models.Model):
    class Purpose(models.TextChoices):
        COMMERCIAL = "commercial", "Commercial"
        TRANSACTIONAL = "transactional", "Transactional"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        READY = "ready", "Ready"

    name = models.CharField(max_length=200)
    key = models.SlugField(max_length=100, unique=True, help_text="Stable name recorded on interactions")
    subject = models.CharField(max_length=300)
    preheader = models.CharField(max_length=300, blank=True)
    sender = models.ForeignKey(SenderProfile, on_delete=models.PROTECT, related_name="emails")
    brand = models.ForeignKey(BrandProfile, on_delete=models.PROTECT, related_name="emails")
    purpose = models.CharField(max_length=14, choices=Purpose.choices, default=Purpose.COMMERCIAL)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.PROTECT, related_name="emails")
    blocks = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
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
        return reverse("channels:email_detail", args=[self.pk])

    @property
    def commercial(self) -> bool:
        return self.purpose == self.Purpose.COMMERCIAL


class EmailVersion(models.Model):
    """A published, frozen email: compiled once, personalized per recipient by splicing."""

    email = models.ForeignKey(Email, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    subject = models.CharField(max_length=300)
    preheader = models.CharField(max_length=300, blank=True)
    blocks = models.JSONField(default=list)
    html = models.TextField(help_text="Compiled HTML with personalization tokens and link markers left in")
    text = models.TextField(help_text="Plain-text alternative with tokens left in")
    links = models.JSONField(default=list, help_text="Tracked link URLs by index")
    conditions = models.JSONField(default=list, help_text="Conditional block queries by index")
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["email", "-number"]
        constraints = [models.UniqueConstraint(fields=["email", "number"], name="email_version_unique")]

    def __str__(self) -> str:
        return f"{self.email} v{self.number}"


class DeliveryQuerySet(models.QuerySet):
    def queued(self):
        return self.filter(status=Delivery.Status.QUEUED)


class Delivery(PersonRef):
    """One message to one person. Unique on its idempotency key, so a retried caller sends once."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        BOUNCED = "bounced", "Bounced"
        SUPPRESSED = "suppressed", "Not sent"
        FAILED = "failed", "Failed"

    email = models.ForeignKey(Email, on_delete=models.PROTECT, related_name="deliveries")
    version = models.ForeignKey(EmailVersion, on_delete=models.PROTECT, related_name="deliveries")
    idempotency_key = models.CharField(max_length=200, unique=True)
    to_address = models.EmailField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    reason = models.CharField(max_length=200, blank=True, help_text="Why it was not sent, or failed")
    context = models.JSONField(default=dict, blank=True, help_text="Trigger payload and other token values")
    journey_id = models.BigIntegerField(null=True, blank=True)
    tile_key = models.CharField(max_length=100, blank=True)
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta(PersonRef.Meta):
        ordering = ["-queued_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["status", "queued_at"], name="delivery_status_queued"),
            models.Index(fields=["email", "status"], name="delivery_email_status"),
            models.Index(fields=["contact", "queued_at"], name="delivery_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.to_address} ({self.status})"


class AddressState(models.Model):
    """What we know about an email address: hard-bounced (invalid), soft bounces, complaints."""

    class Status(models.TextChoices):
        VALID = "valid", "Valid"
        INVALID = "invalid", "Invalid (hard bounce)"
        COMPLAINED = "complained", "Marked as spam"

    address = models.EmailField(unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.VALID, db_index=True)
    soft_bounces = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["address"]

    def __str__(self) -> str:
        return f"{self.address}: {self.get_status_display()}"
