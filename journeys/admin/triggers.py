"""Admin for trigger events and custom triggers. Events are facts: read-only."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from journeys import trigger_queries, usage
from journeys.models import CustomTrigger, TriggerEvent
from journeys.models.triggers import attribute_errors


class CustomTriggerAdminForm(forms.ModelForm):
    class Meta:
        model = CustomTrigger
        fields = ["name", "key", "description", "kind", "active", "person_field", "identifies", "when_unmatched",
                  "rate_limit_per_minute", "record_table", "record_field", "condition", "value", "attributes"]

    def clean_attributes(self) -> list:
        attributes = self.cleaned_data["attributes"]
        errors = attribute_errors(attributes)
        if errors:
            raise ValidationError(errors["attributes"])
        return attributes


@admin.register(CustomTrigger)
class CustomTriggerAdmin(admin.ModelAdmin):
    form = CustomTriggerAdminForm
    list_display = ["name", "key", "kind", "fired_by", "active", "updated_at"]
    list_filter = ["kind", "active", "record_table"]
    search_fields = ["name", "key", "description"]
    readonly_fields = ["payload_schema", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "key", "description", "kind", "active"]}),
        ("Fired by an integration", {"fields": ["person_field", "identifies", "when_unmatched",
                                                "rate_limit_per_minute"]}),
        ("Bound to a record change", {"fields": ["record_table", "record_field", "condition", "value"]}),
        ("Payload", {"fields": ["attributes", "payload_schema"],
                     "description": 'Typed attributes: [{"name": "items", "type": "list", "required": true}]; '
                                    "types: text, number, integer, boolean, date, datetime, list, object."}),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_deleted_objects(self, objs, request: HttpRequest):
        """A custom trigger a journey uses is listed as protected, so the admin names the use and
        refuses to delete it (as the page and the API do)."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        for trigger in objs:
            protected += [f"Custom trigger “{trigger.key}”: used by {use}" for use in usage.trigger_usage(trigger.key)]
        return deleted, counts, perms_needed, protected

    @admin.display(description="Fired")
    def fired_by(self, obj: CustomTrigger) -> str:
        return f"When {obj.binding_sentence}" if obj.kind == CustomTrigger.Kind.RECORD else "By an integration"

    @admin.display(description="Payload schema")
    def payload_schema(self, obj: CustomTrigger) -> str:
        if obj.pk is None or attribute_errors(obj.attributes):
            return "—"
        return format_html("<pre>{}</pre>", json.dumps(obj.schema(), indent=2))


@admin.register(TriggerEvent)
class TriggerEventAdmin(admin.ModelAdmin):
    list_display = ["id", "key", "contact", "lead", "source", "occurred_at", "dispatched_at"]
    list_filter = ["key", "source"]
    search_fields = ["key", "contact__email", "lead__email", "idempotency_key"]
    list_select_related = ["contact", "lead"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    fields = ["key", "contact", "lead", "payload_pretty", "source", "idempotency_key", "occurred_at", "dispatched_at",
              "journeys_touched"]
    readonly_fields = fields

    @admin.display(description="Payload")
    def payload_pretty(self, obj: TriggerEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False))

    @admin.display(description="Journeys touched")
    def journeys_touched(self, obj: TriggerEvent) -> str:
        touched = trigger_queries.touched_journeys([obj]).get(obj.pk, [])
        if not touched:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{} — {} (run {}, tile {})</li>", (
            (t["journey_name"], t["effect"], t["run"], t["tile"]) for t in touched)))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
