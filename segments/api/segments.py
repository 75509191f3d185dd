"""API views of segments: define them (CRUD), check and preview a query, refresh, and read how
membership moved (changes, trend). Members and static edits are in `segments.api.members`."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from contacts.api.base import FIELD_ERRORS, ModelViewSet
from contacts.auth import ChangeActionPermissions
from contacts.serializers import django_errors_as_drf
from segments import queries, serializers, services
from segments.api.base import (
    CONFLICT,
    DRAFT,
    QUERY_ERRORS,
    CheckPermissions,
    Conflict,
    SegmentFilter,
    conflicts_as_409,
    is_draft_save,
)
from segments.api.members import MembersActions
from segments.models import MembershipChange, Segment

IN_USE_LIST = OpenApiResponse(
    {"type": "object", "properties": {"detail": {"type": "string"},
                                      "uses": {"type": "array", "items": {"type": "string"}}},
     "example": {"detail": "“Lapsed customers” is in use and cannot be deleted: …",
                 "uses": ["journey “Win back lapsed customers” (entry segment)"]}},
    description="Something uses this segment; `uses` names each use",
)

WRITE_DOC = (
    "A dynamic segment's query is validated: if it is broken the answer is 400 with every problem and "
    "its path in the query, unless `?draft=1` asks to keep it as a draft. A valid query makes the segment "
    "ready (`status`); refresh it to compute its members. A segment of another audience, or one referring "
    "back to this one (a cycle), is refused. Static segments have no query: add their members by hand."
)


@extend_schema_view(
    list=extend_schema(summary="List segments", description="Search covers name and description."),
    retrieve=extend_schema(summary="Get a segment"),
    create=extend_schema(summary="Create a segment", description=WRITE_DOC, parameters=[DRAFT],
                         responses={201: serializers.SegmentSerializer, 400: QUERY_ERRORS}),
    update=extend_schema(summary="Replace a segment", description=WRITE_DOC, parameters=[DRAFT],
                         responses={200: serializers.SegmentSerializer, 400: QUERY_ERRORS}),
    partial_update=extend_schema(summary="Update a segment", description=WRITE_DOC, parameters=[DRAFT],
                                 responses={200: serializers.SegmentSerializer, 400: QUERY_ERRORS}),
    destroy=extend_schema(
        summary="Delete a segment",
        description="Its members, refreshes and history go with it. A segment in use (by other segments' "
        "queries, journeys or the journey settings) cannot be deleted: 409 names each use in `uses`.",
        responses={204: None, 409: IN_USE_LIST},
    ),
)
class SegmentViewSet(MembersActions, ModelViewSet):
    queryset = Segment.objects.all()
    serializer_class = serializers.SegmentSerializer
    filterset_class = SegmentFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at", "member_count", "last_refreshed_at"]
    ordering = ["name", "id"]

    def get_queryset(self):
        if self.action in ("list", "retrieve", "update", "partial_update"):
            return self.queryset.prefetch_related("depends_on")
        return self.queryset

    def perform_create(self, serializer: serializers.SegmentSerializer) -> None:
        segment = Segment(**serializer.validated_data, created_by=self.request.user)
        serializer.instance = self._save(segment)

    def perform_update(self, serializer: serializers.SegmentSerializer) -> None:
        segment = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(segment, name, value)
        serializer.instance = self._save(segment)

    def _save(self, segment: Segment) -> Segment:
        draft = is_draft_save(self.request)
        if segment.is_dynamic and not draft:
            # The service refuses a broken query too, as text; checked here for the paths.
            errors = services.check_query(segment.query, audience=segment.audience, segment=segment)
            if errors:
                raise serializers.invalid_query(errors)
        with django_errors_as_drf():
            return services.save_segment(segment, now=timezone.now(), make_ready=not draft)

    def perform_destroy(self, instance: Segment) -> None:
        try:
            services.delete_segment(instance)
        except services.SegmentInUse as error:
            raise Conflict({"detail": error.message, "uses": error.uses}) from None

    @extend_schema(
        summary="Check a query",
        description="Every problem with a query for a segment of `audience`, with its path in the query. "
        "Give `segment` when editing one, to catch cycles. Saves nothing; needs only view permission.",
        request=serializers.ValidateSerializer,
        responses={200: serializers.ValidationResultSerializer, 400: FIELD_ERRORS},
    )
    @action(detail=False, methods=["post"], permission_classes=[CheckPermissions], filter_backends=[])
    def validate(self, request: Request) -> Response:
        form = serializers.ValidateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        errors = services.check_query(data["query"], audience=data["audience"], segment=data.get("segment"))
        return Response({"valid": not errors, "errors": serializers.query_errors(errors)})

    @extend_schema(
        summary="Preview a query",
        description="How many people a query selects right now, and a few of them. Saves nothing; "
        "needs only view permission. A broken query is answered 400, as when saving.",
        request=serializers.QueryCheckSerializer,
        responses={200: serializers.PreviewResultSerializer, 400: QUERY_ERRORS},
    )
    @action(detail=False, methods=["post"], permission_classes=[CheckPermissions], filter_backends=[])
    def preview(self, request: Request) -> Response:
        form = serializers.QueryCheckSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        query, audience = form.validated_data["query"], form.validated_data["audience"]
        errors = services.check_query(query, audience=audience)
        if errors:
            raise serializers.invalid_query(errors)
        count, sample = services.preview(query, audience=audience, now=timezone.now())
        return Response(serializers.PreviewResultSerializer({"count": count, "sample": sample}).data)

    @extend_schema(
        summary="Refresh a segment now",
        description="Dynamic, ready segments only: computes the members in the database and records "
        "who entered and who exited.",
        request=None,
        responses={200: serializers.SegmentRefreshSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeActionPermissions])
    def refresh(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        with conflicts_as_409():
            result = services.refresh(segment, now=timezone.now())
        return Response(serializers.SegmentRefreshSerializer(result).data)

    @extend_schema(
        summary="List a segment's membership changes",
        description="Who entered and who exited, newest first.",
        parameters=[OpenApiParameter("change", OpenApiTypes.STR, enum=MembershipChange.Change.values,
                                     description="Only entries or only exits")],
        responses=serializers.MembershipChangeSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def changes(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        params = serializers.ChangesQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        changes = segment.changes.select_related("contact", "lead").order_by("-changed_at", "-id")
        if "change" in params.validated_data:
            changes = changes.filter(change=params.validated_data["change"])
        page = self.paginate_queryset(changes)
        return self.get_paginated_response(serializers.MembershipChangeSerializer(page, many=True).data)

    @extend_schema(
        summary="A segment's membership trend",
        description="One point per day over the last `days` days (today last): members at the day's end, "
        "how many entered and exited.",
        parameters=[OpenApiParameter("days", OpenApiTypes.INT, description="1 to 365; 30 by default")],
        responses={200: serializers.TrendSerializer, 400: FIELD_ERRORS},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def trend(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        params = serializers.TrendQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        days = params.validated_data["days"]
        points = queries.membership_trend(segment, days=days, now=timezone.now())
        return Response(serializers.TrendSerializer({"days": days, "points": points}).data)
