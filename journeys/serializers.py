"""Serializers of the journeys API: they check the shape of requests; the viewsets call the services
(lifecycle, versions, journeys as code, test mode) and `validate_journey` for the deep checks."""

from __future__ import annotations

import zoneinfo
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.serializers import PersonRefSerializer
from journeys import catalog
from journeys.models import Journey, JourneyRun, JourneySettings, JourneyVersion, StepLog
from segments.models import Segment

TILES_HELP = ('The draft: {"start": <tile key>, "tiles": {<key>: {"type": …, settings…, ways out…}}}. '
              "Every way out names a tile key or \"exit\". Going live validates it in full.")
# A draft or a stopped journey is edited in place; a live or paused one through a new version.
EDITABLE_STATUSES = (Journey.Status.DRAFT, Journey.Status.STOPPED)
TILE_ERRORS_SCHEMA = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                      "description": 'Messages per tile key; "journey" holds the journey\'s own'}


def check_tiles(value: Any) -> dict[str, Any]:
    """The outline of a tile graph: a mapping with a start key and tiles of known types. The rest
    (paths, references, percentages) is what validation and going live check."""
    if not isinstance(value, dict):
        raise serializers.ValidationError('Give {"start": <tile key>, "tiles": {<key>: tile}}.')
    start, tiles = value.get("start", ""), value.get("tiles", {})
    if not isinstance(start, str):
        raise serializers.ValidationError("start: give the key of the first tile.")
    if not isinstance(tiles, dict):
        raise serializers.ValidationError("tiles: give a mapping of tile key to tile.")
    for key, tile in tiles.items():
        if not isinstance(tile, dict) or tile.get("type") not in catalog.KINDS:
            kind = tile.get("type") if isinstance(tile, dict) else tile
            raise serializers.ValidationError(
                f"tiles.{key}: unknown tile type {kind!r}; use one of {', '.join(catalog.KINDS)}.")
    return {**value, "start": start, "tiles": tiles}


@extend_schema_field({"type": "object", "description": TILES_HELP,
                      "properties": {"start": {"type": "string"}, "tiles": {"type": "object"}}})
class TilesField(serializers.JSONField):
    def to_internal_value(self, data: Any) -> dict[str, Any]:
        return check_tiles(super().to_internal_value(data))


class JourneySerializer(serializers.ModelSerializer):
    tiles = TilesField(required=False, help_text=TILES_HELP)
    entry_segment = serializers.PrimaryKeyRelatedField(queryset=Segment.objects.all(), required=False,
                                                       allow_null=True, help_text="Segment id (segment entry)")
    exclusion_segments = serializers.PrimaryKeyRelatedField(queryset=Segment.objects.all(), many=True,
                                                            required=False, help_text="Segment ids")
    entry_type = serializers.SerializerMethodField(help_text="trigger, segment, or empty while undecided")
    open_runs = serializers.IntegerField(read_only=True, help_text="People inside now (active or waiting)")
    total_runs = serializers.IntegerField(read_only=True, help_text="Runs ever started")

    class Meta:
        model = Journey
        fields = ["id", "name", "description", "audience", "status", "entry_type", "entry_trigger",
                  "entry_conditions", "entry_segment", "entry_mode", "entry_at", "repeat_every", "repeat_unit",
                  "next_entry_at", "exclusion_segments", "honor_suppression", "exit_trigger", "exit_segment",
                  "goal_trigger", "goal_segment", "goal_target_percent", "re_entry", "re_entry_days", "starts_at",
                  "ends_at", "time_zone", "use_contact_time_zone", "quiet_hours_start", "quiet_hours_end",
                  "cap_per_day", "cap_per_week", "cap_action", "priority", "tiles", "open_runs", "total_runs",
                  "created_by", "created_at", "updated_at"]
        read_only_fields = ["status", "next_entry_at", "created_by", "created_at", "updated_at"]

    def get_entry_type(self, journey: Journey) -> str:
        return "trigger" if journey.entry_trigger else "segment" if journey.entry_segment_id else ""

    def validate_time_zone(self, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise serializers.ValidationError(f"Unknown time zone {value!r}; give an IANA name like "
                                              "Europe/Stockholm.") from None
        return value


class JourneyValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = serializers.JSONField(help_text=TILE_ERRORS_SCHEMA["description"])


class JourneyTileErrorsSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.JSONField(help_text=TILE_ERRORS_SCHEMA["description"])


class JourneyVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = JourneyVersion
        fields = ["id", "journey", "number", "created_at", "tiles", "ab_winners"]


class JourneyStopResultSerializer(serializers.Serializer):
    exited = serializers.IntegerField(help_text="People who were inside and left with reason \"stopped\"")


class JourneyExportQuerySerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)


