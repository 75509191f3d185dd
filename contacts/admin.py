"""Django admin for the people data: the back office."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from contacts import imports
from contacts.auth import forget_recent_keys
from contacts.models import (
    Account,
    APIKey,
    Consent,
    ConsentChange,
    Contact,
    CustomAttribute,
    FormConsent,
    FormField,
    FormSubmission,
    ImportJob,
    Interaction,
    LandingPage,
    Lead,
    Opportunity,
    SalesQueue,
    Task,
    Topic,
    WebForm,
)
from contacts.webforms import queries as webform_queries
from contacts.webforms import services as webform_services


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
        forget_recent_keys()  # this process stops accepting them at once (others within seconds)
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)


admin.site.site_header = "Waymark administration"
admin.site.site_title = "Waymark admin"
admin.site.index_title = "Back office"


# --- Forms and landing pages ----------------------------------------------------------------------
class FormFieldInline(admin.StackedInline):
    model = FormField
    extra = 0
    fields = [("position", "label", "key", "kind"), ("maps_to", "required"), ("help_text", "placeholder"),
              ("choices", "default_value"), ("max_length", "min_value", "max_value"), ("pattern", "pattern_message")]


class FormConsentInline(admin.TabularInline):
    model = FormConsent
    extra = 0
    fields = ["position", "channel", "topic", "wording", "required"]


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "creates", "matching", "double_opt_in", "submission_count"]
    list_filter = ["status", "creates", "double_opt_in"]
    search_fields = ["name", "slug", "title"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["confirmation_email"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    inlines = [FormFieldInline, FormConsentInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(submission_count=Count("submissions"))

    @admin.display(description="Submissions", ordering="submission_count")
    def submission_count(self, form: WebForm) -> int:
        return form.submission_count

    def save_model(self, request: HttpRequest, obj: WebForm, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(FormSubmission)
class FormSubmissionAdmin(admin.ModelAdmin):
    """Submissions are what people sent: view, search and export them; they are not edited."""

    list_display = ["submitted_at", "form", "email", "contact", "lead", "created_person", "double_opt_in"]
    list_filter = ["form", "double_opt_in", "created_person"]
    search_fields = ["email", "values"]
    list_select_related = ["form", "contact", "lead"]
    raw_id_fields = ["contact", "lead"]
    date_hierarchy = "submitted_at"
    actions = ["export_csv", "publish_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Publish form.submitted for the selected (never twice for one submission)")
    def publish_again(self, request: HttpRequest, queryset) -> None:
        for submission in queryset.select_related("form", "contact", "lead"):
            webform_services.publish_submitted(submission)
        self.message_user(request, f"Checked {queryset.count()} submission(s): each has its form.submitted event.",
                          messages.SUCCESS)

    @admin.action(description="Export the selected submissions as CSV (one form at a time)")
    def export_csv(self, request: HttpRequest, queryset):
        forms = list(WebForm.objects.filter(pk__in=queryset.values("form")).distinct()[:2])
        if len(forms) != 1:
            self.message_user(request, "Select the submissions of one form: each form has its own columns.",
                              messages.ERROR)
            return None
        response = StreamingHttpResponse(webform_queries.csv_rows(forms[0], queryset.order_by("-submitted_at")),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{forms[0].slug}-submissions.csv"'
        return response


@admin.register(LandingPage)
class LandingPageAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "brand", "published_at"]
    list_filter = ["status", "brand"]
    search_fields = ["name", "slug", "title"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["status", "published_blocks", "published_at", "created_by", "created_at", "updated_at"]
    actions = ["publish", "unpublish"]

    @admin.action(description="Publish the drafts of the selected pages")
    def publish(self, request: HttpRequest, queryset) -> None:
        for page in queryset:
            try:
                webform_services.publish_page(page, now=timezone.now())
            except ValidationError as exc:
                self.message_user(request, f"{page}: not published: {'; '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"{page}: published at {page.public_url()}", messages.SUCCESS)

    @admin.action(description="Unpublish the selected pages")
    def unpublish(self, request: HttpRequest, queryset) -> None:
        for page in queryset:
            webform_services.unpublish_page(page)
        self.message_user(request, f"Unpublished {queryset.count()} page(s).", messages.SUCCESS)
