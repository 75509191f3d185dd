"""What the API serializers share: Django→DRF validation errors and the contact-or-lead reference."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.settings import api_settings

from contacts.models import Contact, Lead

BOTH_PERSONS = "Give a contact or a lead, not both."
NO_PERSON = "Give a contact or a lead."


def as_drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """A DRF ValidationError with the same field errors (`__all__` becomes `non_field_errors`)."""
    detail = serializers.as_serializer_error(exc)
    if NON_FIELD_ERRORS in detail:
        detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
    return serializers.ValidationError(detail)


@contextmanager
def django_errors_as_drf() -> Iterator[None]:
    """Let services raise Django ValidationErrors and have the API answer 400, not 500."""
    try:
        yield
    except DjangoValidationError as exc:
        raise as_drf_error(exc) from exc


class PersonRefSerializer(serializers.ModelSerializer):
    """A row about one person, given as `contact` or `lead` (an id): exactly one of them."""

    contact = serializers.PrimaryKeyRelatedField(
        queryset=Contact.objects.all(), required=False, allow_null=True, help_text="Contact id (or give lead)"
    )
    lead = serializers.PrimaryKeyRelatedField(
        queryset=Lead.objects.all(), required=False, allow_null=True, help_text="Lead id (or give contact)"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        contact = attrs.get("contact", getattr(self.instance, "contact", None))
        lead = attrs.get("lead", getattr(self.instance, "lead", None))
        if contact is not None and lead is not None:
            raise serializers.ValidationError({"contact": [BOTH_PERSONS], "lead": [BOTH_PERSONS]})
        if contact is None and lead is None:
            raise serializers.ValidationError({"contact": [NO_PERSON], "lead": [NO_PERSON]})
        return attrs


def person_of(attrs: dict[str, Any]) -> Contact | Lead:
    """The person of validated PersonRefSerializer data (removes `contact` and `lead` from it)."""
    contact, lead = attrs.pop("contact", None), attrs.pop("lead", None)
    return contact if contact is not None else lead
