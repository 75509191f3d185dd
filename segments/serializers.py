"""Serializers of the segments API: they check the shape of requests; the viewset then calls
`segments.services` (validation of the query itself is the service's `check_query`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from segments.models import MembershipChange, Segment, SegmentRefresh
from segments.query import QueryError

MAX_EDIT_ITEMS = 10_000
MAX_ID = 2**63 - 1  # a bigint: larger ids would be a database error, not a 400
QUERY_HELP = (
    'A segment query, version 1: {"version": 1, "match": "all"|"any"|"none", "conditions": [...]} with '
    "attribute, related, behavior, consent, segment and nested group conditions "
    "(the format is segments/query-v1.schema.json)."
)


@extend_schema_field(OpenApiTypes.OBJECT)
class QueryField(serializers.JSONField):
    """Any JSON: whether it is a valid query is for `services.check_query` to say, precisely."""


class QueryErrorSerializer(serializers.Serializer):
    path = serializers.CharField(
        help_text='Where in the query, e.g. "conditions[1].conditions[0].value"; empty for the query as a whole'
    )
    message = serializers.CharField()


def query_errors(errors: Iterable[QueryError]) -> list[dict[str, str]]:
    return [{"path": error.path, "message": error.message} for error in errors]


def invalid_query(errors: Iterable[QueryError]) -> serializers.ValidationError:
    """The 400 answer to a broken query: `{"query": [{"path": …, "message": …}, …]}`."""
    return serializers.ValidationError({"query": query_errors(errors)})


class SegmentSerializer(serializers.ModelSerializer):
    query = QueryField(required=False, help_text=QUERY_HELP + " Static segments have no query.")
    depends_on = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Ids of the segments this one's query refers to"
    )

    class Meta:
        model = Segment
        fields = [
            "id", "name", "description", "kind", "audience", "query", "refresh_mode", "status", "member_count",
            "last_refreshed_at", "last_refresh_ms", "depends_on", "created_at", "updated_at",
        ]
        read_only_fields = [
            "status", "member_count", "last_refreshed_at", "last_refresh_ms", "created_at", "updated_at",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        kind = attrs.get("kind", getattr(self.instance, "kind", Segment.Kind.DYNAMIC))
        query = attrs.get("query")
        if kind == Segment.Kind.STATIC and isinstance(query, dict) and query.get("conditions"):
            raise serializers.ValidationError(
                {"query": ["A static segment has no query: add members, or freeze a query's people in."]}
            )
        return attrs


class QueryCheckSerializer(serializers.Serializer):
    audience = serializers.ChoiceField(choices=Segment.Audience.choices, default=Segment.Audience.CONTACT)
    query = QueryField(help_text=QUERY_HELP)


class ValidateSerializer(QueryCheckSerializer):
    segment = serializers.PrimaryKeyRelatedField(
        queryset=Segment.objects.all(), required=False, allow_null=True,
        help_text="The segment being edited, if any: its id lets the check find cycles "
        "(a query referring back to this segment through others)",
    )


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = QueryErrorSerializer(many=True)


class PersonSampleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField(allow_null=True)
    name = serializers.CharField(source="full_name")


class PreviewResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many people the query selects right now")
    sample = PersonSampleSerializer(many=True, help_text="A few of them, by id")


class FreezeSerializer(serializers.Serializer):
    query = QueryField(help_text=QUERY_HELP)


class MemberSerializer(serializers.Serializer):
    """A member: the person (contact or lead, by the segment's audience) and when they entered."""

    id = serializers.IntegerField(source="person_id", help_text="Contact or lead id, by the segment's audience")
    email = serializers.EmailField(allow_null=True)
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    entered_at = serializers.DateTimeField()


class MembershipChangeSerializer(serializers.ModelSerializer):
    person = serializers.SerializerMethodField()

    class Meta:
        model = MembershipChange
        fields = ["id", "person", "change", "changed_at", "refresh"]

    @extend_schema_field(PersonSampleSerializer)
    def get_person(self, change: MembershipChange) -> dict[str, Any]:
        return PersonSampleSerializer(change.person).data


class SegmentRefreshSerializer(serializers.ModelSerializer):
    class Meta:
        model = SegmentRefresh
        fields = ["id", "kind", "started_at", "entered", "exited", "member_count", "duration_ms"]


class TrendPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    members = serializers.IntegerField(help_text="Members at the day's end")
    entered = serializers.IntegerField()
    exited = serializers.IntegerField()


class TrendSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    points = TrendPointSerializer(many=True, help_text="One point per day, oldest first, today last")


class MembersEditSerializer(serializers.Serializer):
    """Who to add or remove: contact or lead ids (by the segment's audience), or emails, or both."""

    ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False,
                                max_length=MAX_EDIT_ITEMS)
    emails = serializers.ListField(child=serializers.CharField(max_length=254), required=False,
                                   max_length=MAX_EDIT_ITEMS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("ids") and not attrs.get("emails"):
            raise serializers.ValidationError({"non_field_errors": ['Give "ids" or "emails" (or both).']})
        return attrs


class MembersEditResultSerializer(serializers.Serializer):
    entered = serializers.IntegerField(help_text="How many became members (add)")
    exited = serializers.IntegerField(help_text="How many stopped being members (remove)")
    member_count = serializers.IntegerField()
    unknown_ids = serializers.ListField(child=serializers.IntegerField(), help_text="Ids that matched no one")
    unknown_emails = serializers.ListField(child=serializers.CharField(), help_text="Emails that matched no one")


class TrendQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=365, default=30)


class ChangesQuerySerializer(serializers.Serializer):
    change = serializers.ChoiceField(choices=MembershipChange.Change.choices, required=False)
