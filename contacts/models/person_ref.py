"""The one way a table refers to a person: a `contact` and a `lead` key, exactly one set."""

from __future__ import annotations

from django.db import models

from contacts.models.people import Contact, Lead


class Audience(models.TextChoices):
    """Who a segment or a journey is about: contacts or leads."""

    CONTACT = "contact", "Contacts"
    LEAD = "lead", "Leads"


class PersonRef(models.Model):
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="%(class)ss"
    )
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="%(class)ss")

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(contact__isnull=False, lead__isnull=True)
                    | models.Q(contact__isnull=True, lead__isnull=False)
                ),
                name="%(app_label)s_%(class)s_one_person",
                violation_error_message="Exactly one of contact and lead must be set.",
            ),
        ]

    @property
    def person(self) -> Contact | Lead:
        return self.contact if self.contact_id else self.lead


def person_keys(person: Contact | Lead) -> dict[str, Contact | Lead]:
    """The keyword arguments that point a PersonRef row (or a filter) at `person`."""
    if isinstance(person, Contact):
        return {"contact": person}
    if isinstance(person, Lead):
        return {"lead": person}
    raise TypeError(f"A person is a Contact or a Lead, not {type(person).__name__}")
