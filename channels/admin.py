"""Django admin for email: profiles, content blocks and emails; the send log and address states
read-only (they are facts), with publishing and resetting an address as actions. Webhook
endpoints (the secret shown once, on create and on rotation) and their read-only delivery log,
with "retry now"."""

from __future__ import annotations

import dkim.crypto
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from channels import bounces, services
from channels.models import (
    AddressState,
    BrandProfile,
    ContentBlock,
    Delivery,
    Email,
    EmailVersion,
    SenderProfile,
    WebhookDelivery,
    WebhookEndpoint,
)


class SenderProfileForm(forms.ModelForm):
    """The DKIM private key is write-only: the page never shows it, an empty box keeps it."""

    dkim_private_key = forms.CharField(
        required=False, label="DKIM private key", strip=True,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
    )
    remove_dkim_key = forms.BooleanField(required=False, label="Remove the DKIM key (stop signing)")

    class Meta:
        model = SenderProfile
        fields = ["name", "from_name", "from_email", "reply_to", "dkim_selector", "dkim_private_key"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stored_key = self.instance.dkim_private_key if self.instance.pk else ""
        self.initial["dkim_private_key"] = ""  # never sent back to the browser
        self.fields["dkim_private_key"].help_text = (
            "A key is set. Paste a new PEM key to replace it; leave empty to keep it." if self.stored_key
            else "No key set: messages are not DKIM-signed. Paste the PEM private key of the sending domain."
        )

    def clean_dkim_private_key(self) -> str:
        key = self.cleaned_data["dkim_private_key"]
        if key:
            try:
                dkim.crypto.parse_pem_private_key(key.encode())
            except (dkim.crypto.UnparsableKeyError, ValueError) as exc:
                raise ValidationError(f"Not a PEM RSA private key: {exc}") from None
        return key

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("remove_dkim_key"):
            cleaned["dkim_private_key"] = ""
        elif not cleaned.get("dkim_private_key"):
            cleaned["dkim_private_key"] = self.stored_key
        if cleaned.get("dkim_private_key") and not cleaned.get("dkim_selector"):
            self.add_error("dkim_selector", "Give the DNS selector that publishes this key.")
        return cleaned


@admin.register(SenderProfile)
class SenderProfileAdmin(admin.ModelAdmin):
    form = SenderProfileForm
    list_display = ["name", "from_name", "from_email", "reply_to", "dkim_selector", "dkim_key"]
    search_fields = ["name", "from_name", "from_email"]
    fieldsets = [
        (None, {"fields": ["name", "from_name", "from_email", "reply_to"]}),
        ("DKIM signing", {"fields": ["dkim_selector", "dkim_private_key", "remove_dkim_key"]}),
    ]

    @admin.display(description="DKIM key")
    def dkim_key(self, sender: SenderProfile) -> str:
        return "set" if sender.dkim_private_key else "not set"


@admin.register(BrandProfile)
class BrandProfileAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "primary_color", "font_family", "postal_address"]
    search_fields = ["name", "postal_address"]


@admin.register(ContentBlock)
class ContentBlockAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "updated_at"]
    search_fields = ["name", "key"]
    prepopulated_fields = {"key": ["name"]}
    readonly_fields = ["updated_at"]


class EmailVersionInline(admin.TabularInline):
    model = EmailVersion
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["number", "subject", "published_at", "published_by"]
    readonly_fields = fields
    ordering = ["-number"]
    max_num = 0  # versions are made by publishing


