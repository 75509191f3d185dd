"""The demo seeder: idempotent, and every example segment of the demo has members."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.test import override_settings

from contacts import demo
from contacts.demo import catalog, scale
from contacts.models import (
    Account,
    Consent,
    ConsentChange,
    Contact,
    CustomAttribute,
    DoubleOptIn,
    Interaction,
    Lead,
    Opportunity,
    Task,
    Topic,
)
from tests.conftest import T0

pytestmark = pytest.mark.django_db
MODELS = [Account, Contact, Lead, Opportunity, Consent, ConsentChange, Interaction, Task, Topic, CustomAttribute]
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker):
    """The demo, seeded once for the whole module inside a transaction rolled back at its end.

    Each test still runs in its own savepoint, so a test that writes leaves the next one alone.
    """
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHER), transaction.atomic():
        demo.seed_demo(now=T0)
        yield T0
        transaction.set_rollback(True)


@pytest.fixture
def seeded(seeded_once, db, settings):
    settings.PASSWORD_HASHERS = FAST_HASHER
    return seeded_once


def counts():
    return {model.__name__: model.objects.count() for model in MODELS} | {
        "users": get_user_model().objects.count()
    }


def interactions(days=None, now=None, **filters):
    rows = Interaction.objects.filter(contact=OuterRef("pk"), **filters)
    return Exists(rows.filter(occurred_at__gte=now - timedelta(days=days)) if days else rows)


def test_second_run_adds_nothing(seeded, now):
    before = counts()
    result = demo.seed_demo(now=now + timedelta(days=1))
    assert result.seeded is False
    assert counts() == before


def test_it_seeds_about_500_contacts_and_demo_users(seeded):
    assert Contact.objects.count() == demo.CONTACTS
    User = get_user_model()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password("waymark-admin")
    assert User.objects.get(username="marketer").groups.filter(name="Marketer").exists()
    assert User.objects.get(username="sales").tasks.exists()


def test_opportunities_and_leads_cover_every_stage_and_status(seeded):
    assert set(Opportunity.objects.values_list("stage", flat=True)) == set(Opportunity.Stage.values)
    assert set(Opportunity.objects.values_list("status", flat=True)) == set(Opportunity.Status.values)
    assert set(Lead.objects.values_list("status", flat=True)) == set(Lead.Status.values)


def test_consent_has_opt_ins_opt_outs_and_pending_confirmations(seeded):
    channel = Consent.objects.filter(topic=None)
    assert channel.filter(status="opted_in").count() > channel.filter(status="opted_out").count() > 0
    assert channel.filter(double_opt_in=DoubleOptIn.PENDING).exists()
    assert ConsentChange.objects.count() > channel.count()
    assert Consent.objects.filter(topic__key="newsletter").exists()


def test_interactions_span_120_days_of_every_kind(seeded, now):
    assert not Interaction.objects.filter(occurred_at__lt=now - timedelta(days=120)).exists()
    assert not Interaction.objects.filter(occurred_at__gt=now).exists()
    assert set(Interaction.objects.values_list("type", flat=True)) >= {
        "email_delivered", "email_opened", "email_clicked", "form_submitted", "page_visited",
        "event_registered", "event_attended", "purchase",
    }
    products = set(Interaction.objects.filter(type="purchase").values_list("product", flat=True))
    assert products == set(catalog.PRODUCTS)


def test_swedish_customers_with_a_recent_purchase_and_an_open_opportunity(seeded, now):
    members = Contact.objects.filter(country="Sweden").filter(
        interactions(90, now, type="purchase"),
        Exists(Opportunity.objects.filter(contact=OuterRef("pk"), status="open")),
    )
    assert members.count() >= 5


def test_texas_loyalty_members_who_bought_cold_brew_but_not_the_concentrate(seeded, now):
    texas_loyal = Contact.objects.filter(state="Texas", attributes__loyalty_member=True)
    bought_cold_brew = texas_loyal.filter(interactions(90, now, type="purchase", product="cold brew"))
    members = bought_cold_brew.exclude(interactions(90, now, type="purchase", product="cold brew concentrate"))
    assert members.count() >= 5
    assert bought_cold_brew.count() > members.count()  # some bought the concentrate too


def test_contacts_of_manufacturing_accounts(seeded):
    assert Contact.objects.filter(account__industry="Manufacturing").count() >= 10


def test_north_dakota_contacts_who_opened_and_clicked_the_launch_email(seeded, now):
    members = Contact.objects.filter(state="North Dakota").filter(
        interactions(90, now, type="email_opened", email_key=catalog.LAUNCH_EMAIL),
        interactions(90, now, type="email_clicked", email_key=catalog.LAUNCH_EMAIL, link=catalog.LAUNCH_LINK),
    )
    assert members.count() >= 5


def test_customers_who_have_not_purchased_in_60_days(seeded, now):
    members = Contact.objects.filter(interactions(type="purchase")).exclude(interactions(60, now, type="purchase"))
    assert members.count() >= 10


def test_seed_scale_adds_generated_people_next_to_the_demo(seeded, now):
    scale.seed_scale(contacts=200, interactions=2000, now=now, log=lambda message: None)
    assert scale.scale_contacts().count() == 200
    assert Interaction.objects.filter(contact__in=scale.scale_contacts()).count() == 2000
    assert Contact.objects.count() == demo.CONTACTS + 200


def test_seed_scale_reset_replaces_the_previous_scale_rows(seeded, now):
    demo_interactions = Interaction.objects.count()
    scale.seed_scale(contacts=50, interactions=100, now=now, log=lambda message: None)
    scale.seed_scale(contacts=30, interactions=90, now=now, reset=True, log=lambda message: None)
    assert scale.scale_contacts().count() == 30
    assert Interaction.objects.count() == demo_interactions + 90
    assert Contact.objects.count() == demo.CONTACTS + 30


def test_scale_contacts_are_about_2_percent_texan_and_40_percent_loyal(seeded, now):
    scale.seed_scale(contacts=2000, interactions=0, now=now, log=lambda message: None)
    texans = scale.scale_contacts().filter(state="Texas").count()
    loyal = scale.scale_contacts().filter(attributes__loyalty_member=True).count()
    assert 15 <= texans <= 70 and 650 <= loyal <= 950
