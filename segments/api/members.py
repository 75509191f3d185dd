"""API views of a segment's members: read them (searchable), and for static segments edit them by
hand (add or remove by id or email) or freeze in everyone a query selects now."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from contacts.api.base import FIELD_ERRORS
from contacts.auth import ChangeActionPermissions
from segments import compiler, serializers, services
from segments.api.base import CONFLICT, QUERY_ERRORS, conflicts_as_409
from segments.models import Segment, SegmentMembership

MAX_SEARCH_TERMS = 5
EDIT_DOC = (
    "Static segments only (409 otherwise). Give `ids` (contact or lead ids, by the segment's audience), "
    "`emails`, or both; those that match no one are listed in `unknown_ids` / `unknown_emails`."
)


def member_rows(segment: Segment, search: str = "") -> QuerySet:
    """The membership rows with the person's id, email and name, newest members first; every
    search term must match a first name, last name or email."""
    key = "contact" if segment.audience == Segment.Audience.CONTACT else "lead"
    rows = SegmentMembership.objects.filter(segment=segment).annotate(
        person_id=F(f"{key}_id"), email=F(f"{key}__email"),
        first_name=F(f"{key}__first_name"), last_name=F(f"{key}__last_name"),
    )
    for term in search.split()[:MAX_SEARCH_TERMS]:
        rows = rows.filter(Q(**{f"{key}__first_name__icontains": term}) | Q(**{f"{key}__last_name__icontains": term})
                           | Q(**{f"{key}__email__icontains": term}))
    return rows.order_by("-entered_at", "-id")


def _known(segment: Segment, ids: Sequence[int] = (),
           emails: Sequence[str] = ()) -> tuple[list[int], list[int], list[str]]:
    """(the ids of the people given, unknown ids, unknown emails): one query."""
    people = compiler.audience_queryset(segment.audience)
    wanted = {e.strip().lower() for e in emails if e.strip()}
    found = list(people.filter(Q(pk__in=ids) | Q(email__in=wanted)).values_list("pk", "email"))
    found_ids, found_emails = {pk for pk, _ in found}, {email for _, email in found}
    unknown_emails = sorted(wanted - found_emails) if emails else []
    return sorted(found_ids), sorted(set(ids) - found_ids), unknown_emails


def _edit_result(segment: Segment, *, entered: int = 0, exited: int = 0, unknown_ids: list[int],
                 unknown_emails: list[str]) -> Response:
    return Response(serializers.MembersEditResultSerializer({
        "entered": entered, "exited": exited, "member_count": segment.member_count,
        "unknown_ids": unknown_ids, "unknown_emails": unknown_emails,
    }).data)


class MembersActions:
    """The members endpoints of SegmentViewSet."""

    @extend_schema(
        summary="List a segment's members",
        description="The current members, newest first, with when each entered.",
        parameters=[OpenApiParameter("search", OpenApiTypes.STR,
                                     description="Words that must each match a first name, last name or email")],
        responses=serializers.MemberSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def members(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        page = self.paginate_queryset(member_rows(segment, request.query_params.get("search", "")))
        return self.get_paginated_response(serializers.MemberSerializer(page, many=True).data)

    @extend_schema(
        summary="Add members to a static segment", description=EDIT_DOC,
        request=serializers.MembersEditSerializer,
        responses={200: serializers.MembersEditResultSerializer, 400: FIELD_ERRORS, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="members/add", url_name="members-add",
            permission_classes=[ChangeActionPermissions])
    def add_members(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        edit = serializers.MembersEditSerializer(data=request.data)
        edit.is_valid(raise_exception=True)
        ids, unknown_ids, unknown_emails = _known(segment, **edit.validated_data)
        with conflicts_as_409():
            result = services.add_members(segment, ids, now=timezone.now())
        return _edit_result(segment, entered=result.entered, unknown_ids=unknown_ids, unknown_emails=unknown_emails)

    @extend_schema(
        summary="Remove members from a static segment", description=EDIT_DOC,
        request=serializers.MembersEditSerializer,
        responses={200: serializers.MembersEditResultSerializer, 400: FIELD_ERRORS, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="members/remove", url_name="members-remove",
            permission_classes=[ChangeActionPermissions])
    def remove_members(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        edit = serializers.MembersEditSerializer(data=request.data)
        edit.is_valid(raise_exception=True)
        ids, unknown_ids, unknown_emails = _known(segment, **edit.validated_data)
        with conflicts_as_409():
            result = services.remove_members(segment, ids, now=timezone.now())
        return _edit_result(segment, exited=result.exited, unknown_ids=unknown_ids, unknown_emails=unknown_emails)

    @extend_schema(
        summary="Freeze a query's people into a static segment",
        description="Adds, once, everyone the query selects now (the query is not kept: later changes do "
        "not follow). Static segments only (409 otherwise); a broken query is answered 400 with its paths.",
        request=serializers.FreezeSerializer,
        responses={200: serializers.SegmentRefreshSerializer, 400: QUERY_ERRORS, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeActionPermissions])
    def freeze(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        form = serializers.FreezeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        query = form.validated_data["query"]
        errors = services.check_query(query, audience=segment.audience)
        if errors:
            raise serializers.invalid_query(errors)
        with conflicts_as_409():
            result = services.freeze(segment, query, now=timezone.now())
        return Response(serializers.SegmentRefreshSerializer(result).data)
