"""API views of what happens inside journeys: runs (one person's way through one journey, with the
explained path on a run's own page), the step log, and the settings all journeys share. Read-only
but for the settings."""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from contacts.api.base import GenericViewSet
from contacts.api.filters import after, before, by_id
from journeys import serializers
from journeys.explain import explain
from journeys.models import JourneyRun, JourneySettings, StepLog


class JourneyRunFilter(filters.FilterSet):
    journey = by_id("journey")
    contact = by_id("contact")
    lead = by_id("lead")
    version = filters.NumberFilter(field_name="version__number", label="Version number")
    entered_after = after("entered_at")
    entered_before = before("entered_at")

    class Meta:
        model = JourneyRun
        fields = ["journey", "state", "contact", "lead", "tile_key", "version", "waiting_for"]


class StepLogFilter(filters.FilterSet):
    run = by_id("run")
    journey = by_id("run__journey")

    class Meta:
        model = StepLog
        fields = ["run", "journey", "tile_key", "outcome"]


@extend_schema_view(
    list=extend_schema(summary="List journey runs", description="One row per person per entry into a journey, "
                       "newest first: where they stand, until when, and why they left."),
    retrieve=extend_schema(summary="Get a journey run with its explained path",
                           description="`path` is the way the person went and why, step by step, ending "
                           "with where they are now (explain)."),
)
class JourneyRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    queryset = JourneyRun.objects.select_related("version")
    serializer_class = serializers.JourneyRunSerializer
    filterset_class = JourneyRunFilter
    ordering_fields = ["entered_at", "due_at", "finished_at"]
    ordering = ["-entered_at", "-id"]

    def get_serializer_class(self):
        return serializers.JourneyRunDetailSerializer if self.action == "retrieve" else self.serializer_class

    def get_object(self) -> JourneyRun:
        run = super().get_object()
        run.path = explain(run)
        return run


@extend_schema_view(
    list=extend_schema(summary="List the step log", description="Every tile visit of every run, oldest "
                       "first, with its outcome and reason (as data). Append-only; filter by run or journey."),
    retrieve=extend_schema(summary="Get a step"),
)
class StepLogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    queryset = StepLog.objects.all()
    serializer_class = serializers.StepLogSerializer
    filterset_class = StepLogFilter
    ordering_fields = ["at"]
    ordering = ["at", "id"]


@extend_schema_view(
    retrieve=extend_schema(summary="Get the journey settings", description="One set for all journeys: the "
                           "global suppression segment and the default frequency caps. The id is always "
                           "`current`."),
    update=extend_schema(summary="Replace the journey settings"),
    partial_update=extend_schema(summary="Update the journey settings"),
)
class JourneySettingsViewSet(mixins.RetrieveModelMixin, mixins.UpdateModelMixin, GenericViewSet):
    queryset = JourneySettings.objects.all()
    serializer_class = serializers.JourneySettingsSerializer
    lookup_value_regex = "current"
    pagination_class = None

    def get_object(self) -> JourneySettings:
        settings = JourneySettings.current()
        self.check_object_permissions(self.request, settings)
        return settings