class JourneyNewVersionSerializer(serializers.Serializer):
    tiles = TilesField(required=False, help_text="The edited tiles; without it, the saved draft is frozen")
    move_runs = serializers.BooleanField(
        default=False, help_text="Move people inside to the tile of the same key in the new version; "
        "otherwise they finish the version they are on")


class JourneyVersionPreviewSerializer(serializers.Serializer):
    tile = serializers.CharField()
    label = serializers.CharField()
    version = serializers.IntegerField(help_text="The version these people are on")
    count = serializers.IntegerField()
    in_new_version = serializers.BooleanField(help_text="The new version has a tile of this key: moving "
                                              "runs takes these people there")


class JourneyImportResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    dry_run = serializers.BooleanField()
    created = serializers.BooleanField(help_text="A new journey (rather than an overwritten draft)")
    journey = serializers.IntegerField(allow_null=True, source="journey.pk", default=None)
    changes = serializers.ListField(child=serializers.CharField(), help_text="The diff, one line per change")
    errors = serializers.ListField(child=serializers.CharField(),
                                   help_text="\"path: message\" per problem; nothing was saved if any")
    validation = serializers.JSONField(help_text="What going live would say, per tile key")


class JourneyRunSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.number", read_only=True)

    class Meta:
        model = JourneyRun
        fields = ["id", "journey", "version", "contact", "lead", "state", "tile_key", "attempt", "due_at",
                  "waiting_for", "context", "entered_at", "finished_at", "exit_reason", "error"]
        read_only_fields = fields


class JourneyPathStepSerializer(serializers.Serializer):
    at = serializers.DateTimeField(allow_null=True)
    tile = serializers.CharField(help_text='A tile key, or "$entry" / "$exit"')
    reason = serializers.DictField(help_text='The reason as data, e.g. {"code": "quiet_hours", "until": …}')
    text = serializers.CharField(help_text="The reason as a sentence")


class JourneyTestRunSerializer(PersonRefSerializer):
    """Who to run the journey for, how they enter, and what happens to them along the way."""

    script = serializers.ListField(
        child=serializers.DictField(), required=False, default=list,
        help_text='The simulated timeline, times after entry: {"after": {"days": 1}, "trigger": '
        '"purchase.completed", "payload": {…}} or {"after": {"hours": 3}, "interaction": "clicked", '
        '"tile": <send-email tile>, "link": <url>?}')
    entry_payload = serializers.DictField(required=False, default=dict,
                                          help_text="The entry trigger's payload (trigger-based journeys)")
    now = serializers.DateTimeField(required=False, help_text="Where the virtual clock starts (default: now)")

    class Meta:
        model = JourneyRun
        fields = ["contact", "lead", "entry_payload", "script", "now"]


class JourneyTestRunResultSerializer(serializers.Serializer):
    path = JourneyPathStepSerializer(many=True, help_text="The path the person would take, and why")
    tiles = serializers.ListField(child=serializers.CharField(), help_text="Tile keys visited, in order")
    state = serializers.CharField(help_text="Where the test person ended: done, exited, waiting…")
    exit_reason = serializers.JSONField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True, help_text="Simulated time the run finished")
    simulated_until = serializers.DateTimeField(help_text="Where the virtual clock stopped")


class JourneyRunDetailSerializer(JourneyRunSerializer):
    path = JourneyPathStepSerializer(many=True, read_only=True, help_text="The path taken and why (explain)")

    class Meta(JourneyRunSerializer.Meta):
        fields = [*JourneyRunSerializer.Meta.fields, "path"]
        read_only_fields = fields


class StepLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = StepLog
        fields = ["id", "run", "tile_key", "attempt", "at", "outcome", "reason"]
        read_only_fields = fields


class JourneySettingsSerializer(serializers.ModelSerializer):
    suppression_segment = serializers.PrimaryKeyRelatedField(
        queryset=Segment.objects.all(), required=False, allow_null=True,
        help_text="Segment id: its members receive nothing from journeys that honour suppression")

    class Meta:
        model = JourneySettings
        fields = ["suppression_segment", "cap_per_day", "cap_per_week"]
