"""Email: sender and brand profiles, reusable content blocks, emails and their published versions,
deliveries (one row per message) and the state of each address. Outgoing webhooks: endpoints and
their deliveries (one row per message)."""

from __future__ import annotations

import datetime
import json
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from channels import webhooks
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


class OutgoingMessage(PersonRef):
    """What every outgoing message shares: one row per idempotency key (a retried caller sends
    once), claimed by a sender (status "sending", `claimed_at`, `attempts`) and swept back to the
    queue if its worker vanished; journeys' plain-value `journey_id` and `tile_key`."""

    idempotency_key = models.CharField(max_length=200, unique=True)
    journey_id = models.BigIntegerField(null=True, blank=True)
    tile_key = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta(PersonRef.Meta):
        abstract = True
        ordering = ["-queued_at", "-id"]


class Delivery(OutgoingMessage):
    """One email to one person."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        BOUNCED = "bounced", "Bounced"
        SUPPRESSED = "suppressed", "Not sent"
        FAILED = "failed", "Failed"

    # Every index is written again on each change of status (twice a message at least), so there
    # are none the ones in Meta already cover: the email's (email, status), the status's (status,
    # queued_at), and no LIKE-pattern copy of message_id.
    email = models.ForeignKey(Email, on_delete=models.PROTECT, related_name="deliveries", db_index=False)
    version = models.ForeignKey(EmailVersion, on_delete=models.PROTECT, related_name="deliveries")
    to_address = models.EmailField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=200, blank=True, help_text="Why it was not sent, or failed")
    context = models.JSONField(default=dict, blank=True, help_text="Trigger payload and other token values")
    message_id = models.CharField(max_length=255, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta(OutgoingMessage.Meta):
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["status", "queued_at"], name="delivery_status_queued"),
            models.Index(fields=["email", "status"], name="delivery_email_status"),
            models.Index(fields=["contact", "queued_at"], name="delivery_contact"),
            models.Index(fields=["message_id"], name="delivery_message_id"),  # bounces and complaints
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


# --- Outgoing webhooks --------------------------------------------------------------------------------
def new_message_id() -> str:
    """A webhook's `webhook-id`: random, so ids never repeat even if the database is restored."""
    return f"msg_{uuid.uuid4().hex}"


class WebhookEndpoint(models.Model):
    """A URL that receives signed JSON events (Standard Webhooks)."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=2000, verbose_name="URL",
                          help_text="https:// address that receives the events as a JSON POST")
    secret = models.CharField(max_length=100, default=webhooks.new_secret, editable=False,
                              help_text="Signing secret (whsec_…): receivers verify each message with it")
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False,
                                                      help_text="Until then, messages are signed with both secrets")
    active = models.BooleanField(default=True, help_text="Deactivated endpoints receive nothing; messages fail")
    timeout_seconds = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text="How long to wait for the receiver's answer (1–30 seconds)")
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("channels:webhook_detail", args=[self.pk])

    def clean(self) -> None:
        super().clean()
        if self.url:
            try:
                webhooks.check_url(self.url)
            except webhooks.UnsafeURL as exc:
                raise ValidationError({"url": str(exc)}) from None

    def signing_secrets(self, *, now: datetime.datetime) -> list[str]:
        """The current secret, and the previous one while its grace period after a rotation lasts."""
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and now < expires:
            return [self.secret, self.previous_secret]
        return [self.secret]


class WebhookDeliveryQuerySet(models.QuerySet):
    def due(self, now: datetime.datetime):
        return self.filter(status__in=[WebhookDelivery.Status.QUEUED, WebhookDelivery.Status.RETRYING],
                           next_attempt_at__lte=now)


class WebhookDelivery(OutgoingMessage):
    """One event to one endpoint about one person; its `message_id` is the same on every retry."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Retrying"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    event_type = models.CharField(max_length=100, default="journey.webhook")
    payload = models.JSONField(default=dict, blank=True)
    message_id = models.CharField(max_length=40, unique=True, default=new_message_id, editable=False,
                                  help_text="Sent as webhook-id; receivers use it to drop duplicates")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="HTTP status of the last attempt")
    response_body = models.CharField(max_length=500, blank=True, help_text="Start of the last answer's body")
    last_error = models.CharField(max_length=300, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta(OutgoingMessage.Meta):
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "queued_at"], name="webhook_delivery_endpoint"),
            models.Index(fields=["contact", "queued_at"], name="webhook_delivery_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint} ({self.status})"

    @property
    def payload_json(self) -> str:
        return json.dumps(self.payload, indent=2, ensure_ascii=False, sort_keys=True)
