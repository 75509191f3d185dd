"""What the email API views share beyond the contacts API's bases: deleting rows still in use."""

from __future__ import annotations

from django.db.models import ProtectedError
from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import APIException

from contacts.api.base import ErrorSerializer

IN_USE = OpenApiResponse(ErrorSerializer, description="Still used by emails (or an email by its deliveries)")


class InUse(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This is still in use and cannot be deleted."
    default_code = "in_use"


class ProtectedDeleteMixin:
    """Deleting a row others still refer to answers 409 with what refers to it, not 500."""

    def perform_destroy(self, instance) -> None:
        try:
            instance.delete()
        except ProtectedError as exc:
            kinds = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
            raise InUse(f"{instance} is still used by {' and '.join(kinds)}; it cannot be deleted.") from None
