"""Django admin for the people data: the back office."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpRequest
from django.utils import timezone

from contacts import imports
from contacts.models import (
    Account,
    APIKey,
    Consent,
    ConsentChange,
    Contact,
    CustomAttribute,
    ImportJob,
    Interaction,
    Lead,
    Opportunity,
    SalesQueue,
    Task,
    Topic,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0
    fields = ["channel", "topic", "status", "double_opt_in", "source", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # consent changes go through set_consent so history is kept


class ConsentHistoryInline(ReadOnlyInline):
    model = ConsentChange
    fields = ["changed_at", "channel", "topic", "old_status", "new_status", "double_opt_in", "source", "note"]
    readonly_fields = fields
    show_change_link = False
    max_num = 50


class InteractionInline(ReadOnlyInline):
    model = Interaction
    fields = ["occurred_at", "type", "email_key", "link", "product", "amount", "source"]
    readonly_fields = fields
    max_num = 50


class OpportunityInline(admin.TabularInline):
    model = Opportunity
    extra = 0
    fields = ["name", "stage", "status", "estimated_revenue", "close_date"]
    show_change_link = True


class TaskInline(admin.TabularInline):
    model = Task
    extra = 0
    fields = ["subject", "assigned_to", "queue", "due_at", "status", "priority"]
    show_change_link = True


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "industry", "country", "region", "size", "owner", "contact_count"]
    list_filter = ["industry", "size", "country"]
    search_fields = ["name", "website", "city"]
    autocomplete_fields = ["owner"]
    inlines = [OpportunityInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("owner").annotate(contact_count=Count("contacts"))

    @admin.display(ordering="contact_count", description="Contacts")
    def contact_count(self, obj: Account) -> int:
        return obj.contact_count


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "email", "account", "country", "state", "owner", "created_at"]
    list_filter = ["country", "state", "account__industry", "created_at"]
    search_fields = ["email", "first_name", "last_name", "phone", "account__name"]
    list_select_related = ["account", "owner"]
    autocomplete_fields = ["account", "owner"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ConsentInline, ConsentHistoryInline, OpportunityInline, TaskInline, InteractionInline]
    fieldsets = [
        (None, {"fields": ["first_name", "last_name", "email", "phone", "job_title", "birthday"]}),
        ("Organization", {"fields": ["account", "owner"]}),
        ("Location and language", {"fields": ["country", "state", "city", "time_zone", "language"]}),
        ("Custom attributes", {"fields": ["attributes"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["__str__", "email", "company", "status", "source", "topic", "owner", "created_at"]
    list_filter = ["status", "source", "created_at"]
    search_fields = ["email", "first_name", "last_name", "company", "topic"]
    list_select_related = ["owner"]
    autocomplete_fields = ["contact", "account", "owner"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ConsentInline, ConsentHistoryInline, TaskInline, InteractionInline]


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "contact", "stage", "status", "estimated_revenue", "close_date", "owner"]
    list_filter = ["status", "stage", "close_date"]
    search_fields = ["name", "account__name", "contact__email"]
    list_select_related = ["account", "contact", "owner"]
    autocomplete_fields = ["account", "contact", "owner"]
    inlines = [TaskInline]


@admin.register(CustomAttribute)
class CustomAttributeAdmin(admin.ModelAdmin):
    list_display = ["label", "key", "entity", "type", "required"]
    list_filter = ["entity", "type"]
    search_fields = ["label", "key"]


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "requires_opt_in"]
    search_fields = ["name", "key"]
    prepopulated_fields = {"key": ["name"]}


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """Current consent, read-only: changes are recorded with history through the UI or the API."""

    list_display = ["__str__", "contact", "lead", "channel", "topic", "status", "double_opt_in", "updated_at"]
    list_filter = ["channel", "status", "double_opt_in", "topic"]
    search_fields = ["contact__email", "lead__email"]
    list_select_related = ["contact", "lead", "topic"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ConsentChange)
class ConsentChangeAdmin(admin.ModelAdmin):
    """The consent history is immutable: view only."""

    list_display = ["changed_at", "contact", "lead", "channel", "topic", "old_status", "new_status", "source"]
    list_filter = ["channel", "new_status", "source"]
    search_fields = ["contact__email", "lead__email", "note"]
    list_select_related = ["contact", "lead", "topic"]
    date_hierarchy = "changed_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "type", "contact", "lead", "email_key", "product", "amount", "source"]
    list_filter = ["type", "source"]
    search_fields = ["contact__email", "lead__email", "product", "email_key", "link"]
    list_select_related = ["contact", "lead"]
    raw_id_fields = ["contact", "lead"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False  # counting millions of rows on every page load is slow


@admin.register(SalesQueue)
class SalesQueueAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    search_fields = ["name"]
    filter_horizontal = ["members"]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["subject", "contact", "lead", "assigned_to", "queue", "due_at", "status", "priority", "source"]
    list_filter = ["status", "priority", "queue", "source"]
    search_fields = ["subject", "contact__email", "lead__email"]
    list_select_related = ["contact", "lead", "assigned_to", "queue"]
    raw_id_fields = ["contact", "lead", "opportunity"]
    autocomplete_fields = ["assigned_to"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "total_rows", "created_count", "updated_count", "error_count",
                    "created_by", "created_at"]
    list_filter = ["status", "on_duplicate"]
    readonly_fields = ["status", "total_rows", "rows_done", "created_count", "updated_count", "skipped_count",
                       "error_count", "errors", "failure", "created_by", "created_at", "heartbeat_at",
                       "finished_at", "original_name"]
    actions = ["resume"]

    def has_add_permission(self, request) -> bool:
        return False  # imports start from the Contacts › Import page, which maps columns

    @admin.action(description="Resume the selected stalled imports")
    def resume(self, request: HttpRequest, queryset) -> None:
        count = imports.resume_stalled_imports(now=timezone.now())
        self.message_user(request, f"Re-queued {count} stalled import(s).", messages.SUCCESS)


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "scope", "created_at", "last_used_at", "expires_at", "revoked"]
    list_filter = ["scope", "revoked"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: APIKey, form, change: bool) -> None:
        if not change:
            raw_key = obj.generate()
            messages.warning(
                request,
                f"The new API key is {raw_key} — copy it now: it is stored hashed and will not be shown again.",
            )
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset) -> None:
        count = queryset.update(revoked=True)
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)


admin.site.site_header = "Waymark administration"
admin.site.site_title = "Waymark admin"
admin.site.index_title = "Back office"
