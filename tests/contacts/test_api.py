"""The REST API: API keys and permissions, contact validation, and the contacts list."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from contacts.models import APIKey, Contact, CustomAttribute, Lead
from contacts.serializers import ContactSerializer
from tests.factories import AccountFactory, ContactFactory, UserFactory

CONTACTS = "/api/contacts/"


def make_key(user, *, scope: str = APIKey.Scope.WRITE, **fields) -> str:
    key = APIKey(name="Shop integration", user=user, scope=scope, **fields)
    raw_key = key.generate()
    key.save()
    return raw_key


def key_client(raw_key: str, scheme: str = "Api-Key") -> Client:
    return Client(HTTP_AUTHORIZATION=f"{scheme} {raw_key}")


@pytest.fixture
def marketer_key(marketer):
    return make_key(marketer)


@pytest.fixture
def api(marketer_key):
    """A client authenticated by a write-scope API key of the marketer."""
    return key_client(marketer_key)


# --- Authentication ---------------------------------------------------------------------------
def test_a_valid_api_key_authenticates(api):
    ContactFactory(email="ann@example.com")
    response = api.get(CONTACTS)
    assert response.status_code == 200
    assert [c["email"] for c in response.json()["results"]] == ["ann@example.com"]


def test_a_bearer_token_is_accepted_when_it_is_a_waymark_key(marketer_key):
    assert key_client(marketer_key, scheme="Bearer").get(CONTACTS).status_code == 200


def test_a_bearer_token_that_is_not_a_waymark_key_is_not_authenticated(db):
    response = key_client("some-other-token", scheme="Bearer").get(CONTACTS)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "fields",
    [
        {"revoked": True},
        {"expires_at": timezone.now() - datetime.timedelta(minutes=1)},
    ],
    ids=["revoked", "expired"],
)
def test_a_revoked_or_expired_key_is_rejected(marketer, fields):
    response = key_client(make_key(marketer, **fields)).get(CONTACTS)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Api-Key")


def test_a_key_that_has_not_expired_yet_works(marketer):
    raw_key = make_key(marketer, expires_at=timezone.now() + datetime.timedelta(days=1))
    assert key_client(raw_key).get(CONTACTS).status_code == 200


@pytest.mark.parametrize("tamper", ["wrong_secret", "unknown_prefix", "garbage"])
def test_a_wrong_key_is_rejected(marketer_key, tamper):
    marker, prefix, secret = marketer_key.split("_", 2)
    raw_key = {
        "wrong_secret": f"{marker}_{prefix}_{'y' if secret.startswith('x') else 'x'}{secret[1:]}",
        "unknown_prefix": f"{marker}_00000000_{secret}",
        "garbage": "not-a-key",
    }[tamper]
    response = key_client(raw_key).get(CONTACTS)
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid API key."


def test_a_key_of_an_inactive_user_is_rejected(marketer, marketer_key):
    marketer.is_active = False
    marketer.save()
    assert key_client(marketer_key).get(CONTACTS).status_code == 401


def test_an_unauthenticated_request_gets_401_with_a_challenge(client, db):
    response = client.get(CONTACTS)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Api-Key realm="api"'


def test_key_use_is_recorded_at_most_once_a_minute(api):
    key = APIKey.objects.get()
    api.get(CONTACTS)
    key.refresh_from_db()
    first_use = key.last_used_at
    assert first_use is not None

    api.get(CONTACTS)
    key.refresh_from_db()
    assert key.last_used_at == first_use

    APIKey.objects.filter(pk=key.pk).update(last_used_at=first_use - datetime.timedelta(minutes=2))
    api.get(CONTACTS)
    key.refresh_from_db()
    assert key.last_used_at > first_use - datetime.timedelta(minutes=1)


def test_the_browser_session_still_authenticates(marketer_client):
    assert marketer_client.get(CONTACTS).status_code == 200


# --- Permissions ------------------------------------------------------------------------------
def test_a_read_scope_key_can_read_but_cannot_write(marketer):
    api = key_client(make_key(marketer, scope=APIKey.Scope.READ))
    assert api.get(CONTACTS).status_code == 200
    response = api.post(CONTACTS, {"email": "new@example.com"}, content_type="application/json")
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert not Contact.objects.exists()


def test_a_read_scope_key_cannot_delete(marketer):
    contact = ContactFactory()
    api = key_client(make_key(marketer, scope=APIKey.Scope.READ))
    assert api.delete(f"{CONTACTS}{contact.pk}/").status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_a_sales_user_can_update_a_contact_but_not_delete_it(sales_client):
    contact = ContactFactory(job_title="Buyer")
    url = f"{CONTACTS}{contact.pk}/"

    response = sales_client.patch(url, {"job_title": "Head buyer"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["job_title"] == "Head buyer"

    assert sales_client.delete(url).status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_a_marketer_can_delete_a_contact(marketer_client):
    contact = ContactFactory()
    assert marketer_client.delete(f"{CONTACTS}{contact.pk}/").status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_reading_needs_the_view_permission(client, db):
    user = UserFactory(username="nobody")
    user.save()  # the factory does not save the password it sets; the session checks it
    client.force_login(user)
    assert client.get(CONTACTS).status_code == 403

    user.user_permissions.add(Permission.objects.get(codename="view_contact"))
    assert client.get(CONTACTS).status_code == 200


def test_a_key_acts_with_its_owners_permissions(sales_user):
    contact = ContactFactory()
    api = key_client(make_key(sales_user))
    assert api.delete(f"{CONTACTS}{contact.pk}/").status_code == 403


# --- Writing contacts -----------------------------------------------------------------------------
def post(api, data, url=CONTACTS):
    return api.post(url, data, content_type="application/json")


def test_creating_a_contact_stores_the_email_lower_cased(api):
    response = post(api, {"email": "Ann.Lee@Example.COM", "first_name": "Ann", "time_zone": "Europe/Paris"})
    assert response.status_code == 201
    assert response.json()["email"] == "ann.lee@example.com"
    assert Contact.objects.get().email == "ann.lee@example.com"


def test_an_invalid_email_is_a_field_error(api):
    response = post(api, {"email": "not-an-email"})
    assert response.status_code == 400
    assert "email" in response.json()


def test_a_duplicate_email_in_another_case_is_a_field_error(api):
    ContactFactory(email="ann@example.com")
    response = post(api, {"email": "ANN@example.com"})
    assert response.status_code == 400
    assert response.json() == {"email": ["a contact with this email already exists"]}
    assert Contact.objects.count() == 1


def test_changing_an_email_to_another_contacts_email_is_a_field_error(api):
    ContactFactory(email="ann@example.com")
    bob = ContactFactory(email="bob@example.com")
    response = api.patch(f"{CONTACTS}{bob.pk}/", {"email": "Ann@Example.com"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["email"] == ["a contact with this email already exists"]


def test_a_duplicate_saved_between_validation_and_save_is_still_a_field_error(db):
    """Two requests may both pass the check; the unique index decides and the loser gets a 400."""
    serializer = ContactSerializer(data={"email": "ann@example.com"})
    assert serializer.is_valid()
    ContactFactory(email="Ann@Example.com")
    with pytest.raises(ValidationError) as raised:
        serializer.save()
    assert raised.value.detail == {"email": ["a contact with this email already exists"]}
    assert Contact.objects.count() == 1


def test_a_contact_may_keep_its_own_email(api):
    ann = ContactFactory(email="ann@example.com")
    response = api.put(f"{CONTACTS}{ann.pk}/", {"email": "ANN@example.com", "first_name": "Ann"},
                       content_type="application/json")
    assert response.status_code == 200


def test_contacts_without_email_do_not_collide(api):
    assert post(api, {"first_name": "A", "email": ""}).status_code == 201
    assert post(api, {"first_name": "B"}).status_code == 201
    assert list(Contact.objects.values_list("email", flat=True)) == [None, None]


def test_an_unknown_time_zone_is_a_field_error(api):
    response = post(api, {"email": "ann@example.com", "time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "time_zone" in response.json()


def test_an_unknown_custom_attribute_is_a_field_error(api):
    response = post(api, {"email": "ann@example.com", "attributes": {"shoe_size": 42}})
    assert response.status_code == 400
    assert "shoe_size" in response.json()["attributes"][0]


def test_custom_attributes_are_checked_and_coerced(api):
    CustomAttribute.objects.create(key="tier", label="Tier", type="choice", choices=["gold", "silver"])
    CustomAttribute.objects.create(key="employees", label="Employees", type="number")

    bad = post(api, {"email": "ann@example.com", "attributes": {"tier": "bronze"}})
    assert bad.status_code == 400
    assert "tier" in bad.json()["attributes"][0]

    good = post(api, {"email": "ann@example.com", "attributes": {"tier": "gold", "employees": "120"}})
    assert good.status_code == 201
    assert Contact.objects.get().attributes == {"tier": "gold", "employees": 120}


def test_a_required_custom_attribute_is_required_on_create(api):
    CustomAttribute.objects.create(key="tier", label="Tier", required=True)
    response = post(api, {"email": "ann@example.com"})
    assert response.status_code == 400
    assert "tier: this attribute is required" in response.json()["attributes"]


def test_custom_attributes_are_checked_on_update_too(api):
    contact = ContactFactory()
    response = api.patch(f"{CONTACTS}{contact.pk}/", {"attributes": {"nope": 1}}, content_type="application/json")
    assert response.status_code == 400
    assert "attributes" in response.json()


# --- Listing contacts -----------------------------------------------------------------------------
def test_the_list_is_paginated_by_50(api):
    ContactFactory.create_batch(60)
    first = api.get(CONTACTS).json()
    assert first["count"] == 60
    assert len(first["results"]) == 50
    assert first["next"].endswith("?page=2")
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 10
    assert {c["id"] for c in first["results"]}.isdisjoint({c["id"] for c in second["results"]})


def test_the_page_size_can_be_chosen(api):
    ContactFactory.create_batch(5)
    assert len(api.get(CONTACTS, {"page_size": 2}).json()["results"]) == 2


def emails(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(c["email"] for c in response.json()["results"])


def test_contacts_filter_by_country_state_and_account(api):
    acme = AccountFactory(name="Acme")
    ContactFactory(email="se@example.com", country="Sweden", state="Skåne", account=acme)
    ContactFactory(email="us@example.com", country="United States", state="Texas")
    assert emails(api.get(CONTACTS, {"country": "Sweden"})) == ["se@example.com"]
    assert emails(api.get(CONTACTS, {"state": "Texas"})) == ["us@example.com"]
    assert emails(api.get(CONTACTS, {"account": acme.pk})) == ["se@example.com"]


def test_contacts_filter_by_email_in_any_case(api):
    ContactFactory(email="ann@example.com")
    ContactFactory(email="bob@example.com")
    assert emails(api.get(CONTACTS, {"email": "ANN@Example.com"})) == ["ann@example.com"]


def test_contacts_filter_by_owner_and_creation_time(api, marketer):
    old = ContactFactory(email="old@example.com", owner=marketer)
    ContactFactory(email="new@example.com")
    Contact.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=30))
    cutoff = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    assert emails(api.get(CONTACTS, {"created_after": cutoff})) == ["new@example.com"]
    assert emails(api.get(CONTACTS, {"created_before": cutoff})) == ["old@example.com"]
    assert emails(api.get(CONTACTS, {"owner": marketer.pk})) == ["old@example.com"]


def test_an_invalid_filter_value_is_a_400(api):
    response = api.get(CONTACTS, {"created_after": "last tuesday"})
    assert response.status_code == 400
    assert "created_after" in response.json()


def test_contacts_search_by_name_and_email(api):
    ContactFactory(email="ann@acme.test", first_name="Ann", last_name="Lee")
    ContactFactory(email="bob@example.com", first_name="Bob", last_name="Stone")
    assert emails(api.get(CONTACTS, {"search": "stone"})) == ["bob@example.com"]
    assert emails(api.get(CONTACTS, {"search": "acme"})) == ["ann@acme.test"]


def test_contacts_order_by_a_chosen_field(api):
    ContactFactory(email="b@example.com", first_name="Zed")
    ContactFactory(email="a@example.com", first_name="Amy")
    results = api.get(CONTACTS, {"ordering": "-email"}).json()["results"]
    assert [c["email"] for c in results] == ["b@example.com", "a@example.com"]


def test_the_contacts_list_shows_the_account_name(api):
    ContactFactory(account=AccountFactory(name="Acme"))
    assert api.get(CONTACTS).json()["results"][0]["account_name"] == "Acme"


def test_the_contacts_list_runs_a_fixed_number_of_queries(marketer_client, django_assert_max_num_queries):
    for _ in range(30):
        ContactFactory(account=AccountFactory())
    # session, user, user and group permissions, count, page: not one query per contact.
    with django_assert_max_num_queries(6):
        response = marketer_client.get(CONTACTS)
    assert len(response.json()["results"]) == 30


@pytest.mark.parametrize(("url", "body", "message"), [
    ("/api/contacts/", {}, Contact.IDENTITY_REQUIRED),
    ("/api/contacts/", {"first_name": " ", "job_title": "CTO"}, Contact.IDENTITY_REQUIRED),
    ("/api/leads/", {"topic": "Espresso"}, Lead.IDENTITY_REQUIRED),
])
def test_the_api_refuses_a_person_with_nothing_to_know_them_by(api, url, body, message):
    response = api.post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [message]}
    assert not Contact.objects.exists() and not Lead.objects.exists()


def test_the_api_refuses_to_empty_a_person_by_update(api):
    contact = Contact.objects.create(last_name="Xu")
    response = api.patch(f"/api/contacts/{contact.pk}/", {"last_name": ""}, content_type="application/json")
    assert response.status_code == 400 and "non_field_errors" in response.json()
    response = api.patch(f"/api/contacts/{contact.pk}/", {"city": "Oslo"}, content_type="application/json")
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.last_name == "Xu" and contact.city == "Oslo"
