"""Admin for journeys, their versions, runs and step logs, and the shared journey settings.

Declarative, like the rest of the back office: the actions call the same services as the builder and
the API (go live, pause, resume, stop, clone, journeys as code); runs and the step log are facts and
read-only, with a run's explained path on its page. Importing a document has its own page (with the
diff shown before anything is saved)."""

from __future__ import annotations

import io
import json
import zipfile

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify
from rest_framework.exceptions import ValidationError as ShapeError

from journeys import portable, serializers, services
from journeys.explain import explain
from journeys.models import Journey, JourneyRun, JourneySettings, JourneyVersion, StepLog
from journeys.validation import validate_journey

EDITABLE = serializers.EDITABLE_STATUSES
ENTRY_FIELDS = ["entry_trigger", "entry_conditions", "entry_segment", "entry_mode", "entry_at", "repeat_every",
                "repeat_unit"]
GOVERNANCE_FIELDS = ["exclusion_segments", "honor_suppression", "exit_trigger", "exit_segment", "goal_trigger",
                     "goal_segment", "goal_target_percent", "re_entry", "re_entry_days", "starts_at", "ends_at",
                     "time_zone", "use_contact_time_zone", "quiet_hours_start", "quiet_hours_end", "cap_per_day",
                     "cap_per_week", "cap_action", "priority"]


