"""Serializers of the people tables: contacts, leads, accounts, opportunities, custom attributes."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from rest_framework import serializers

from contacts.models import Account, Contact, CustomAttribute, Lead, Opportunity
from contacts.serializers.base import as_drf_error
from contacts.validation import is_valid_time_zone, validate_attributes

DUPLICATE_EMAIL = "a contact with this email already exists"
PERSON_FIELDS = [
    "id", "email", "first_name", "last_name", "full_name", "phone", "job_title", "country", "state",
    "city", "time_zone", "language", "owner", "account", "account_name", "attributes", "created_at",
    "updated_at",
]


class PersonSerializer(serializers.ModelSerializer):
    """Contacts and leads alike: emails lower-cased, time zones known, custom attributes valid."""

    full_name = serializers.CharField(read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True, allow_null=True)

    def validate_email(self, value: str | None) -> str | None:
        return value.strip().lower() if value else value

    def validate_time_zone(self, value: str) -> str:
        if value and not is_valid_time_zone(value):
            raise serializers.ValidationError(f"Unknown time zone {value!r}; use an IANA name like Europe/Paris.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        model = self.Meta.model
        person = model(**{name: attrs.get(name, getattr(self.instance, name, None))
                          for name in model.IDENTITY_FIELDS})
        try:
            person.check_identity()
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        # A new record is checked even without attributes (some may be required); an update
        # only when it writes them, so a definition added later doesn't block unrelated edits.
        if self.instance is None or "attributes" in attrs:
            entity = self.Meta.model._meta.model_name
            try:
                attrs["attributes"] = validate_attributes(entity, attrs.get("attributes", {}))
            except DjangoValidationError as exc:
                raise as_drf_error(exc) from exc
        return attrs


class ContactSerializer(PersonSerializer):
    class Meta:
        model = Contact
        fields = [*PERSON_FIELDS, "birthday"]
        read_only_fields = ["created_at", "updated_at"]

    def validate_email(self, value: str | None) -> str | None:
        # Empty means "no email": stored as NULL, because the unique index would let only one "" in.
        email = super().validate_email(value) or None
        if email and self._email_taken(email):
            raise serializers.ValidationError(DUPLICATE_EMAIL, code="unique")
        return email

    def _email_taken(self, email: str) -> bool:
        others = Contact.objects.alias(email_lower=Lower("email")).filter(email_lower=email)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        return others.exists()

    def save(self, **kwargs: Any) -> Contact:
        # Two requests may both pass validate_email; the unique index decides, and the loser
        # gets the same 400 as if it had arrived second.
        email = self.validated_data.get("email")
        try:
            with transaction.atomic():
                return super().save(**kwargs)
        except IntegrityError:
            if email and self._email_taken(email):
                raise serializers.ValidationError({"email": [DUPLICATE_EMAIL]}) from None
            raise


class LeadSerializer(PersonSerializer):
    contact_name = serializers.CharField(source="contact.full_name", read_only=True, allow_null=True)

    class Meta:
        model = Lead
        fields = [
            *PERSON_FIELDS, "company", "topic", "status", "source", "contact", "contact_name", "qualified_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = [
            "id", "name", "industry", "country", "region", "city", "website", "size", "annual_revenue",
            "owner", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class OpportunitySerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True, allow_null=True)

    class Meta:
        model = Opportunity
        fields = [
            "id", "name", "account", "account_name", "contact", "stage", "status", "estimated_revenue",
            "close_date", "owner", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        account = attrs.get("account", getattr(self.instance, "account", None))
        contact = attrs.get("contact", getattr(self.instance, "contact", None))
        if account is None and contact is None:
            message = "An opportunity needs an account or a contact."
            raise serializers.ValidationError({"account": [message], "contact": [message]})
        return attrs


class CustomAttributeSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomAttribute
        fields = ["id", "entity", "key", "label", "type", "choices", "required", "help_text"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        current = {f: getattr(self.instance, f) for f in self.Meta.fields if f != "id"} if self.instance else {}
        try:
            CustomAttribute(**{**current, **attrs}).clean()
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return attrs
