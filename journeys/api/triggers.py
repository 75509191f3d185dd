"""The triggers API: the catalog (built-in and custom, with their payload schemas), firing custom
triggers one at a time or up to 1,000 in one request, custom trigger CRUD, and recent events with
the journeys they touched."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from contacts.api.base import FIELD_ERRORS, ErrorSerializer, GenericViewSet, ModelViewSet
from contacts.auth import RecentAPIKeyAuthentication, ScopedModelPermissions
from contacts.serializers import django_errors_as_drf
from journeys import ingest, trigger_queries, triggers, usage
from journeys.models import CustomTrigger, TriggerEvent
from journeys.models.triggers import attribute_errors

MAX_BATCH = 1000
IDEMPOTENCY_HEADER = "Idempotency-Key"

IDEMPOTENCY = OpenApiParameter(
    IDEMPOTENCY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Send the same key again (a retry) and get the same answer: one event is stored.")
RATE_LIMITED = OpenApiResponse(ErrorSerializer, description="Past the trigger's fair-use rate: retry after "
                               "the seconds in the Retry-After header. Nothing was stored.")
UNKNOWN = OpenApiResponse(ErrorSerializer, description="No trigger with this key")
CHANGING = OpenApiResponse(ErrorSerializer, description="The trigger's definition changed again and again while the "
                           "event was being stored (three times in one request): nothing was stored; send it again.")
INTAKE_AUTHENTICATION = [RecentAPIKeyAuthentication, SessionAuthentication]


class TriggerSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField()
    custom = serializers.SerializerMethodField()
    fired_by_api = serializers.SerializerMethodField()
    schema = serializers.JSONField()
    attributes = serializers.ListField(child=serializers.DictField())

    def get_custom(self, trigger: triggers.Trigger) -> bool:
        return trigger.custom is not None

    def get_fired_by_api(self, trigger: triggers.Trigger) -> bool:
        return fireable(trigger)


class FireSerializer(serializers.Serializer):
    payload = serializers.JSONField(help_text="The event's attributes, checked against the trigger's schema")


class FiredSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    contact = serializers.IntegerField(allow_null=True, source="contact_id")
    lead = serializers.IntegerField(allow_null=True, source="lead_id")
    occurred_at = serializers.DateTimeField()


class BatchEventSerializer(serializers.Serializer):
    key = serializers.CharField()
    payload = serializers.JSONField()
    idempotency_key = serializers.CharField(required=False, max_length=150)


class BatchSerializer(serializers.Serializer):
    events = BatchEventSerializer(many=True, help_text=f"Up to {MAX_BATCH} events, of any custom triggers")

    def validate_events(self, events: list) -> list:
        if not events:
            raise serializers.ValidationError("Give at least one event.")
        if len(events) > MAX_BATCH:
            raise serializers.ValidationError(f"At most {MAX_BATCH} events per request; got {len(events)}.")
        return events


class BatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    events = FiredSerializer(many=True)


class CustomTriggerSerializer(serializers.ModelSerializer):
    schema = serializers.SerializerMethodField()

    class Meta:
        model = CustomTrigger
        fields = ["id", "name", "key", "description", "kind", "person_field", "identifies", "when_unmatched",
                  "attributes", "record_table", "record_field", "condition", "value", "rate_limit_per_minute",
                  "active", "schema", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def get_schema(self, trigger: CustomTrigger) -> dict[str, Any]:
        return trigger.schema() if not attribute_errors(trigger.attributes) else {}

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        instance = CustomTrigger(**{**self._current(), **data})
        with django_errors_as_drf():
            instance.full_clean(validate_unique=False)
        return data

    def _current(self) -> dict[str, Any]:
        if self.instance is None:
            return {}
        return {f.name: getattr(self.instance, f.name) for f in CustomTrigger._meta.concrete_fields
                if f.name not in ("id", "created_at", "updated_at")}


class TriggerEventSerializer(serializers.ModelSerializer):
    journeys = serializers.SerializerMethodField(help_text="Runs this event started, resumed, branched, "
                                                 "exited or brought to their goal")

    class Meta:
        model = TriggerEvent
        fields = ["id", "key", "contact", "lead", "payload", "source", "occurred_at", "dispatched_at", "journeys"]

    def get_journeys(self, event: TriggerEvent) -> list[dict[str, Any]]:
        return self.context.get("touched", {}).get(event.pk, [])


class TriggerEventFilter(filters.FilterSet):
    since = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = TriggerEvent
        fields = ["key", "contact", "lead", "source"]


class FirePermissions(ScopedModelPermissions):
    """Reading the catalog needs view_customtrigger; firing needs add_triggerevent (and a write key)."""

    perms_map = {**ScopedModelPermissions.perms_map, "POST": ["journeys.add_triggerevent"]}


def fireable(trigger: triggers.Trigger) -> bool:
    """Integrations fire custom API triggers; built-in ones are fired by Waymark's own writes."""
    return trigger.custom is not None and trigger.custom.kind == CustomTrigger.Kind.API


