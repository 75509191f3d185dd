"""API views of what happens to people: the interaction timeline, consent, tasks and topics."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from contacts import serializers, services
from contacts.api import filters
from contacts.api.base import ErrorSerializer, GenericViewSet, ModelViewSet
from contacts.auth import ChangeActionPermissions
from contacts.models import Consent, ConsentChange, Interaction, SalesQueue, Task, Topic
from contacts.serializers import django_errors_as_drf, person_of


@extend_schema_view(
    list=extend_schema(summary="List interactions", description="The timeline, newest first."),
    create=extend_schema(
        summary="Record an interaction",
        description="Appends one line to a person's timeline. The timeline is append-only: "
        "there is no update or delete.",
    ),
)
class InteractionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, GenericViewSet):
    queryset = Interaction.objects.all()
    serializer_class = serializers.InteractionSerializer
    filterset_class = filters.InteractionFilter
    search_fields = ["name", "product", "link", "email_key"]
    ordering_fields = ["occurred_at", "recorded_at", "type", "amount"]
    ordering = ["-occurred_at", "-id"]

    def perform_create(self, serializer: serializers.InteractionSerializer) -> None:
        data = dict(serializer.validated_data)
        person = person_of(data)
        data.setdefault("source", "api")
        with django_errors_as_drf():
            serializer.instance = services.record_interaction(person, **data)


@extend_schema_view(
    list=extend_schema(
        summary="List current consent",
        description="One row per person and channel (topic empty) or channel and topic.",
    ),
    create=extend_schema(
        summary="Record a consent decision",
        description="Updates the current consent row and appends a line to the consent history, "
        "recorded as changed by the caller.",
    ),
)
class ConsentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, GenericViewSet):
    queryset = Consent.objects.select_related("topic")
    serializer_class = serializers.ConsentSerializer
    filterset_class = filters.ConsentFilter
    search_fields = ["source"]
    ordering_fields = ["updated_at", "channel"]
    ordering = ["channel", "topic__name", "id"]

    def perform_create(self, serializer: serializers.ConsentSerializer) -> None:
        data = dict(serializer.validated_data)
        person = person_of(data)
        data.setdefault("source", "api")
        with django_errors_as_drf():
            serializer.instance = services.set_consent(
                person, now=timezone.now(), changed_by=self.request.user, **data
            )


@extend_schema_view(list=extend_schema(summary="List consent history", description="Newest first; read-only."))
class ConsentHistoryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    queryset = ConsentChange.objects.select_related("topic")
    serializer_class = serializers.ConsentChangeSerializer
    filterset_class = filters.ConsentChangeFilter
    search_fields = ["source", "note"]
    ordering_fields = ["changed_at"]
    ordering = ["-changed_at", "-id"]


@extend_schema_view(
    list=extend_schema(summary="List tasks"),
    create=extend_schema(summary="Create a task", description="Assign it to a user or a sales queue."),
)
class TaskViewSet(ModelViewSet):
    queryset = Task.objects.all()
    serializer_class = serializers.TaskSerializer
    filterset_class = filters.TaskFilter
    search_fields = ["subject", "description"]
    ordering_fields = ["due_at", "created_at", "priority", "status"]
    ordering = ["status", "due_at", "id"]

    def perform_create(self, serializer: serializers.TaskSerializer) -> None:
        data = dict(serializer.validated_data)
        person = person_of(data)
        source = data.pop("source", "") or "api"
        with django_errors_as_drf():
            serializer.instance = services.create_task(
                person, now=timezone.now(), created_by=self.request.user, source=source, **data
            )

    @extend_schema(
        summary="Complete a task",
        request=None,
        responses={
            200: serializers.TaskSerializer,
            409: OpenApiResponse(ErrorSerializer, description="The task is not open (done or cancelled)"),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeActionPermissions])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        if not services.complete_task(task, now=timezone.now()):
            return Response({"detail": f"This task is {task.get_status_display().lower()}, not open."}, status=409)
        return Response(self.get_serializer(task).data)


@extend_schema_view(list=extend_schema(summary="List subscription topics"))
class TopicViewSet(ModelViewSet):
    queryset = Topic.objects.all()
    serializer_class = serializers.TopicSerializer
    search_fields = ["key", "name"]
    ordering_fields = ["key", "name"]
    ordering = ["name", "id"]


class SalesQueueViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """Sales queues, to assign tasks to (`queue` on a task). Managed in Django admin."""

    queryset = SalesQueue.objects.prefetch_related("members")
    serializer_class = serializers.SalesQueueSerializer
    search_fields = ["name"]
    ordering = ["name", "id"]
