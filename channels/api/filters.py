"""Query-string filters of the email API (`/api/deliveries/?email=3&status=bounced`)."""

from __future__ import annotations

from django_filters import rest_framework as filters

from channels.models import Delivery, Email
from contacts.api.filters import after, before, by_id


class EmailFilter(filters.FilterSet):
    sender = by_id("sender")
    brand = by_id("brand")
    topic = filters.CharFilter(field_name="topic__key", label="Topic key")

    class Meta:
        model = Email
        fields = ["purpose", "status", "sender", "brand", "topic"]


class DeliveryFilter(filters.FilterSet):
    email = by_id("email")
    email_key = filters.CharFilter(field_name="email__key", label="Email key")
    contact = by_id("contact")
    lead = by_id("lead")
    queued_after = after("queued_at")
    queued_before = before("queued_at")

    class Meta:
        model = Delivery
        fields = ["email", "email_key", "contact", "lead", "status", "journey_id", "idempotency_key", "message_id"]
