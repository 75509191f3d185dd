"""What every contacts API view shares: pagination and the documented error answers."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import pagination, serializers, viewsets

MUTATING_METHODS = ("POST", "PUT", "PATCH")


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=2`, 50 rows a page by default; integrations may ask for up to 500 (`?page_size=`)."""

    page_size_query_param = "page_size"
    max_page_size = 500


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


FIELD_ERRORS = OpenApiResponse(
    response={
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "example": {"email": ["Enter a valid email address."], "lead": ["Give a contact or a lead."]},
    },
    description="Invalid input: a list of messages per field name (or non_field_errors)",
)
NOT_AUTHENTICATED = OpenApiResponse(ErrorSerializer, description="No valid API key or session")
FORBIDDEN = OpenApiResponse(
    ErrorSerializer, description="Missing model permission, or a read-only API key on a write"
)
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such object")


class ErrorDocumentingAutoSchema(AutoSchema):
    """Adds the error answers an endpoint can give (400/401/403/404) beside its success answer."""

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        errors = {"401": NOT_AUTHENTICATED, "403": FORBIDDEN}
        has_body = self.method in MUTATING_METHODS and self.get_request_serializer() is not None
        if has_body or (self.method == "GET" and self._is_list_view()):
            errors["400"] = FIELD_ERRORS  # bad bodies; bad filter values on lists
        if "{" in self.path:
            errors["404"] = NOT_FOUND
        for code, response in sorted(errors.items()):
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses


class ViewSetDefaults:
    schema = ErrorDocumentingAutoSchema()
    pagination_class = PageNumberPagination


# No docstrings on these bases: drf-spectacular would show them as every operation's description.
class GenericViewSet(ViewSetDefaults, viewsets.GenericViewSet):
    pass


class ModelViewSet(ViewSetDefaults, viewsets.ModelViewSet):
    pass
