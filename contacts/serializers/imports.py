"""Serializers of CSV imports: the upload, and the job it becomes."""

from __future__ import annotations

import json

from rest_framework import serializers

from contacts.models import ImportJob


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A UTF-8 CSV file with a header row")
    mapping = serializers.CharField(
        required=False,
        help_text='JSON object: CSV column -> contact field or "attributes.<key>", e.g. '
        '{"E-mail": "email", "Tier": "attributes.tier"}. Guessed from the header if left out.',
    )
    on_duplicate = serializers.ChoiceField(
        choices=ImportJob.OnDuplicate.choices, default=ImportJob.OnDuplicate.UPDATE,
        help_text="What to do with a row whose email matches an existing contact",
    )

    def validate_mapping(self, value: str) -> dict[str, str]:
        try:
            mapping = json.loads(value)
        except json.JSONDecodeError as exc:
            raise serializers.ValidationError(f"Not valid JSON: {exc.msg}.") from None
        if not isinstance(mapping, dict) or not all(
            isinstance(column, str) and isinstance(target, str) for column, target in mapping.items()
        ):
            raise serializers.ValidationError("Give a JSON object of column name: field name strings.")
        return mapping


class ImportJobSerializer(serializers.ModelSerializer):
    progress_percent = serializers.IntegerField(read_only=True)
    errors = serializers.JSONField(
        read_only=True, help_text='Rejected rows (the first 1,000): [{"row": 3, "errors": {"email": "…"}}]'
    )

    class Meta:
        model = ImportJob
        fields = [
            "id", "status", "original_name", "mapping", "on_duplicate", "total_rows", "rows_done",
            "created_count", "updated_count", "skipped_count", "error_count", "errors", "failure",
            "progress_percent", "created_by", "created_at", "finished_at",
        ]
        read_only_fields = fields