def _errors_text(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{key or 'journey'}: {' '.join(found)}" for key, found in errors.items())


def _refusal(exc: ValidationError) -> str:
    return _errors_text(exc.message_dict) if hasattr(exc, "error_dict") else " ".join(exc.messages)


class PrettyJSONField(forms.JSONField):
    """JSON shown indented, in a box wide enough to read a tile graph."""

    widget = forms.Textarea(attrs={"rows": 24, "cols": 100, "spellcheck": "false", "class": "vLargeTextField"})

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class JourneyAdminForm(forms.ModelForm):
    tiles = PrettyJSONField(required=False, help_text=serializers.TILES_HELP)
    entry_conditions = PrettyJSONField(required=False, help_text="Segment query language; trigger.<field> reads "
                                       "the entry trigger's payload")

    class Meta:
        model = Journey
        fields = ["name", "description", "audience", *ENTRY_FIELDS, *GOVERNANCE_FIELDS, "tiles"]

    def clean_tiles(self) -> dict:
        try:
            return serializers.check_tiles(self.cleaned_data["tiles"] or {"start": "", "tiles": {}})
        except ShapeError as exc:
            raise ValidationError([str(message) for message in exc.detail]) from None


class EntryTypeFilter(admin.SimpleListFilter):
    title = "entry"
    parameter_name = "entry"

    def lookups(self, request, model_admin):
        return [("trigger", "Trigger"), ("segment", "Segment")]

    def queryset(self, request, queryset):
        if self.value() == "trigger":
            return queryset.exclude(entry_trigger="")
        if self.value() == "segment":
            return queryset.filter(entry_segment__isnull=False)
        return queryset


class VersionInline(admin.TabularInline):
    model = JourneyVersion
    extra = 0
    fields = ["number", "created_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Journey)
class JourneyAdmin(admin.ModelAdmin):
    form = JourneyAdminForm
    list_display = ["name", "status", "entry_type", "audience", "open_runs", "total_runs", "priority", "updated_at"]
    list_filter = ["status", EntryTypeFilter, "audience", "entry_mode", "re_entry", "cap_action"]
    search_fields = ["name", "description", "entry_trigger"]
    autocomplete_fields = ["entry_segment", "exit_segment", "goal_segment"]
    filter_horizontal = ["exclusion_segments"]
    readonly_fields = ["status", "next_entry_at", "created_by", "created_at", "updated_at", "validation"]
    inlines = [VersionInline]
    actions = ["validate_selected", "go_live", "pause", "resume", "stop", "clone", "export_yaml"]
    fieldsets = [
        (None, {"fields": ["name", "description", "audience", "status", "validation"]}),
        ("Entry", {"fields": [*ENTRY_FIELDS, "next_entry_at"]}),
        ("Governance", {"fields": GOVERNANCE_FIELDS}),
        ("Tiles", {"fields": ["tiles"]}),
        ("History", {"fields": ["created_by", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(
            open_count=Count("runs", filter=Q(runs__state__in=JourneyRun.OPEN_STATES)), total_count=Count("runs"))

    def get_readonly_fields(self, request: HttpRequest, obj: Journey | None = None):
        if obj is not None and obj.status not in EDITABLE:
            # Live tiles are frozen in versions: the builder (or the API) makes a new version.
            return [f for _name, options in self.fieldsets for f in options["fields"]]
        return self.readonly_fields

    @admin.display(description="Entry")
    def entry_type(self, obj: Journey) -> str:
        return f"Trigger {obj.entry_trigger}" if obj.entry_trigger else "Segment" if obj.entry_segment_id else "—"

    @admin.display(description="Inside now", ordering="open_count")
    def open_runs(self, obj: Journey) -> int:
        return obj.open_count

    @admin.display(description="Runs", ordering="total_count")
    def total_runs(self, obj: Journey) -> int:
        return obj.total_count

    @admin.display(description="Validation")
    def validation(self, obj: Journey) -> str:
        if obj.pk is None:
            return "—"
        errors = validate_journey(obj)
        if not errors:
            return "Ready to go live."
        return format_html("<ul>{}</ul>", format_html_join(
            "", "<li><strong>{}</strong>: {}</li>", ((k or "journey", " ".join(v)) for k, v in errors.items())))

    def save_model(self, request: HttpRequest, obj: Journey, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def _each(self, request: HttpRequest, queryset: QuerySet, verb: str, apply) -> None:
        done = 0
        for journey in queryset:
            try:
                apply(journey)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{journey}: {_refusal(exc)}", messages.ERROR)
        if done:
            self.message_user(request, f"{verb} {done} journey(s).", messages.SUCCESS)

    @admin.action(description="Validate the selected journeys")
    def validate_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for journey in queryset:
            errors = validate_journey(journey)
            if errors:
                self.message_user(request, f"{journey}: {_errors_text(errors)}", messages.WARNING)
            else:
                self.message_user(request, f"{journey}: ready to go live.", messages.SUCCESS)

    @admin.action(description="Go live", permissions=["change"])
    def go_live(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, "Took live", lambda j: services.go_live(j, now=timezone.now()))

    @admin.action(description="Pause", permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, "Paused", services.pause)

    @admin.action(description="Resume", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, "Resumed", services.resume)

    @admin.action(description="Stop (everyone inside exits)", permissions=["change"])
    def stop(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, "Stopped", lambda j: services.stop(j, now=timezone.now()))

    @admin.action(description="Clone as a new draft", permissions=["add"])
    def clone(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, "Cloned", lambda j: services.clone(j, user=request.user))

    @admin.action(description="Export as YAML (download)", permissions=["view"])
    def export_yaml(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        journeys = list(queryset)
        files = {f"{slugify(j.name) or 'journey'}-{j.pk}.yaml": portable.dumps(portable.export_journey(j))
                 for j in journeys}
        if len(files) == 1:
            name, text = next(iter(files.items()))
            response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
        else:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for name, text in files.items():
                    archive.writestr(name, text)
            name, response = "journeys.zip", HttpResponse(buffer.getvalue(), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    # --- Import page ---------------------------------------------------------------------------------
    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="journeys_journey_import"),
                *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Paste or upload a document; "Check" shows the diff and problems, "Import" saves it."""
        if not self.has_add_permission(request):
            return redirect("admin:journeys_journey_changelist")
        form = ImportForm(request.POST or None, request.FILES or None)
        result = None
        if request.method == "POST" and form.is_valid():
            result = portable.import_journey(form.document(), now=timezone.now(), user=request.user,
                                             dry_run="save" not in request.POST, journey=form.cleaned_data["journey"])
            if result.ok and not result.dry_run:
                self.message_user(request, f"Imported “{result.journey}” as a draft.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:journeys_journey_change", args=[result.journey.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "result": result, "title": "Import a journey"}
        return TemplateResponse(request, "admin/journeys/journey/import.html", context)


class ImportForm(forms.Form):
    text = forms.CharField(required=False, label="Document (YAML or JSON)",
                           widget=forms.Textarea(attrs={"rows": 20, "cols": 100, "spellcheck": "false"}))
    file = forms.FileField(required=False, label="Or upload a .yaml / .json file")
    journey = forms.ModelChoiceField(Journey.objects.filter(status=Journey.Status.DRAFT), required=False,
                                     label="Overwrite this draft (empty: create a new draft)")

    def clean(self) -> dict:
        cleaned = super().clean()
        if not cleaned.get("text") and not cleaned.get("file"):
            raise ValidationError("Paste a document or upload a file.")
        return cleaned

    def document(self) -> str | bytes:
        upload = self.cleaned_data.get("file")
        return upload.read() if upload else self.cleaned_data["text"]


@admin.register(JourneyVersion)
class JourneyVersionAdmin(admin.ModelAdmin):
    list_display = ["journey", "number", "created_at"]
    list_filter = ["journey"]
    search_fields = ["journey__name"]
    list_select_related = ["journey"]
    fields = ["journey", "number", "created_at", "tiles_pretty", "ab_winners"]
    readonly_fields = fields

    @admin.display(description="Tiles")
    def tiles_pretty(self, obj: JourneyVersion) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.tiles, indent=2, ensure_ascii=False))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # runs follow their version: a version is history


class StepInline(admin.TabularInline):
    model = StepLog
    verbose_name_plural = "step log"
    extra = 0
    fields = ["at", "tile_key", "attempt", "outcome", "reason"]
    readonly_fields = fields
    can_delete = False
    ordering = ["at", "id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(JourneyRun)
class JourneyRunAdmin(admin.ModelAdmin):
    list_display = ["id", "journey", "contact", "lead", "state", "tile_key", "version_number", "due_at",
                    "entered_at", "finished_at"]
    list_filter = ["state", "journey"]
    search_fields = ["contact__email", "lead__email", "journey__name", "tile_key"]
    list_select_related = ["journey", "version", "contact", "lead"]
    date_hierarchy = "entered_at"
    show_full_result_count = False
    fields = ["journey", "version", "contact", "lead", "state", "tile_key", "attempt", "due_at", "waiting_for",
              "entered_at", "finished_at", "exit_reason", "error", "context", "explained_path"]
    readonly_fields = fields
    inlines = [StepInline]

    @admin.display(description="Version", ordering="version__number")
    def version_number(self, obj: JourneyRun) -> int:
        return obj.version.number

    @admin.display(description="Path (explained)")
    def explained_path(self, obj: JourneyRun) -> str:
        steps = explain(obj)
        return format_html("<ol>{}</ol>", format_html_join("", "<li>{} <code>{}</code> — {}</li>", (
            (f"{step['at']:%Y-%m-%d %H:%M}" if step["at"] else "", step["tile"], step["text"]) for step in steps)))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # runs are facts; stopping the journey is how people leave


@admin.register(JourneySettings)
class JourneySettingsAdmin(admin.ModelAdmin):
    """One row: the list goes straight to it."""

    fields = ["suppression_segment", "cap_per_day", "cap_per_week"]
    autocomplete_fields = ["suppression_segment"]

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        settings = JourneySettings.current()
        return redirect("admin:journeys_journeysettings_change", settings.pk)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
