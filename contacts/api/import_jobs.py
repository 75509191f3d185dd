"""API views of CSV imports: upload a file, then poll the job."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from contacts import imports, serializers
from contacts.api import filters
from contacts.api.base import GenericViewSet
from contacts.models import ImportJob
from contacts.serializers import django_errors_as_drf


@extend_schema_view(
    list=extend_schema(summary="List imports", description="Newest first."),
    retrieve=extend_schema(summary="Get an import", description="Poll this until status is done or failed."),
)
class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    queryset = ImportJob.objects.all()
    serializer_class = serializers.ImportJobSerializer
    filterset_class = filters.ImportJobFilter
    parser_classes = [MultiPartParser, FormParser]
    search_fields = ["original_name"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_serializer_class(self) -> type:
        if self.action == "create":
            return serializers.ImportUploadSerializer
        return serializers.ImportJobSerializer

    @extend_schema(
        summary="Import contacts from a CSV file",
        description="Small files are imported before the answer (status done); larger ones are "
        "queued (status queued) — poll the job. Rejected rows are listed in `errors` by row number.",
        request=serializers.ImportUploadSerializer,
        responses={201: serializers.ImportJobSerializer},
    )
    def create(self, request: Request) -> Response:
        upload = self.get_serializer(data=request.data)
        upload.is_valid(raise_exception=True)
        now = timezone.now()
        with django_errors_as_drf():
            job = imports.create_import(
                upload.validated_data["file"], mapping=upload.validated_data.get("mapping"),
                on_duplicate=upload.validated_data["on_duplicate"], user=request.user, now=now,
            )
        imports.start_import(job, now=now)
        return Response(serializers.ImportJobSerializer(job).data, status=status.HTTP_201_CREATED)
