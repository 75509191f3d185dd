"""API views of outgoing webhooks: endpoints (the signing secret is shown once, on create and on
rotation), a signed test event, and the delivery log with "retry now"."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from channels import services, webhooks
from channels.api.base import IN_USE, ProtectedDeleteMixin
from channels.models import WebhookDelivery, WebhookEndpoint
from contacts.api.base import FIELD_ERRORS, ErrorSerializer, GenericViewSet, ModelViewSet
from contacts.api.filters import after, before, by_id
from contacts.auth import ChangeActionPermissions, ScopedModelPermissions
from contacts.serializers import PersonRefSerializer, django_errors_as_drf, person_of


# --- Serializers ---------------------------------------------------------------------------------------
class WebhookEndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "name", "url", "active", "timeout_seconds", "description", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate_url(self, value: str) -> str:
        try:
            webhooks.check_url(value)
        except webhooks.UnsafeURL as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret (whsec_…); shown only this once")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret (whsec_…); shown only this once")
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="Until then messages also carry a signature made with the previous secret")


class TestEventSerializer(PersonRefSerializer):
    """The person the test event is about."""

    class Meta:
        model = WebhookDelivery
        fields = ["contact", "lead"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "endpoint", "contact", "lead", "event_type", "payload", "idempotency_key", "message_id",
                  "status", "attempts", "next_attempt_at", "response_code", "response_body", "last_error",
                  "journey_id", "tile_key", "queued_at", "last_attempt_at", "delivered_at"]
        read_only_fields = fields


class WebhookDeliveryFilter(filters.FilterSet):
    endpoint = by_id("endpoint")
    contact = by_id("contact")
    lead = by_id("lead")
    queued_after = after("queued_at")
    queued_before = before("queued_at")

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "contact", "lead", "status", "event_type", "journey_id", "tile_key", "idempotency_key",
                  "message_id"]


class TestEventPermissions(ScopedModelPermissions):
    """A test event is a new delivery: `channels.add_webhookdelivery`, with a write-scope key."""

    perms_map = {**ScopedModelPermissions.perms_map, "POST": ["channels.add_webhookdelivery"]}


# --- Views ---------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="List webhook endpoints"),
    create=extend_schema(
        summary="Create a webhook endpoint",
        description="Events are POSTed as JSON to `url`, signed per Standard Webhooks (`webhook-id`, "
        "`webhook-timestamp`, `webhook-signature`). The URL must be http(s) and resolve to public "
        "addresses only. The answer carries the signing `secret`, shown only this once.",
        responses={201: WebhookEndpointCreatedSerializer, 400: FIELD_ERRORS},
    ),
    destroy=extend_schema(summary="Delete a webhook endpoint", responses={204: None, 409: IN_USE}),
)
class WebhookEndpointViewSet(ProtectedDeleteMixin, ModelViewSet):
    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer
    search_fields = ["name", "url"]
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = ["name", "id"]
    filterset_fields = ["active"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        endpoint = form.save()
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rotate an endpoint's signing secret",
        description="Makes a new secret and answers with it (shown only this once). For a grace period the "
        "previous secret keeps signing too (two signatures in `webhook-signature`), so receivers can switch "
        "without losing messages.",
        request=None,
        responses={200: SecretSerializer},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret", permission_classes=[ChangeActionPermissions])
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        secret = services.rotate_webhook_secret(endpoint, now=timezone.now())
        return Response(SecretSerializer({"secret": secret,
                                          "previous_secret_expires_at": endpoint.previous_secret_expires_at}).data)

    @extend_schema(
        summary="Send a test event",
        description="Queues a signed `webhook.test` event about the given contact or lead; it is POSTed "
        "within seconds. Follow the answer's delivery for the receiver's response.",
        request=TestEventSerializer,
        responses={201: WebhookDeliverySerializer, 400: FIELD_ERRORS},
    )
    @action(detail=True, methods=["post"], permission_classes=[TestEventPermissions])
    def test(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        form = TestEventSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        with django_errors_as_drf():
            delivery = services.send_test_webhook(endpoint, person=person_of(dict(form.validated_data)),
                                                  now=timezone.now(), user=request.user)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="List webhook deliveries",
        description="One row per event and endpoint, newest first: queued, sending, retrying (with the next "
        "attempt's time), delivered or failed, with the last answer's status code, body and error.",
    ),
)
class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    queryset = WebhookDelivery.objects.all()
    serializer_class = WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilter
    search_fields = ["event_type", "message_id", "idempotency_key"]
    ordering_fields = ["queued_at", "last_attempt_at", "delivered_at"]
    ordering = ["-queued_at", "-id"]

    @extend_schema(
        summary="Retry a delivery now",
        description="Sends a failed or retrying message again at once (one more attempt, same `webhook-id`).",
        request=None,
        responses={200: WebhookDeliverySerializer,
                   409: OpenApiResponse(ErrorSerializer, description="The message is not failed or retrying")},
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeActionPermissions])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        delivery = self.get_object()
        if not services.retry_webhooks_now(WebhookDelivery.objects.filter(pk=delivery.pk), now=timezone.now()):
            return Response({"detail": f"Only failed or retrying messages can be retried; this one is "
                                       f"{delivery.get_status_display().lower()}."}, status=status.HTTP_409_CONFLICT)
        delivery.refresh_from_db()
        return Response(WebhookDeliverySerializer(delivery).data)
