"""API views of the people tables: contacts, leads, accounts, opportunities, custom attributes."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from contacts import serializers
from contacts.api import filters
from contacts.api.base import ModelViewSet
from contacts.auth import ReadableByAnyUserPermissions
from contacts.models import Account, Contact, CustomAttribute, Lead, Opportunity

PERSON_SEARCH = ["first_name", "last_name", "email", "phone", "job_title"]


@extend_schema_view(
    list=extend_schema(summary="List contacts", description="Search covers name, email, phone and job title."),
    create=extend_schema(summary="Create a contact", description="Emails are unique, in any case."),
)
class ContactViewSet(ModelViewSet):
    queryset = Contact.objects.select_related("account")
    serializer_class = serializers.ContactSerializer
    filterset_class = filters.ContactFilter
    search_fields = PERSON_SEARCH
    ordering_fields = ["last_name", "first_name", "email", "country", "state", "created_at", "updated_at"]
    ordering = ["last_name", "first_name", "id"]


@extend_schema_view(list=extend_schema(summary="List leads"), create=extend_schema(summary="Create a lead"))
class LeadViewSet(ModelViewSet):
    queryset = Lead.objects.select_related("account", "contact")
    serializer_class = serializers.LeadSerializer
    filterset_class = filters.LeadFilter
    search_fields = [*PERSON_SEARCH, "company"]
    ordering_fields = ["last_name", "first_name", "email", "status", "created_at", "updated_at", "qualified_at"]
    ordering = ["-created_at", "id"]


@extend_schema_view(list=extend_schema(summary="List accounts"), create=extend_schema(summary="Create an account"))
class AccountViewSet(ModelViewSet):
    queryset = Account.objects.all()
    serializer_class = serializers.AccountSerializer
    filterset_class = filters.AccountFilter
    search_fields = ["name", "industry", "city", "website"]
    ordering_fields = ["name", "industry", "country", "annual_revenue", "created_at"]
    ordering = ["name", "id"]


@extend_schema_view(
    list=extend_schema(summary="List opportunities"),
    create=extend_schema(summary="Create an opportunity", description="Needs an account or a contact."),
)
class OpportunityViewSet(ModelViewSet):
    queryset = Opportunity.objects.select_related("account")
    serializer_class = serializers.OpportunitySerializer
    filterset_class = filters.OpportunityFilter
    search_fields = ["name", "account__name"]
    ordering_fields = ["name", "stage", "status", "estimated_revenue", "close_date", "created_at"]
    ordering = ["-created_at", "id"]


@extend_schema_view(
    list=extend_schema(
        summary="List custom attribute definitions",
        description="Every signed-in user may read them; writing needs the model permissions.",
    ),
)
class CustomAttributeViewSet(ModelViewSet):
    queryset = CustomAttribute.objects.all()
    serializer_class = serializers.CustomAttributeSerializer
    filterset_class = filters.CustomAttributeFilter
    permission_classes = [ReadableByAnyUserPermissions]
    search_fields = ["key", "label"]
    ordering_fields = ["entity", "key", "label"]
    ordering = ["entity", "label", "id"]
