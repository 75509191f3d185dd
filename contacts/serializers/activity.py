"""Serializers of what happens to people: interactions, consent, tasks, and subscription topics."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from contacts.models import Consent, ConsentChange, ConsentStatus, DoubleOptIn, Interaction, SalesQueue, Task, Topic
from contacts.serializers.base import PersonRefSerializer


class InteractionSerializer(PersonRefSerializer):
    class Meta:
        model = Interaction
        fields = [
            "id", "contact", "lead", "type", "occurred_at", "email_key", "link", "product", "amount",
            "journey_id", "tile_key", "source", "name", "properties", "recorded_at",
        ]
        read_only_fields = ["recorded_at"]


class ConsentSerializer(PersonRefSerializer):
    """A consent row as it stands; written by recording a decision, which also appends history."""

    topic = serializers.SlugRelatedField(
        slug_field="key", queryset=Topic.objects.all(), required=False, allow_null=True,
        help_text="Topic key; empty for the channel as a whole",
    )
    double_opt_in = serializers.ChoiceField(
        choices=DoubleOptIn.choices, required=False,
        help_text='"pending" records an opt-in that counts once confirmed; by default it is kept '
        "when the status is unchanged, otherwise not_required",
    )
    note = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=300,
        help_text="Kept in the history, e.g. the consent wording shown",
    )
    effective = serializers.BooleanField(
        read_only=True, help_text="Opted in, and confirmed where double opt-in was asked for"
    )

    class Meta:
        model = Consent
        fields = [
            "id", "contact", "lead", "channel", "topic", "status", "double_opt_in", "effective", "source",
            "note", "updated_at",
        ]
        read_only_fields = ["updated_at"]
        extra_kwargs = {"status": {"required": True}}
        # Recording a decision updates the existing row: the unique constraints must not reject it.
        validators: list = []


class ConsentChangeSerializer(serializers.ModelSerializer):
    topic = serializers.SlugRelatedField(slug_field="key", read_only=True)
    # Plain strings rather than enums: the schema already names this choice set for consent.
    old_status = serializers.CharField(read_only=True, help_text=", ".join(ConsentStatus.values))
    new_status = serializers.CharField(read_only=True, help_text=", ".join(ConsentStatus.values))

    class Meta:
        model = ConsentChange
        fields = [
            "id", "contact", "lead", "channel", "topic", "old_status", "new_status", "double_opt_in",
            "source", "note", "changed_by", "changed_at",
        ]
        read_only_fields = fields


class TaskSerializer(PersonRefSerializer):
    class Meta:
        model = Task
        fields = [
            "id", "contact", "lead", "subject", "description", "opportunity", "assigned_to", "queue", "due_at",
            "status", "priority", "source", "created_by", "created_at", "completed_at",
        ]
        read_only_fields = ["status", "created_by", "created_at", "completed_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        assigned_to = attrs.get("assigned_to", getattr(self.instance, "assigned_to", None))
        queue = attrs.get("queue", getattr(self.instance, "queue", None))
        if assigned_to is None and queue is None:
            message = "Assign the task to a user or a sales queue."
            raise serializers.ValidationError({"assigned_to": [message], "queue": [message]})
        return attrs


class TopicSerializer(serializers.ModelSerializer):
    class Meta:
        model = Topic
        fields = ["id", "key", "name", "description", "requires_opt_in"]


class SalesQueueSerializer(serializers.ModelSerializer):
    members = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = SalesQueue
        fields = ["id", "name", "description", "members"]
