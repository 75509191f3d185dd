"""What the segments API views share: permissions, the 409 answer, and the documented error shapes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request

from contacts.api.base import ErrorSerializer
from contacts.auth import VIEW_PERMISSION, ScopedModelPermissions
from segments.models import Segment

TRUE_VALUES = {"1", "true", "yes", "on"}

DRAFT = OpenApiParameter(
    "draft", OpenApiTypes.BOOL, OpenApiParameter.QUERY,
    description="Save even if the query does not validate: the segment is then kept as a draft (never "
    "refreshed, never used by journeys) until a valid query is saved. A valid query always makes the "
    "segment ready.",
)
QUERY_ERRORS = OpenApiResponse(
    response={
        "type": "object",
        "properties": {
            "query": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
                    "required": ["path", "message"],
                },
            },
        },
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "example": {"query": [
            {"path": "conditions[1].field", "message": "unknown contact field 'shoe_size'"},
            {"path": "conditions[2].window.last_days", "message": "must be a whole number of days, at least 1"},
        ]},
    },
    description="Invalid input. A broken query gives every problem with its path in the query "
    '(`{"query": [{"path", "message"}]}`); other fields give a list of messages per field name.',
)
CONFLICT = OpenApiResponse(
    ErrorSerializer, description="Not for this kind of segment (static or dynamic), or a draft"
)
IN_USE = OpenApiResponse(ErrorSerializer, description="Other segments refer to this one")


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This cannot be done to this segment."
    default_code = "conflict"


@contextmanager
def conflicts_as_409() -> Iterator[None]:
    """The services refuse work that does not fit the segment (refreshing a static one, adding
    members by hand to a dynamic one): answer 409 with their message."""
    try:
        yield
    except DjangoValidationError as exc:
        raise Conflict(" ".join(exc.messages)) from exc


def is_draft_save(request: Request) -> bool:
    return request.query_params.get("draft", "").strip().lower() in TRUE_VALUES


class CheckPermissions(ScopedModelPermissions):
    """Validating or previewing a query only reads: `view_segment` is enough, read-only keys too."""

    perms_map = {**ScopedModelPermissions.perms_map, "POST": VIEW_PERMISSION}

    def has_permission(self, request: Request, view) -> bool:
        return DjangoModelPermissions.has_permission(self, request, view)


class SegmentFilter(filters.FilterSet):
    class Meta:
        model = Segment
        fields = ["kind", "audience", "status", "refresh_mode"]
