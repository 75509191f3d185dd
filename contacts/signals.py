"""Single-record writes (UI, admin, API, journey updates) report to the people change hook.

The signal only publishes the fact "these people changed"; what follows lives in subscribers.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from contacts.hooks import report_people_changed
from contacts.models import Account, Consent, Contact, Interaction, Lead, Opportunity


def _report(instance: Contact | Lead, fields: set[str], created: bool) -> None:
    key = "contact_ids" if isinstance(instance, Contact) else "lead_ids"
    report_people_changed(**{key: [instance.pk]}, fields=fields, created=created)


@receiver(post_save, sender=Contact)
@receiver(post_save, sender=Lead)
def person_saved(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    fields = instance.changed_fields() - {"updated_at", "created_at"}
    instance.remember_loaded_values()
    if created or fields:
        _report(instance, fields, created)


@receiver(post_save, sender=Opportunity)
def opportunity_saved(sender, instance: Opportunity, created: bool, **kwargs) -> None:
    fields = instance.changed_fields() - {"updated_at", "created_at"}
    instance.remember_loaded_values()
    if instance.contact_id and (created or fields):
        report_people_changed(contact_ids=[instance.contact_id], fields={f"opportunity.{f}" for f in fields})


@receiver(post_save, sender=Interaction)
def interaction_saved(sender, instance: Interaction, created: bool, **kwargs) -> None:
    if created:
        report_people_changed(
            contact_ids=[instance.contact_id] if instance.contact_id else [],
            lead_ids=[instance.lead_id] if instance.lead_id else [],
            fields={f"interaction.{instance.type}"},
        )


@receiver(post_save, sender=Consent)
def consent_saved(sender, instance: Consent, **kwargs) -> None:
    report_people_changed(
        contact_ids=[instance.contact_id] if instance.contact_id else [],
        lead_ids=[instance.lead_id] if instance.lead_id else [],
        fields={f"consent.{instance.channel}"},
    )


@receiver(post_delete, sender=Contact)
@receiver(post_delete, sender=Lead)
def person_deleted(sender, instance, **kwargs) -> None:
    _report(instance, {"deleted"}, False)


@receiver(post_save, sender=Account)
def account_saved(sender, instance: Account, created: bool, **kwargs) -> None:
    if not created:
        contact_ids = list(instance.contacts.values_list("id", flat=True))
        report_people_changed(contact_ids=contact_ids, fields={"account"})