def _trigger_or_404(key: str) -> triggers.Trigger:
    trigger = triggers.get(key)
    if trigger is None:
        raise NotFound(f"No trigger {key!r}. GET /api/triggers/ lists them.")
    return trigger


def _rate_limited(retry_after: int) -> Response:
    return Response({"detail": f"Too many events for this trigger; retry in {retry_after} s."},
                    status=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(retry_after)})


def _not_fired_by_api(trigger: triggers.Trigger) -> Response:
    return Response({"key": [f"{trigger.key} is fired by Waymark itself ({trigger.description}) — integrations "
                             "fire custom triggers."]}, status=status.HTTP_400_BAD_REQUEST)


@extend_schema_view(
    list=extend_schema(summary="List triggers", description="Built-in triggers, then custom ones, each with "
                       "the JSON Schema of its payload (usable as `trigger.<field>` in journey conditions and "
                       "email personalization)."),
    retrieve=extend_schema(summary="Get a trigger", responses={200: TriggerSerializer, 404: UNKNOWN}),
)
class TriggerViewSet(GenericViewSet):
    permission_classes = [FirePermissions]
    queryset = CustomTrigger.objects.none()  # for permissions: reading needs view_customtrigger
    serializer_class = TriggerSerializer
    lookup_field = "key"
    lookup_value_regex = r"[a-z0-9_]+\.[a-z0-9_]+"
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        return CustomTrigger.objects.all()

    def list(self, request: Request) -> Response:
        return Response(TriggerSerializer(triggers.catalog(), many=True).data)

    def retrieve(self, request: Request, key: str) -> Response:
        return Response(TriggerSerializer(_trigger_or_404(key)).data)

    @extend_schema(summary="Fire a custom trigger", request=FireSerializer, parameters=[IDEMPOTENCY],
                   description="Stores the event (never lost once accepted) and dispatches it at once to the "
                   "journeys it starts, resumes or ends. The payload field the trigger names identifies the "
                   "person; an unknown person is refused, or becomes a new lead, as the trigger says.",
                   responses={202: FiredSerializer, 400: FIELD_ERRORS, 404: UNKNOWN, 409: CHANGING,
                              429: RATE_LIMITED})
    @action(detail=True, methods=["post"], url_path="fire", authentication_classes=INTAKE_AUTHENTICATION)
    def fire(self, request: Request, key: str) -> Response:
        # One request per event, hundreds a second: the trigger's definition and the API key come from
        # short-lived per-process copies, and the event is one INSERT that re-checks the definition.
        for attempt in range(STALE_ATTEMPTS):
            trigger = triggers.get_recent(key, fresh=attempt > 0)
            if trigger is None:
                raise NotFound(f"No trigger {key!r}. GET /api/triggers/ lists them.")
            # A refusal is judged again by the row as it is now: this process's copy may be old.
            if not fireable(trigger):
                if attempt == 0 and trigger.custom is not None:
                    continue
                return _not_fired_by_api(trigger)
            payload = _fire_payload(request.data)
            header = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
            if len(header) > 150:
                return Response({IDEMPOTENCY_HEADER: ["At most 150 characters."]},
                                status=status.HTTP_400_BAD_REQUEST)
            idempotency_key = f"api:{key}:{header}" if header else None
            # A retry gets the first answer whatever changed since (the payload's validity, the rate).
            errors = triggers.field_errors(trigger.schema, payload)
            if errors and attempt == 0:
                continue
            if errors:
                return _replay(idempotency_key) or Response(_by_field(errors), status=status.HTTP_400_BAD_REQUEST)
            now = timezone.now()
            retry_after = ingest.take_rate(key, 1, now=now, custom=trigger.custom)
            if retry_after is not None:
                return _replay(idempotency_key) or _rate_limited(retry_after)
            try:
                event = ingest.fire(trigger.custom, payload, idempotency_key=idempotency_key,
                                    source=_source(request), now=now)
            except ingest.StaleTrigger:
                ingest.give_back_rate(key, 1, now=now)
                continue  # read the trigger again and judge the event by what it says now
            except ingest.PersonNotFound as exc:
                return Response({trigger.custom.person_field: [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
            if not event.new:  # a replay: the first event, not counted against the rate
                ingest.give_back_rate(key, 1, now=now)
                return Response(_fired(event), status=status.HTTP_202_ACCEPTED,
                                headers={"Idempotent-Replayed": "true"})
            return Response(_fired(event), status=status.HTTP_202_ACCEPTED)
        raise TriggerChanging()

    @extend_schema(summary="Fire many events", request=BatchSerializer,
                   description=f"Up to {MAX_BATCH} events of custom triggers, stored in one insert: all or "
                   "nothing. Any invalid event refuses the whole batch (400, errors by event index). An event "
                   "whose idempotency_key was seen before is not stored again.",
                   responses={202: BatchResultSerializer, 400: FIELD_ERRORS, 429: RATE_LIMITED})
    @action(detail=False, methods=["post"], url_path="batch", authentication_classes=INTAKE_AUTHENTICATION)
    def batch(self, request: Request) -> Response:
        items = _batch_items(request.data)
        errors, found, triggers_of = _resolve_batch(items)
        if errors:
            return Response({"events": errors}, status=status.HTTP_400_BAD_REQUEST)
        now = timezone.now()
        counts: dict[str, int] = {}
        for item in items:
            counts[item["key"]] = counts.get(item["key"], 0) + 1
        customs = {item["key"]: found_trigger for item, found_trigger in zip(items, triggers_of, strict=True)}
        for key, count in counts.items():
            retry_after = ingest.take_rate(key, count, now=now, custom=customs[key])
            if retry_after is not None:
                return _rate_limited(retry_after)
        new_events = [ingest.NewEvent(item["key"], item["payload"], *found[index],
                                      idempotency_key=f"api:{item['key']}:{item['idempotency_key']}"
                                      if item.get("idempotency_key") else None)
                      for index, item in enumerate(items)]
        events = ingest.store_many(new_events, source=_source(request), now=now)
        accepted = sum(event.new for event in events)
        times: dict[Any, str] = {}
        return Response({"accepted": accepted, "duplicates": len(events) - accepted,
                         "events": [_fired(e, times) for e in events]}, status=status.HTTP_202_ACCEPTED)


STALE_ATTEMPTS = 3


class TriggerChanging(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The trigger changed while the event was being stored; nothing was stored. Send it again."
    default_code = "trigger_changing"


_TIME = serializers.DateTimeField()


def _fired(event: ingest.StoredEvent, times: dict[Any, str] | None = None) -> dict[str, Any]:
    """FiredSerializer(event).data, without a serializer per event (`times` memoizes the time's text)."""
    if times is None:
        return {"id": event.pk, "key": event.key, "contact": event.contact_id, "lead": event.lead_id,
                "occurred_at": _TIME.to_representation(event.occurred_at)}
    if event.occurred_at not in times:
        times[event.occurred_at] = _TIME.to_representation(event.occurred_at)
    return {"id": event.pk, "key": event.key, "contact": event.contact_id, "lead": event.lead_id,
            "occurred_at": times[event.occurred_at]}


def _replay(idempotency_key: str | None) -> Response | None:
    """The first answer to this idempotency key, when an event was stored with it."""
    first = ingest.stored_event(idempotency_key) if idempotency_key else None
    if first is None:
        return None
    return Response(_fired(first), status=status.HTTP_202_ACCEPTED, headers={"Idempotent-Replayed": "true"})


def _fire_payload(data: Any) -> Any:
    """The body's payload as FireSerializer reads it; the serializer itself (and its 400) for any
    body but a JSON object with a payload."""
    if type(data) is dict and data.get("payload") is not None:
        return data["payload"]
    body = FireSerializer(data=data)
    body.is_valid(raise_exception=True)
    return body.validated_data["payload"]


def _batch_items(data: Any) -> list[dict[str, Any]]:
    """The body's events as BatchSerializer reads them. Checking 1,000 nested serializers costs
    ~100 ms, so plain events are taken as they are; anything else goes to the serializer, which
    words the errors."""
    events = data.get("events") if type(data) is dict else None
    if type(events) is list and 0 < len(events) <= MAX_BATCH and all(map(_plain_event, events)):
        return events
    body = BatchSerializer(data=data)
    body.is_valid(raise_exception=True)
    return body.validated_data["events"]


def _plain_event(event: Any) -> bool:
    """Would BatchEventSerializer take this event unchanged?"""
    if type(event) is not dict or event.get("payload") is None:
        return False
    key, idempotency_key = event.get("key"), event.get("idempotency_key", "-")
    return (type(key) is str and key != "" and key == key.strip() and type(idempotency_key) is str
            and 0 < len(idempotency_key) <= 150 and idempotency_key == idempotency_key.strip())


def _source(request: Request) -> str:
    key = getattr(request, "auth", None)
    return f"api: {key.name}"[:100] if getattr(key, "name", None) else "api"


def _by_field(errors: list[tuple[str, str]]) -> dict[str, list[str]]:
    by_field: dict[str, list[str]] = {}
    for path, message in errors:
        by_field.setdefault(path, []).append(message)
    return by_field


def _resolve_batch(items: list[dict[str, Any]]) -> tuple[dict[int, Any], dict[int, Any], list[Any]]:
    """Check each event against its trigger and find its person: (errors by index, person by index,
    each event's custom trigger)."""
    errors: dict[int, Any] = {}
    found: dict[int, Any] = {}
    known: dict[str, triggers.Trigger | None] = {}
    for index, item in enumerate(items):
        key = item["key"]
        if key not in known:
            known[key] = triggers.get(key)
        trigger = known[key]
        if trigger is None:
            errors[index] = {"key": [f"No trigger {key!r}."]}
            continue
        if not fireable(trigger):
            errors[index] = {"key": [f"{key} is fired by Waymark itself."]}
            continue
        problems = triggers.field_errors(trigger.schema, item["payload"])
        if problems:
            errors[index] = _by_field(problems)
    customs = [known[item["key"]].custom if known.get(item["key"]) else None for item in items]
    if errors:
        return errors, found, customs
    for key, trigger in known.items():
        indexes = [index for index, item in enumerate(items) if item["key"] == key]
        people = ingest.find_person_ids(trigger.custom, [items[index]["payload"] for index in indexes])
        for index, person in zip(indexes, people, strict=True):
            if isinstance(person, ingest.PersonNotFound):
                errors[index] = {trigger.custom.person_field: [str(person)]}
            else:
                found[index] = person
    return errors, found, customs


class TriggerInUse(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Journeys use this trigger."
    default_code = "in_use"


IN_USE_LIST = OpenApiResponse(
    {"type": "object", "properties": {"detail": {"type": "string"},
                                      "uses": {"type": "array", "items": {"type": "string"}}},
     "example": {"detail": "Cart abandoned cannot be deleted while journeys use it: …",
                 "uses": ["journey “Recover carts” (entry trigger)"]}},
    description="Journeys use this trigger; `uses` names each use",
)


@extend_schema_view(
    list=extend_schema(summary="List custom triggers"),
    retrieve=extend_schema(summary="Get a custom trigger"),
    create=extend_schema(summary="Create a custom trigger", description="Fired by an integration (`kind: api`: "
                         "`person_field` names the payload field that identifies the person, `identifies` says "
                         "how) or bound to a record change (`kind: record`: `record_table`, `record_field`, "
                         "`condition`, `value`). `attributes` are typed: text, number, integer, boolean, date, "
                         "datetime, list, object."),
    update=extend_schema(summary="Replace a custom trigger"),
    partial_update=extend_schema(summary="Update a custom trigger"),
    destroy=extend_schema(summary="Delete a custom trigger", description="Its stored events stay. A trigger a "
                          "journey uses (entry, exit or goal trigger, or a tile) cannot be deleted: 409 names each "
                          "use in `uses`.", responses={204: None, 409: IN_USE_LIST}),
)
class CustomTriggerViewSet(ModelViewSet):
    queryset = CustomTrigger.objects.all()
    serializer_class = CustomTriggerSerializer
    search_fields = ["name", "key", "description"]
    filterset_fields = ["kind", "active", "record_table"]
    ordering_fields = ["name", "key", "created_at"]
    ordering = ["name", "id"]

    def perform_destroy(self, instance: CustomTrigger) -> None:
        uses = usage.trigger_usage(instance.key)
        if uses:
            raise TriggerInUse({"detail": f"{instance.name} cannot be deleted while journeys use it: "
                                      f"{'; '.join(uses)}. Change those journeys first.", "uses": uses})
        instance.delete()


@extend_schema_view(
    list=extend_schema(summary="List trigger events", description="Newest first. Each event lists the journeys "
                       "it touched: runs started, resumed, branched, exited or brought to their goal."),
    retrieve=extend_schema(summary="Get a trigger event"),
)
class TriggerEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    queryset = TriggerEvent.objects.all()
    serializer_class = TriggerEventSerializer
    filterset_class = TriggerEventFilter
    ordering_fields = ["occurred_at", "id"]
    ordering = ["-occurred_at", "-id"]

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._serialize(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self._serialize(self.get_object()).data)

    def _serialize(self, events, many: bool = False) -> TriggerEventSerializer:
        rows = list(events) if many else [events]
        context = {**self.get_serializer_context(), "touched": trigger_queries.touched_journeys(rows)}
        return TriggerEventSerializer(events, many=many, context=context)


def register(router: BaseRouter) -> None:
    router.register("triggers", TriggerViewSet, basename="trigger")
    router.register("custom-triggers", CustomTriggerViewSet, basename="custom-trigger")
    router.register("trigger-events", TriggerEventViewSet, basename="trigger-event")

