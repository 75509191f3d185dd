"""Query-string filters of the contacts API (`?country=Sweden&created_after=2026-01-01T00:00Z`)."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from contacts.models import (
    Account,
    Consent,
    ConsentChange,
    Contact,
    CustomAttribute,
    ImportJob,
    Interaction,
    Lead,
    Opportunity,
    Task,
)

PERSON_KEYS = ["contact", "lead"]


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    """A plain id, not a ModelChoiceFilter: no lookup query per request, and the browsable API's
    filter form does not render every account or user as a <select> option."""

    field_class = forms.IntegerField


def by_id(field_name: str) -> IdFilter:
    return IdFilter(field_name=field_name, label=f"{field_name.replace('_', ' ')} id")


def after(field_name: str) -> filters.IsoDateTimeFilter:
    return filters.IsoDateTimeFilter(field_name=field_name, lookup_expr="gte", label=f"{field_name} at or after")


def before(field_name: str) -> filters.IsoDateTimeFilter:
    return filters.IsoDateTimeFilter(field_name=field_name, lookup_expr="lt", label=f"{field_name} before")


class EmailFilterMixin(filters.FilterSet):
    email = filters.CharFilter(method="filter_email", label="Email (any case)")

    def filter_email(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Emails are stored lower-cased; comparing LOWER(email) lets PostgreSQL use the unique index.
        return queryset.alias(email_lower=Lower("email")).filter(email_lower=value.strip().lower())


class ContactFilter(EmailFilterMixin):
    account = by_id("account")
    owner = by_id("owner")
    created_after = after("created_at")
    created_before = before("created_at")

    class Meta:
        model = Contact
        fields = ["email", "country", "state", "city", "account", "owner"]


class LeadFilter(EmailFilterMixin):
    owner = by_id("owner")
    contact = by_id("contact")
    account = by_id("account")
    created_after = after("created_at")
    created_before = before("created_at")

    class Meta:
        model = Lead
        fields = ["email", "status", "source", "country", "state", "owner", "contact", "account"]


class AccountFilter(filters.FilterSet):
    owner = by_id("owner")

    class Meta:
        model = Account
        fields = ["industry", "country", "size", "owner"]


class OpportunityFilter(filters.FilterSet):
    account = by_id("account")
    contact = by_id("contact")
    owner = by_id("owner")
    close_after = filters.DateFilter(field_name="close_date", lookup_expr="gte")
    close_before = filters.DateFilter(field_name="close_date", lookup_expr="lte")

    class Meta:
        model = Opportunity
        fields = ["status", "stage", "account", "contact", "owner"]


class PersonFilterMixin(filters.FilterSet):
    contact = by_id("contact")
    lead = by_id("lead")


class InteractionFilter(PersonFilterMixin):
    occurred_after = after("occurred_at")
    occurred_before = before("occurred_at")

    class Meta:
        model = Interaction
        fields = [*PERSON_KEYS, "type", "product", "email_key", "source", "journey_id"]


class ConsentFilter(PersonFilterMixin):
    topic = filters.CharFilter(field_name="topic__key", label="Topic key")
    channel_only = filters.BooleanFilter(
        field_name="topic", lookup_expr="isnull", label="Only channel-level rows (no topic)"
    )

    class Meta:
        model = Consent
        fields = [*PERSON_KEYS, "channel", "topic", "status"]


class ConsentChangeFilter(PersonFilterMixin):
    topic = filters.CharFilter(field_name="topic__key", label="Topic key")
    changed_after = after("changed_at")
    changed_before = before("changed_at")

    class Meta:
        model = ConsentChange
        fields = [*PERSON_KEYS, "channel", "topic"]


class TaskFilter(PersonFilterMixin):
    assigned_to = by_id("assigned_to")
    queue = by_id("queue")
    opportunity = by_id("opportunity")
    due_after = after("due_at")
    due_before = before("due_at")
    mine = filters.BooleanFilter(method="filter_mine", label="Only tasks for me or my sales queues")

    class Meta:
        model = Task
        fields = [*PERSON_KEYS, "status", "priority", "assigned_to", "queue", "opportunity"]

    def filter_mine(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.for_user(self.request.user) if value else queryset


class CustomAttributeFilter(filters.FilterSet):
    class Meta:
        model = CustomAttribute
        fields = ["entity", "type"]


class ImportJobFilter(filters.FilterSet):
    class Meta:
        model = ImportJob
        fields = ["status"]
