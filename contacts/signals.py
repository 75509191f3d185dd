"""Single-record writes (UI, admin, API, journey updates) report to the people change hook.

The signal only publishes the fact "these people changed"; what follows lives in subscribers.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from contacts.hooks import report_people_changed, report_records_changed
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
    loaded = getattr(instance, "_loaded_values", None) or {}
    previous = {f: loaded.get(instance._meta.get_field(f).attname) for f in fields} if not created else {}
    instance.remember_loaded_values()
    if instance.contact_id and (created or fields):
        report_people_changed(contact_ids=[instance.contact_id], fields={f"opportunity.{f}" for f in fields})
    if created or fields:
        report_records_changed("opportunity", [instance.pk], fields=fields, created=created, previous=previous)


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


ACCOUNT_FIELDS = ("name", "industry", "country", "region", "city", "website", "size", "annual_revenue", "owner_id")


@receiver(pre_save, sender=Account)
def account_saving(sender, instance: Account, raw: bool = False, **kwargs) -> None:
    """Accounts do not track loaded values: read the stored row once, to say which fields change."""
    if instance.pk and not raw:
        instance._stored_values = Account.objects.filter(pk=instance.pk).values(*ACCOUNT_FIELDS).first()


@receiver(post_save, sender=Account)
def account_saved(sender, instance: Account, created: bool, **kwargs) -> None:
    stored = getattr(instance, "_stored_values", None) or {}
    changed = {f: v for f, v in stored.items() if getattr(instance, f) != v}
    if not created:
        contact_ids = list(instance.contacts.values_list("id", flat=True))
        report_people_changed(contact_ids=contact_ids, fields={f"account.{f.removesuffix('_id')}" for f in changed}
                              or {"account.saved"})
    instance._stored_values = {f: getattr(instance, f) for f in ACCOUNT_FIELDS}
    if created or changed:
        report_records_changed("account", [instance.pk], fields={f.removesuffix("_id") for f in changed},
                               created=created, previous={f.removesuffix("_id"): v for f, v in changed.items()})
