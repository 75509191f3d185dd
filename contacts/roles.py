"""The three roles, as groups with model permissions, kept in sync after every migrate.

Admin: everything. Marketer: everything in the marketing apps, plus users' API keys of their
own. Sales: works people and tasks, reads the rest, cannot change journeys, segments or emails.
A new model in a listed app is picked up at the next migrate.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

ADMIN, MARKETER, SALES = "Admin", "Marketer", "Sales"
MARKETING_APPS = ["contacts", "segments", "journeys", "channels", "events", "scoring"]
# Sales may add/change these contacts-app models; everything else in the marketing apps is view-only.
SALES_EDITABLE = ["contact", "lead", "account", "opportunity", "task", "interaction", "consent"]


def role_permissions(role: str):
    perms = Permission.objects.all()
    if role == ADMIN:
        return perms
    marketing = perms.filter(content_type__app_label__in=MARKETING_APPS)
    if role == MARKETER:
        return marketing.exclude(content_type__model="apikey")
    if role == SALES:
        return marketing.filter(
            Q(codename__startswith="view_")
            | Q(content_type__app_label="contacts", content_type__model__in=SALES_EDITABLE)
            & ~Q(codename__startswith="delete_")
        ).exclude(content_type__model__in=["apikey", "importjob"])
    raise ValueError(f"Unknown role {role!r}")


def sync_roles() -> None:
    for role in (ADMIN, MARKETER, SALES):
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(role_permissions(role))


def sync_roles_after_migrate(sender, **kwargs) -> None:
    sync_roles()
