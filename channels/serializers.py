"""Serializers of the email API: they check the shape of requests; the viewsets call the services."""

from __future__ import annotations

from typing import Any

import dkim.crypto
from django.db.models import Max
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from channels import compose
from channels.models import BrandProfile, ContentBlock, Delivery, Email, EmailVersion, SenderProfile
from contacts.models import Topic
from contacts.serializers import PersonRefSerializer

COLOR = r"^#[0-9A-Fa-f]{6}$"


def check_blocks(value: Any) -> list[dict]:
    """The outline of a block list: a list of objects with a known type. The rest (links, nested
    columns, content block keys) is checked when the email is previewed or published."""
    if not isinstance(value, list):
        raise serializers.ValidationError("Give a list of blocks.")
    for index, block in enumerate(value):
        if not isinstance(block, dict) or block.get("type") not in compose.BLOCK_TYPES:
            kind = block.get("type") if isinstance(block, dict) else block
            raise serializers.ValidationError(
                f"Block {index + 1}: unknown block type {kind!r}; use one of {', '.join(compose.BLOCK_TYPES)}.")
    return value


class BlocksField(serializers.JSONField):
    def to_internal_value(self, data: Any) -> list[dict]:
        return check_blocks(super().to_internal_value(data))


class SenderProfileSerializer(serializers.ModelSerializer):
    """The DKIM private key can be written (PEM) or cleared (""), never read back."""

    dkim_private_key = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"base_template": "textarea.html"},
        help_text="PEM private key for DKIM signing of the sender's domain; write-only, \"\" removes it",
    )
    dkim_key_set = serializers.SerializerMethodField(help_text="Whether a DKIM private key is stored")

    class Meta:
        model = SenderProfile
        fields = ["id", "name", "from_name", "from_email", "reply_to", "dkim_selector", "dkim_private_key",
                  "dkim_key_set", "domain"]
        read_only_fields = ["domain"]

    def get_dkim_key_set(self, sender: SenderProfile) -> bool:
        return bool(sender.dkim_private_key)

    def validate_from_email(self, value: str) -> str:
        return value.strip().lower()

    def validate_dkim_private_key(self, value: str) -> str:
        if value:
            try:
                dkim.crypto.parse_pem_private_key(value.encode())
            except (dkim.crypto.UnparsableKeyError, ValueError) as exc:
                raise serializers.ValidationError(f"Not a PEM RSA private key: {exc}") from None
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        selector = attrs.get("dkim_selector", getattr(self.instance, "dkim_selector", ""))
        key = attrs.get("dkim_private_key", getattr(self.instance, "dkim_private_key", ""))
        if key and not selector:
            raise serializers.ValidationError({"dkim_selector": ["Give the DNS selector that publishes this key."]})
        return attrs


class BrandProfileSerializer(serializers.ModelSerializer):
    primary_color = serializers.RegexField(COLOR, required=False, help_text="#rrggbb")
    text_color = serializers.RegexField(COLOR, required=False, help_text="#rrggbb")
    background_color = serializers.RegexField(COLOR, required=False, help_text="#rrggbb")

    class Meta:
        model = BrandProfile
        fields = ["id", "name", "logo_url", "primary_color", "text_color", "background_color", "font_family",
                  "footer_text", "postal_address"]


class ContentBlockSerializer(serializers.ModelSerializer):
    blocks = BlocksField(required=False, help_text="Blocks, as in an email; picked up at each email's next publish")

    class Meta:
        model = ContentBlock
        fields = ["id", "key", "name", "blocks", "updated_at"]
        read_only_fields = ["updated_at"]


class EmailSerializer(serializers.ModelSerializer):
    topic = serializers.SlugRelatedField(
        slug_field="key", queryset=Topic.objects.all(), required=False, allow_null=True,
        help_text="Subscription topic key (commercial email): only people opted in to it get the email",
    )
    blocks = BlocksField(required=False, help_text="The content as a list of blocks (heading, text, image, …)")
    latest_version = serializers.SerializerMethodField(
        help_text="Number of the latest published version (null: never published)")
    # A plain string: segments use the same two values, and drf-spectacular would name the enum badly.
    status = serializers.CharField(read_only=True, help_text="draft, or ready once published")

    class Meta:
        model = Email
        fields = ["id", "name", "key", "subject", "preheader", "sender", "brand", "purpose", "topic", "blocks",
                  "status", "latest_version", "created_by", "created_at", "updated_at"]
        read_only_fields = ["status", "created_by", "created_at", "updated_at"]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_latest_version(self, email: Email) -> int | None:
        if hasattr(email, "latest_version_number"):  # annotated by the viewset's queryset
            return email.latest_version_number
        return email.versions.aggregate(number=Max("number"))["number"]


class EmailVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmailVersion
        fields = ["id", "email", "number", "subject", "preheader", "blocks", "html", "text", "links",
                  "conditions", "published_at", "published_by"]
        read_only_fields = fields


class PreviewSerializer(serializers.Serializer):
    contact = serializers.IntegerField(required=False, allow_null=True, help_text="Render as this contact")
    lead = serializers.IntegerField(required=False, allow_null=True, help_text="Render as this lead")
    context = serializers.DictField(required=False, help_text='Token values, e.g. {"trigger": {"order": "A1"}}')

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("contact") is not None and attrs.get("lead") is not None:
            raise serializers.ValidationError({"lead": ["Give a contact or a lead, not both."]})
        return attrs


class RenderedSerializer(serializers.Serializer):
    subject = serializers.CharField()
    html = serializers.CharField()
    text = serializers.CharField()


class SendSerializer(PersonRefSerializer):
    """One message to one person, queued once per idempotency key."""

    idempotency_key = serializers.CharField(
        max_length=150, help_text="Your unique key for this message: retrying with the same key sends once")
    context = serializers.DictField(
        required=False,
        help_text='Token values, e.g. {"trigger": {"order_number": "A-1001"}} for {{ trigger.order_number }}',
    )

    class Meta:
        model = Delivery
        fields = ["contact", "lead", "idempotency_key", "context"]
        # The key is checked by the service (a repeat returns the first message), not as "unique".
        validators: list = []

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        person = attrs.get("contact") or attrs.get("lead")
        if not person.email:
            key = "contact" if attrs.get("contact") else "lead"
            raise serializers.ValidationError({key: ["This person has no email address."]})
        return attrs


class DeliverySerializer(serializers.ModelSerializer):
    email_key = serializers.CharField(source="email.key", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True, help_text="Published version number")

    class Meta:
        model = Delivery
        fields = ["id", "email", "email_key", "version", "contact", "lead", "to_address", "status", "reason",
                  "idempotency_key", "message_id", "context", "journey_id", "tile_key", "attempts", "queued_at",
                  "sent_at", "delivered_at", "opened_at", "clicked_at", "bounced_at", "unsubscribed_at"]
        read_only_fields = fields
