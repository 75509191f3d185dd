"""API views of journeys: define them (CRUD on drafts), validate, go live, pause, resume, stop, new
versions (with a preview of who stands where), clone, journeys as code (export, import with a diff),
test runs; runs with their explained path, the step log, and the shared journey settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Count, ProtectedError, Q
from django.utils import timezone
from django.utils.text import slugify
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, ParseError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from contacts.api.base import FIELD_ERRORS, ErrorSerializer, ModelViewSet
from contacts.api.filters import by_id
from contacts.auth import VIEW_PERMISSION, ChangeActionPermissions, ScopedModelPermissions
from contacts.serializers import person_of
from journeys import portable, serializers, services, testmode
from journeys.api import runs
from journeys.models import Journey, JourneyRun
from journeys.validation import validate_journey

INVALID = "The journey does not validate; fix the tiles named in errors."
TRUE_VALUES = {"1", "true", "yes", "on"}
EDITABLE = serializers.EDITABLE_STATUSES
LIVE_EDIT = ("This journey is {status}: {fields} cannot change while people are inside. Its name and "
             "governance settings can; tiles change through a new version (POST /api/journeys/{pk}/new-version/ "
             "with the tiles), and another entry needs a clone.")


def _differs(journey: Journey, name: str, value) -> bool:
    current = getattr(journey, name)
    if hasattr(current, "all"):  # a many-to-many manager
        return {o.pk for o in current.all()} != {o.pk for o in value}
    return current != value
TILE_ERRORS = OpenApiResponse(serializers.JourneyTileErrorsSerializer,
                              description="The journey does not validate: messages per tile key")
CONFLICT = OpenApiResponse(ErrorSerializer, description="Not in this state (e.g. pausing a draft, editing a live "
                           "journey)")
DRY_RUN = OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="Only check and diff; save nothing")
IMPORT_RESULT = serializers.JourneyImportResultSerializer
DOCUMENT_BODY = {"application/json": OpenApiTypes.OBJECT, "application/yaml": OpenApiTypes.STR}
IMPORT_DOC = (
    "The body is a journey document (`format: waymark.journey/1`), as JSON or as YAML "
    "(`Content-Type: application/yaml`): the same document `export` writes. References are by stable key "
    "or name (emails by key, segments and sales queues by name, users by username). The answer lists the "
    "changes (a diff), every problem with its path in the document (nothing is saved if there is one: 400), "
    "and what going live would say."
)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This cannot be done to this journey now."
    default_code = "conflict"


class TileErrors(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, errors: dict[str, list[str]], detail: str = INVALID) -> None:
        super().__init__()
        self.detail = {"detail": detail, "errors": errors}


@contextmanager
def lifecycle_errors(detail: str = INVALID) -> Iterator[None]:
    """A service refusing for validation (errors per tile) answers 400; for the state it is in, 409."""
    try:
        yield
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise TileErrors(exc.message_dict, detail) from exc
        raise Conflict(" ".join(exc.messages)) from exc


def tile_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """validate_journey's errors with the journey's own under "journey" (as going live answers)."""
    return {key or "journey": messages for key, messages in errors.items()}


class YAMLRenderer(BaseRenderer):
    media_type = "application/yaml"
    format = "yaml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return portable.dumps(data, "yaml").encode()


class DocumentJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return portable.dumps(data, "json").encode()


class YAMLParser(BaseParser):
    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None) -> dict:
        try:
            return portable.loads(stream.read())
        except portable.DocumentError as exc:
            raise ParseError(str(exc)) from exc


class TextYAMLParser(YAMLParser):
    media_type = "text/yaml"


class ReadOnlyCheckPermissions(ScopedModelPermissions):
    """Checks that save nothing (a test run): `view_journey` is enough, read-only keys too."""

    perms_map = {**ScopedModelPermissions.perms_map, "POST": VIEW_PERMISSION}

    def has_permission(self, request: Request, view) -> bool:
        return DjangoModelPermissions.has_permission(self, request, view)


class JourneyFilter(filters.FilterSet):
    entry_segment = by_id("entry_segment")

    class Meta:
        model = Journey
        fields = ["status", "audience", "entry_trigger", "entry_segment", "entry_mode"]


def with_counts(queryset):
    return queryset.annotate(open_runs=Count("runs", filter=Q(runs__state__in=JourneyRun.OPEN_STATES)),
                             total_runs=Count("runs"))


@extend_schema_view(
    list=extend_schema(summary="List journeys", description="Search covers name and description."),
    retrieve=extend_schema(summary="Get a journey"),
    create=extend_schema(summary="Create a journey", description="A draft. " + serializers.TILES_HELP),
    update=extend_schema(summary="Replace a journey", description="Drafts and stopped journeys freely; a live "
                         "or paused journey only its name and governance settings (409 for tiles or entry: "
                         "those change through a new version, or a clone).", responses={
                             200: serializers.JourneySerializer, 400: FIELD_ERRORS, 409: CONFLICT}),
    partial_update=extend_schema(summary="Update a journey", description="Drafts and stopped journeys freely; "
                                 "a live or paused journey only its name and governance settings.",
                                 responses={200: serializers.JourneySerializer, 400: FIELD_ERRORS, 409: CONFLICT}),
    destroy=extend_schema(summary="Delete a journey", description="Only journeys no one entered (drafts, or "
                          "stopped before anyone came in): a journey with runs is kept for its history (409).",
                          responses={204: None, 409: CONFLICT}),
)
class JourneyViewSet(ModelViewSet):
    queryset = Journey.objects.all()
    serializer_class = serializers.JourneySerializer
    filterset_class = JourneyFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "status", "priority", "created_at", "updated_at"]
    ordering = ["name", "id"]

    def get_queryset(self):
        queryset = self.queryset.prefetch_related("exclusion_segments")
        if self.action in ("list", "retrieve"):
            return with_counts(queryset)
        return queryset

    def perform_create(self, serializer: serializers.JourneySerializer) -> None:
        serializer.save(created_by=self.request.user)

    def perform_update(self, serializer: serializers.JourneySerializer) -> None:
        journey = serializer.instance
        with transaction.atomic():
            locked = Journey.objects.select_for_update().get(pk=journey.pk)
            if locked.status not in EDITABLE:
                frozen = sorted(name for name, value in serializer.validated_data.items()
                                if name not in Journey.LIVE_EDITABLE_FIELDS and _differs(locked, name, value))
                if frozen:
                    raise Conflict(LIVE_EDIT.format(status=locked.get_status_display().lower(), pk=journey.pk,
                                                    fields=", ".join(frozen)))
            serializer.save()

    def perform_destroy(self, instance: Journey) -> None:
        if instance.status in (Journey.Status.LIVE, Journey.Status.PAUSED):
            raise Conflict(f"“{instance}” is {instance.status}; stop it before deleting it.")
        try:
            instance.delete()
        except ProtectedError:
            raise Conflict(f"People went through “{instance}”: it is kept, stopped, so its runs and their "
                           "explanations stay readable. Only journeys no one entered can be deleted.") from None

    def _answer(self, journey: Journey, code: int = status.HTTP_200_OK) -> Response:
        journey = with_counts(Journey.objects.filter(pk=journey.pk)).prefetch_related("exclusion_segments").get()
        return Response(serializers.JourneySerializer(journey, context=self.get_serializer_context()).data,
                        status=code)

    @extend_schema(summary="Validate a journey", description="Every problem going live would refuse, pinned "
                   "to its tile key (\"journey\" for the entry and governance). Saves nothing.",
                   responses=serializers.JourneyValidationResultSerializer)
    @action(detail=True, methods=["get"], filter_backends=[])
    def validate(self, request: Request, pk: str | None = None) -> Response:
        errors = tile_errors(validate_journey(self.get_object()))
        return Response({"valid": not errors, "errors": errors})

    @extend_schema(summary="Go live", description="Validates everything, freezes the tiles as a new version and "
                   "starts entry. Drafts and stopped journeys only (409 otherwise).", request=None,
                   responses={201: serializers.JourneyVersionSerializer, 400: TILE_ERRORS, 409: CONFLICT})
    @action(detail=True, methods=["post"], url_path="go-live", url_name="go-live",
            permission_classes=[ChangeActionPermissions])
    def go_live(self, request: Request, pk: str | None = None) -> Response:
        with lifecycle_errors():
            version = services.go_live(self.get_object(), now=timezone.now())
        return Response(serializers.JourneyVersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Pause a live journey", description="People inside stay where they are; nothing "
                   "runs until it resumes.", request=None,
                   responses={200: serializers.JourneySerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[ChangeActionPermissions])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        journey = self.get_object()
        with lifecycle_errors():
            services.pause(journey)
        return self._answer(journey)

    @extend_schema(summary="Resume a paused journey", request=None,
                   responses={200: serializers.JourneySerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[ChangeActionPermissions])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        journey = self.get_object()
        with lifecycle_errors():
            services.resume(journey)
        return self._answer(journey)

    @extend_schema(summary="Stop a journey", description="Everyone inside exits with reason \"stopped\"; no "
                   "one enters any more.", request=None, responses=serializers.JourneyStopResultSerializer)
    @action(detail=True, methods=["post"], permission_classes=[ChangeActionPermissions])
    def stop(self, request: Request, pk: str | None = None) -> Response:
        exited = services.stop(self.get_object(), now=timezone.now())
        return Response({"exited": exited})

    @extend_schema(methods=["GET"], summary="Preview a new version",
                   description="Where the people inside stand (per version and tile) and whether the saved "
                   "draft still has each tile, i.e. where moving runs would take them.",
                   responses=serializers.JourneyVersionPreviewSerializer(many=True))
    @extend_schema(methods=["POST"], summary="Create a new version",
                   description="Freezes the given tiles (or the saved draft) of a live or paused journey as "
                   "its next version; new entrants take it. People inside finish their version, or with "
                   "`move_runs` move to the tile of the same key. The tiles are validated first (400 with "
                   "errors per tile; nothing is saved).", request=serializers.JourneyNewVersionSerializer,
                   responses={201: serializers.JourneyVersionSerializer, 400: TILE_ERRORS, 409: CONFLICT})
    @action(detail=True, methods=["get", "post"], url_path="new-version", url_name="new-version",
            permission_classes=[ChangeActionPermissions], filter_backends=[])
    def new_version(self, request: Request, pk: str | None = None) -> Response:
        journey = self.get_object()
        if request.method == "GET":
            preview = services.version_preview(journey)
            return Response(serializers.JourneyVersionPreviewSerializer(preview, many=True).data)
        form = serializers.JourneyNewVersionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        if "tiles" in form.validated_data:
            journey.tiles = form.validated_data["tiles"]
        with lifecycle_errors(), transaction.atomic():
            version = services.new_version(journey, now=timezone.now(), move_runs=form.validated_data["move_runs"])
            # The draft is what was frozen, so the builder and the next edit start from it.
            Journey.objects.filter(pk=journey.pk).update(tiles=journey.tiles, updated_at=timezone.now())
        return Response(serializers.JourneyVersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="List a journey's versions", description="Newest first: the tiles as they were "
                   "frozen.", responses=serializers.JourneyVersionSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        page = self.paginate_queryset(self.get_object().versions.order_by("-number"))
        return self.get_paginated_response(serializers.JourneyVersionSerializer(page, many=True).data)

    @extend_schema(summary="Clone a journey", description="A draft copy named \"Copy of …\": same entry, "
                   "governance and tiles; no runs or versions.", request=None,
                   responses={201: serializers.JourneySerializer})
    @action(detail=True, methods=["post"], permission_classes=[ScopedModelPermissions])
    def clone(self, request: Request, pk: str | None = None) -> Response:
        copy = services.clone(self.get_object(), user=request.user)
        return self._answer(copy, status.HTTP_201_CREATED)

    @extend_schema(summary="Export a journey as a document", description="Journeys as code: the journey with "
                   "its tiles, references by stable key or name. `?format=yaml` (the default) or `?format=json`. "
                   "The tiles are the draft, or with `?version=N` those frozen in version N.",
                   parameters=[OpenApiParameter("format", OpenApiTypes.STR, enum=["yaml", "json"]),
                               OpenApiParameter("version", OpenApiTypes.INT, description="A version number")],
                   responses={(200, "application/yaml"): OpenApiTypes.STR,
                              (200, "application/json"): OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], filter_backends=[], renderer_classes=[YAMLRenderer, DocumentJSONRenderer])
    def export(self, request: Request, pk: str | None = None) -> Response:
        journey = self.get_object()
        version = None
        if request.query_params.get("version"):
            params = serializers.JourneyExportQuerySerializer(data=request.query_params)
            params.is_valid(raise_exception=True)
            version = journey.versions.filter(number=params.validated_data["version"]).first()
            if version is None:
                raise NotFound(f"“{journey}” has no version {params.validated_data['version']}.")
        extension = "json" if request.accepted_renderer.format == "json" else "yaml"
        filename = f"{slugify(journey.name) or 'journey'}{f'-v{version.number}' if version else ''}.{extension}"
        return Response(portable.export_journey(journey, version=version),
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @extend_schema(summary="Import a journey as a new draft", operation_id="journeys_import",
                   description=IMPORT_DOC, parameters=[DRY_RUN], request=DOCUMENT_BODY,
                   responses={201: IMPORT_RESULT, 200: IMPORT_RESULT, 400: IMPORT_RESULT})
    @action(detail=False, methods=["post"], url_path="import", url_name="import",
            parser_classes=[JSONParser, YAMLParser, TextYAMLParser], filter_backends=[])
    def import_new(self, request: Request) -> Response:
        return self._import(request, journey=None)

    @extend_schema(summary="Import a document over a draft", operation_id="journeys_import_over",
                   description=IMPORT_DOC + " Only a draft can be overwritten: a live journey changes through "
                   "a new version.", parameters=[DRY_RUN], request=DOCUMENT_BODY,
                   responses={200: IMPORT_RESULT, 400: IMPORT_RESULT})
    @action(detail=True, methods=["post"], url_path="import", url_name="import-over",
            parser_classes=[JSONParser, YAMLParser, TextYAMLParser], permission_classes=[ChangeActionPermissions],
            filter_backends=[])
    def import_over(self, request: Request, pk: str | None = None) -> Response:
        return self._import(request, journey=self.get_object())

    @extend_schema(summary="Test-run a journey", description="Runs the journey (a draft is fine) for one test "
                   "contact or lead on a virtual clock that fast-forwards waits, with a scripted timeline of "
                   "triggers and email opens or clicks, through the real engine, then rolls everything back: "
                   "nothing is sent or kept. Answers the path the person would take. An invalid journey or "
                   "script answers 400 with errors per tile (or `script[i]`). Needs only view permission.",
                   request=serializers.JourneyTestRunSerializer,
                   responses={200: serializers.JourneyTestRunResultSerializer, 400: TILE_ERRORS})
    @action(detail=True, methods=["post"], url_path="test-run", url_name="test-run",
            permission_classes=[ReadOnlyCheckPermissions], filter_backends=[])
    def test_run(self, request: Request, pk: str | None = None) -> Response:
        journey = self.get_object()
        form = serializers.JourneyTestRunSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        with lifecycle_errors("The test run cannot start; see errors."):
            result = testmode.test_run(journey, person=person_of(data), script=data["script"],
                                       entry_payload=data["entry_payload"], now=data.get("now") or timezone.now())
        return Response(serializers.JourneyTestRunResultSerializer(result).data)

    def _import(self, request: Request, *, journey: Journey | None) -> Response:
        dry_run = request.query_params.get("dry_run", "").strip().lower() in TRUE_VALUES
        result = portable.import_journey(request.data, now=timezone.now(), user=request.user, dry_run=dry_run,
                                         journey=journey)
        answer = status.HTTP_400_BAD_REQUEST if not result.ok else (
            status.HTTP_201_CREATED if result.created and not dry_run else status.HTTP_200_OK)
        return Response(serializers.JourneyImportResultSerializer(result).data, status=answer)


VIEWSETS = [
    ("journeys", JourneyViewSet, "journey"),
    ("journey-runs", runs.JourneyRunViewSet, "journey-run"),
    ("journey-steps", runs.StepLogViewSet, "journey-step"),
    ("journey-settings", runs.JourneySettingsViewSet, "journey-settings"),
]


def register(router: BaseRouter) -> None:
    for prefix, viewset, basename in VIEWSETS:
        router.register(prefix, viewset, basename=basename)
