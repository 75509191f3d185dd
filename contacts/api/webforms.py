"""API of forms and landing pages: forms with their fields and consent checkboxes, submissions
(search, CSV, server-side submit), prefilled links, landing pages with publish and unpublish."""

from __future__ import annotations

from typing import Any

from django.db.models import ProtectedError
from django.http import StreamingHttpResponse
from django.utils import timezone
from django_filters import rest_framework as django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from contacts.api.base import ErrorSerializer, GenericViewSet, ModelViewSet
from contacts.auth import ChangeActionPermissions
from contacts.models import Contact, FormConsent, FormField, FormSubmission, LandingPage, Lead, WebForm
from contacts.serializers import django_errors_as_drf
from contacts.webforms import queries, services, tokens
from contacts.webforms.public_forms import PublicForm, consent_name

IN_USE = OpenApiResponse(ErrorSerializer, description="The form has submissions; close it instead")


class CleanModelSerializer(serializers.ModelSerializer):
    """Runs the model's clean() too, so the API refuses what the UI and admin refuse."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        instance = self.Meta.model(**attrs)
        if self.instance is not None:
            for field in self.Meta.model._meta.concrete_fields:
                if field.name not in attrs:
                    setattr(instance, field.attname, getattr(self.instance, field.attname))
        with django_errors_as_drf():
            instance.clean()
        return attrs


class FormFieldSerializer(CleanModelSerializer):
    class Meta:
        model = FormField
        fields = ["id", "form", "key", "label", "kind", "maps_to", "required", "help_text", "placeholder", "choices",
                  "default_value", "max_length", "min_value", "max_value", "pattern", "pattern_message", "position"]


class FormConsentSerializer(CleanModelSerializer):
    class Meta:
        model = FormConsent
        fields = ["id", "form", "channel", "topic", "wording", "required", "position"]


class WebFormSerializer(CleanModelSerializer):
    fields = FormFieldSerializer(many=True, read_only=True)
    consents = FormConsentSerializer(many=True, read_only=True)
    url = serializers.SerializerMethodField(help_text="The hosted form's address")

    class Meta:
        model = WebForm
        fields = ["id", "name", "slug", "description", "status", "title", "intro", "submit_label", "matching",
                  "creates", "success_message", "redirect_url", "double_opt_in", "confirmation_email", "brand",
                  "embed_origins", "url", "fields", "consents", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def get_url(self, form: WebForm) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(form.public_url()) if request else form.public_url()


class FormSubmissionSerializer(serializers.ModelSerializer):
    form_slug = serializers.CharField(source="form.slug", read_only=True)

    class Meta:
        model = FormSubmission
        fields = ["id", "form", "form_slug", "contact", "lead", "email", "values", "consents", "created_person",
                  "double_opt_in", "confirmed_at", "page_url", "ip_address", "user_agent", "submitted_at"]
        read_only_fields = fields


class SubmitSerializer(serializers.Serializer):
    values = serializers.DictField(help_text="Answers by field key")
    consents = serializers.ListField(child=serializers.IntegerField(), required=False, default=list,
                                     help_text="Ids of the consent checkboxes the person ticked")
    page_url = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class PrefillSerializer(serializers.Serializer):
    contact = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all(), required=False)
    lead = serializers.PrimaryKeyRelatedField(queryset=Lead.objects.all(), required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("contact")) == bool(attrs.get("lead")):
            raise serializers.ValidationError("Give a contact or a lead.")
        return attrs


class LinkSerializer(serializers.Serializer):
    url = serializers.CharField()


class LandingPageSerializer(CleanModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = LandingPage
        fields = ["id", "name", "slug", "title", "description", "brand", "blocks", "status", "published_blocks",
                  "published_at", "url", "created_at", "updated_at"]
        read_only_fields = ["status", "published_blocks", "published_at", "created_at", "updated_at"]

    def get_url(self, page: LandingPage) -> str:
        return page.public_url()


class SubmissionFilter(django_filters.FilterSet):
    submitted_after = django_filters.IsoDateTimeFilter(field_name="submitted_at", lookup_expr="gte")
    submitted_before = django_filters.IsoDateTimeFilter(field_name="submitted_at", lookup_expr="lt")

    class Meta:
        model = FormSubmission
        fields = ["form", "contact", "lead", "double_opt_in", "created_person"]


@extend_schema_view(
    list=extend_schema(summary="List forms", description="With their fields and consent checkboxes."),
    create=extend_schema(summary="Create a form", description="Add fields and consent checkboxes through "
                         "/api/form-fields/ and /api/form-consents/."),
    destroy=extend_schema(summary="Delete a form", responses={204: None, 409: IN_USE}),
)
class WebFormViewSet(ModelViewSet):
    queryset = WebForm.objects.prefetch_related("fields", "consents")
    serializer_class = WebFormSerializer
    filterset_fields = ["status", "creates", "double_opt_in"]
    search_fields = ["name", "slug", "title"]
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = ["name", "id"]

    def perform_create(self, serializer: WebFormSerializer) -> None:
        serializer.save(created_by=self.request.user if self.request.user.is_authenticated else None)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().destroy(request, *args, **kwargs)
        except ProtectedError:
            return Response({"detail": "This form has submissions, so it cannot be deleted; set its status to "
                             "closed instead."}, status=status.HTTP_409_CONFLICT)

    @extend_schema(summary="Submit the form for a person, server to server",
                   description="Validated like the hosted form (required fields, types, sizes); no captcha, "
                   "honeypot or rate limit. Creates or updates the person, records consent and fires form.submitted.",
                   request=SubmitSerializer, responses={201: FormSubmissionSerializer})
    @action(detail=True, methods=["post"], permission_classes=[ChangeActionPermissions])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        form = self.get_object()
        body = SubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data["values"])
        public_form = PublicForm(form, data=data, api=True)
        for consent in public_form.consent_boxes:
            if consent.pk in body.validated_data["consents"]:
                public_form.data[consent_name(consent)] = "on"
        if not public_form.is_valid():
            raise serializers.ValidationError(public_form.errors)
        with django_errors_as_drf():
            accepted = services.submit(form, values=public_form.field_values(), now=timezone.now(),
                                       consents_given=public_form.consents_given(),
                                       visit=services.Visit(page_url=body.validated_data.get("page_url", "")))
        return Response(FormSubmissionSerializer(accepted.submission).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Make a prefilled link", request=PrefillSerializer, responses={200: LinkSerializer},
                   description="A signed link, valid 30 days, that opens the form filled in for the person.")
    @action(detail=True, methods=["post"], url_path="prefill-link")
    def prefill_link(self, request: Request, pk: str | None = None) -> Response:
        form = self.get_object()
        body = PrefillSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        person = body.validated_data.get("contact") or body.validated_data.get("lead")
        return Response({"url": tokens.prefill_url(form, person)})


@extend_schema_view(list=extend_schema(summary="List form fields"), create=extend_schema(summary="Add a form field"))
class FormFieldViewSet(ModelViewSet):
    queryset = FormField.objects.all()
    serializer_class = FormFieldSerializer
    filterset_fields = ["form", "kind", "required"]
    ordering = ["form", "position", "id"]


@extend_schema_view(list=extend_schema(summary="List consent checkboxes"),
                    create=extend_schema(summary="Add a consent checkbox"))
class FormConsentViewSet(ModelViewSet):
    queryset = FormConsent.objects.all()
    serializer_class = FormConsentSerializer
    filterset_fields = ["form", "channel", "topic"]
    ordering = ["form", "position", "id"]


@extend_schema_view(list=extend_schema(summary="List form submissions",
                                       description="Newest first; search covers the email and every answer."))
class FormSubmissionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    queryset = FormSubmission.objects.select_related("form")
    serializer_class = FormSubmissionSerializer
    filterset_class = SubmissionFilter
    search_fields = ["email", "values"]
    ordering_fields = ["submitted_at", "email"]
    ordering = ["-submitted_at", "-id"]

    @extend_schema(summary="Export a form's submissions as CSV", responses={(200, "text/csv"): OpenApiTypes.STR},
                   description="Give `form` (required); filters and search apply as on the list.")
    @action(detail=False, methods=["get"])
    def export(self, request: Request) -> Any:
        form_id = request.query_params.get("form")
        if not form_id or not str(form_id).isdigit():
            raise serializers.ValidationError({"form": ["Give the id of the form to export."]})
        form = WebForm.objects.filter(pk=form_id).first()
        if form is None:
            raise serializers.ValidationError({"form": ["No such form."]})
        rows = self.filter_queryset(self.get_queryset()).filter(form=form).order_by("-submitted_at", "-id")
        response = StreamingHttpResponse(queries.csv_rows(form, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{form.slug}-submissions.csv"'
        return response


@extend_schema_view(list=extend_schema(summary="List landing pages"),
                    create=extend_schema(summary="Create a landing page", description="As a draft; publish it."))
class LandingPageViewSet(ModelViewSet):
    queryset = LandingPage.objects.all()
    serializer_class = LandingPageSerializer
    filterset_fields = ["status", "brand"]
    search_fields = ["name", "slug", "title"]
    ordering = ["name", "id"]

    def perform_create(self, serializer: LandingPageSerializer) -> None:
        serializer.save(created_by=self.request.user if self.request.user.is_authenticated else None)

    @extend_schema(summary="Publish the draft", request=None, responses={200: LandingPageSerializer})
    @action(detail=True, methods=["post"], permission_classes=[ChangeActionPermissions])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        page = self.get_object()
        with django_errors_as_drf():
            services.publish_page(page, now=timezone.now())
        return Response(LandingPageSerializer(page, context={"request": request}).data)

    @extend_schema(summary="Unpublish (visitors get not found)", request=None, responses={200: LandingPageSerializer})
    @action(detail=True, methods=["post"], permission_classes=[ChangeActionPermissions])
    def unpublish(self, request: Request, pk: str | None = None) -> Response:
        page = self.get_object()
        services.unpublish_page(page)
        return Response(LandingPageSerializer(page, context={"request": request}).data)
