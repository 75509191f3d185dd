"""Roles are groups with permissions: Admin, Marketer, Sales."""

import pytest
from django.contrib.auth.models import Group

from contacts import roles

pytestmark = pytest.mark.django_db


def test_the_three_roles_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {"Admin", "Marketer", "Sales"}


def test_sales_edits_people_and_tasks_but_cannot_import_or_delete(sales_user):
    assert sales_user.has_perms(["contacts.change_contact", "contacts.add_task", "contacts.change_lead"])
    assert not sales_user.has_perm("contacts.add_importjob")
    assert not sales_user.has_perm("contacts.delete_contact")
    assert not sales_user.has_perm("contacts.add_apikey")


def test_sales_reads_but_cannot_change_marketing_definitions(sales_user):
    assert sales_user.has_perm("contacts.view_customattribute")
    assert not sales_user.has_perm("contacts.change_customattribute")
    assert not sales_user.has_perm("contacts.add_topic")


def test_marketers_run_marketing_but_not_api_keys(marketer):
    assert marketer.has_perms(["contacts.add_importjob", "contacts.delete_contact", "contacts.change_topic"])
    assert not marketer.has_perm("contacts.add_apikey")


def test_every_marketing_app_model_is_covered_for_marketers():
    perms = roles.role_permissions(roles.MARKETER)
    assert perms.filter(content_type__app_label="contacts", codename="change_opportunity").exists()
