"""API views of emails: write and publish them, preview them, send one (transactional) message,
and read what was sent (deliveries)."""

from __future__ import annotations

from django.db.models import Max
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request
from rest_framework.response import Response

from channels import compose, serializers, services, templating
from channels.api import filters
from channels.api.base import IN_USE, InUse, ProtectedDeleteMixin
from channels.models import Delivery, Email
from contacts.api.base import FIELD_ERRORS, ErrorSerializer, GenericViewSet, ModelViewSet
from contacts.auth import VIEW_PERMISSION, ChangeActionPermissions, ScopedModelPermissions
from contacts.models import Contact, Lead
from contacts.serializers import django_errors_as_drf, person_of

API_KEY_PREFIX = "api:"  # keeps integrators' keys apart from the journeys' "run:tile:attempt"


class PreviewPermissions(ScopedModelPermissions):
    """A preview only reads: `view_email` is enough, and read-only API keys may ask for one."""

    perms_map = {**ScopedModelPermissions.perms_map, "POST": VIEW_PERMISSION}

    def has_permission(self, request: Request, view) -> bool:
        return DjangoModelPermissions.has_permission(self, request, view)


class SendPermissions(ScopedModelPermissions):
    """Sending a message creates a Delivery: `channels.add_delivery`, with a write-scope key."""

    perms_map = {**ScopedModelPermissions.perms_map, "POST": ["channels.add_delivery"]}


def _compose_errors_as_drf(exc: Exception) -> ValidationError:
    return ValidationError({"non_field_errors": [str(exc)]})


@extend_schema_view(
    list=extend_schema(summary="List emails", description="Search covers name, key and subject."),
    create=extend_schema(
        summary="Create an email",
        description="A draft: its blocks are checked in full when it is previewed or published.",
    ),
    destroy=extend_schema(summary="Delete an email", responses={204: None, 409: IN_USE}),
)
class EmailViewSet(ProtectedDeleteMixin, ModelViewSet):
    queryset = Email.objects.select_related("topic").annotate(latest_version_number=Max("versions__number"))
    serializer_class = serializers.EmailSerializer
    filterset_class = filters.EmailFilter
    search_fields = ["name", "key", "subject"]
    ordering_fields = ["name", "key", "created_at", "updated_at"]
    ordering = ["name", "id"]

    def perform_create(self, serializer: serializers.EmailSerializer) -> None:
        serializer.save(created_by=self.request.user)

    @extend_schema(
        summary="Publish an email",
        description="Validates the email (tokens, blocks, conditions, the postal address of commercial "
        "email) and freezes a new numbered version; journeys and sends use the latest version.",
        request=None,
        responses={201: serializers.EmailVersionSerializer, 400: FIELD_ERRORS},
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeActionPermissions])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        email = self.get_object()
        with django_errors_as_drf():
            version = services.publish(email, now=timezone.now(), user=request.user)
        return Response(serializers.EmailVersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="List an email's published versions", description="Newest first.",
                   responses=serializers.EmailVersionSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        versions = self.get_object().versions.order_by("-number")
        page = self.paginate_queryset(versions)
        return self.get_paginated_response(serializers.EmailVersionSerializer(page, many=True).data)

    @extend_schema(
        summary="Preview an email",
        description="Renders the current draft (not a published version) as a contact or lead would "
        "see it, or with fallbacks when no one is given. Links are not tracked.",
        request=serializers.PreviewSerializer,
        responses={200: serializers.RenderedSerializer, 400: FIELD_ERRORS},
    )
    @action(detail=True, methods=["post"], permission_classes=[PreviewPermissions])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        email = self.get_object()
        form = serializers.PreviewSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        person = self._person(form.validated_data)
        try:
            rendered = services.preview(email, person=person, context=form.validated_data.get("context"),
                                        now=timezone.now())
        except (compose.ComposeError, templating.TemplateError) as exc:
            raise _compose_errors_as_drf(exc) from exc
        return Response(serializers.RenderedSerializer(rendered).data)

    def _person(self, data: dict) -> Contact | Lead | None:
        for key, model in (("contact", Contact), ("lead", Lead)):
            if data.get(key) is None:
                continue
            if not self.request.user.has_perm(f"contacts.view_{key}"):
                raise PermissionDenied(f"Previewing as a {key} needs permission to view {key}s.")
            person = model.objects.select_related("account").filter(pk=data[key]).first()
            if person is None:
                raise ValidationError({key: [f"No {key} with id {data[key]}."]})
            return person
        return None

    @extend_schema(
        summary="Send this email to one person",
        description="Queues one message (e.g. a receipt or a password reset from your application) to a "
        "contact or lead; it goes out within seconds. Retrying with the same `idempotency_key` sends once "
        "and answers with the first message (200). Commercial email still needs the person's consent, and "
        "no email goes to an invalid or complaining address: the delivery's `status` and `reason` say. "
        "The key is stored with an `api:` prefix.",
        request=serializers.SendSerializer,
        responses={
            201: serializers.DeliverySerializer,
            200: OpenApiResponse(serializers.DeliverySerializer, description="Already queued with this key"),
            400: FIELD_ERRORS,
            409: OpenApiResponse(ErrorSerializer, description="The key was used for another email or person"),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[SendPermissions])
    def send(self, request: Request, pk: str | None = None) -> Response:
        email = self.get_object()
        form = serializers.SendSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        person = person_of(data)
        key = API_KEY_PREFIX + data["idempotency_key"]
        existing = Delivery.objects.filter(idempotency_key=key).first()
        if existing is not None and (existing.email_id != email.pk or existing.person != person):
            raise InUse("This idempotency key was already used to send another email or to another person.")
        with django_errors_as_drf():
            delivery = services.queue_email(email, person=person, idempotency_key=key,
                                            context=data.get("context") or {}, now=timezone.now())
        answer = status.HTTP_200_OK if existing is not None else status.HTTP_201_CREATED
        return Response(serializers.DeliverySerializer(delivery).data, status=answer)


@extend_schema_view(
    list=extend_schema(
        summary="List deliveries",
        description="One row per message, newest first, with what happened to it: queued, sent, "
        "delivered, bounced, not sent (and why), opened, clicked, unsubscribed. Read-only.",
    ),
)
class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    queryset = Delivery.objects.select_related("email", "version")
    serializer_class = serializers.DeliverySerializer
    filterset_class = filters.DeliveryFilter
    search_fields = ["to_address"]
    ordering_fields = ["queued_at", "sent_at"]
    ordering = ["-queued_at", "-id"]
