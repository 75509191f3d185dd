"""Segments in the back office: definitions, validation, refresh; membership is read-only."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone

from segments import hooks, services
from segments.models import MembershipChange, Segment, SegmentMembership, SegmentRefresh


class SegmentAdminForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "description", "kind", "audience", "refresh_mode", "query"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == Segment.Kind.DYNAMIC and "query" in cleaned:
            candidate = Segment(pk=self.instance.pk, audience=cleaned.get("audience", "contact"))
            errors = services.check_query(cleaned["query"], audience=candidate.audience, segment=candidate)
            if errors:
                raise ValidationError({"query": [str(e) for e in errors]})
        return cleaned


class RefreshInline(admin.TabularInline):
    model = SegmentRefresh
    extra = 0
    max_num = 20
    fields = ["started_at", "kind", "duration_ms", "entered", "exited", "member_count"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentAdminForm
    list_display = ["name", "kind", "audience", "status", "refresh_mode", "member_count", "last_refreshed_at",
                    "last_refresh_ms"]
    list_filter = ["kind", "audience", "status", "refresh_mode"]
    search_fields = ["name", "description"]
    readonly_fields = ["status", "member_count", "last_refreshed_at", "last_refresh_ms", "created_at", "updated_at",
                       "query_pretty"]
    inlines = [RefreshInline]
    actions = ["refresh_now"]

    @admin.display(description="Query (formatted)")
    def query_pretty(self, obj: Segment) -> str:
        return json.dumps(obj.query, indent=2)

    def save_model(self, request: HttpRequest, obj: Segment, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        services.save_segment(obj, now=timezone.now())

    def get_deleted_objects(self, objs, request: HttpRequest):
        """The delete pages list every use of a segment as protected, so the admin refuses to delete
        one a journey or another segment uses, naming the use, instead of failing."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        for segment in objs:
            protected += [f"Segment “{segment}”: used by {use}" for use in hooks.usage(segment)]
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Segment) -> None:
        services.delete_segment(obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for segment in queryset:
            services.delete_segment(segment)

    @admin.action(description="Refresh the selected dynamic segments now")
    def refresh_now(self, request: HttpRequest, queryset) -> None:
        done = []
        for segment in queryset:
            try:
                done.append(services.refresh(segment, now=timezone.now()))
            except ValidationError as exc:
                self.message_user(request, f"{segment}: {' '.join(exc.messages)}", messages.WARNING)
        if done:
            self.message_user(request, f"Refreshed {len(done)} segment(s).", messages.SUCCESS)


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(admin.ModelAdmin):
    list_display = ["segment", "contact", "lead", "entered_at"]
    list_filter = ["segment"]
    search_fields = ["contact__email", "lead__email", "segment__name"]
    list_select_related = ["segment", "contact", "lead"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MembershipChange)
class MembershipChangeAdmin(SegmentMembershipAdmin):
    list_display = ["changed_at", "segment", "change", "contact", "lead"]
    list_filter = ["change", "segment"]
    date_hierarchy = "changed_at"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