@admin.register(Email)
class EmailAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "purpose", "topic", "status", "latest_version", "sender", "brand", "updated_at"]
    list_filter = ["purpose", "status", "topic", "sender", "brand"]
    search_fields = ["name", "key", "subject"]
    list_select_related = ["topic", "sender", "brand"]
    prepopulated_fields = {"key": ["name"]}
    autocomplete_fields = ["topic"]
    readonly_fields = ["status", "created_by", "created_at", "updated_at"]
    inlines = [EmailVersionInline]
    actions = ["publish"]
    fieldsets = [
        (None, {"fields": ["name", "key", "purpose", "topic", "status"]}),
        ("Message", {"fields": ["sender", "brand", "subject", "preheader", "blocks"]}),
        ("Record", {"fields": ["created_by", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(latest_version_number=Max("versions__number"))

    @admin.display(description="Version", ordering="latest_version_number")
    def latest_version(self, email: Email) -> int | None:
        return email.latest_version_number

    def save_model(self, request: HttpRequest, obj: Email, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Publish the selected emails (a new version each)", permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet) -> None:
        now = timezone.now()
        for email in queryset.select_related("sender", "brand", "topic"):
            try:
                version = services.publish(email, now=now, user=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{email} was not published: {'; '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"Published {email} as version {version.number}.", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened: viewed, never written by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(EmailVersion)
class EmailVersionAdmin(ReadOnlyAdmin):
    list_display = ["email", "number", "subject", "published_at", "published_by"]
    search_fields = ["email__name", "email__key", "subject"]
    list_select_related = ["email", "published_by"]
    date_hierarchy = "published_at"


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["queued_at", "email", "to_address", "contact", "lead", "status", "reason", "sent_at",
                    "opened_at", "clicked_at"]
    list_filter = ["status", "email"]
    search_fields = ["to_address", "message_id", "idempotency_key", "email__key"]
    list_select_related = ["email", "contact", "lead"]
    date_hierarchy = "queued_at"
    show_full_result_count = False  # counting millions of rows on every page load is slow


@admin.register(AddressState)
class AddressStateAdmin(admin.ModelAdmin):
    """Bounces and complaints set these; an administrator may only declare an address valid again."""

    list_display = ["address", "status", "soft_bounces", "reason", "updated_at"]
    list_filter = ["status"]
    search_fields = ["address"]
    readonly_fields = ["address", "status", "soft_bounces", "reason", "updated_at"]
    actions = ["mark_valid"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Mark the selected addresses valid again (e.g. the mailbox was fixed)",
                  permissions=["change"])
    def mark_valid(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = bounces.mark_valid(queryset, reason=f"marked valid by {request.user}", now=timezone.now())
        self.message_user(request, f"Marked {count} address(es) valid.", messages.SUCCESS)


# --- Webhooks ---------------------------------------------------------------------------------------------
def _secret_message(endpoint: WebhookEndpoint) -> str:
    return f"The signing secret of “{endpoint}” is {endpoint.secret} — copy it now, it is not shown again."


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """The URL is checked by the SSRF guard (the model's clean); the secret is never shown after it is made."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "url", "active", "timeout_seconds", "delivery_count", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret_hint", "previous_secret_expires_at", "created_at", "updated_at"]
    fields = ["name", "url", "active", "timeout_seconds", "description", "secret_hint", "previous_secret_expires_at",
              "created_at", "updated_at"]
    actions = ["rotate_secret"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(delivery_count=Count("deliveries"))

    @admin.display(description="Deliveries", ordering="delivery_count")
    def delivery_count(self, endpoint: WebhookEndpoint) -> int:
        return endpoint.delivery_count

    @admin.display(description="Signing secret")
    def secret_hint(self, endpoint: WebhookEndpoint) -> str:
        return f"{endpoint.secret[:10]}… (rotate to get a new one)" if endpoint.pk else "made when saved"

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            self.message_user(request, _secret_message(obj), messages.WARNING)

    @admin.action(description="Rotate the signing secret (the old one keeps signing for a grace period)",
                  permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet) -> None:
        now = timezone.now()
        for endpoint in queryset:
            services.rotate_webhook_secret(endpoint, now=now)
            self.message_user(request, _secret_message(endpoint), messages.WARNING)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["queued_at", "event_type", "endpoint", "contact", "lead", "status", "attempts", "response_code",
                    "last_error", "next_attempt_at", "delivered_at"]
    list_filter = ["status", "event_type", "endpoint"]
    search_fields = ["message_id", "idempotency_key", "event_type"]
    list_select_related = ["endpoint", "contact", "lead"]
    date_hierarchy = "queued_at"
    show_full_result_count = False
    actions = ["retry_now"]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("channels.change_webhookdelivery")

    @admin.action(description="Retry the selected failed or retrying messages now", permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.retry_webhooks_now(queryset, now=timezone.now())
        self.message_user(request, f"Queued {count} message(s) to be sent again.", messages.SUCCESS)
