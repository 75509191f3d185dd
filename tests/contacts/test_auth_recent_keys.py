"""API keys kept per process for the event intake: no query per request, yet revocation, the
owner's deactivation and permission changes take effect at once in this process and within
RECENT_KEY_SECONDS in others."""

import pytest
from django.core.cache import cache
from django.test import Client

from contacts import auth
from contacts.models import APIKey
from journeys.models import CustomTrigger
from tests.factories import ContactFactory

FIRE = "/api/triggers/store.visited/fire/"


@pytest.fixture(autouse=True)
def visit(db):
    cache.clear()
    ContactFactory(email="ada@example.com")
    yield CustomTrigger.objects.create(name="Store visit", key="store.visited", person_field="email")
    cache.clear()


@pytest.fixture
def key(marketer):
    key = APIKey(name="Shop", user=marketer, scope=APIKey.Scope.WRITE)
    key.raw = key.generate()
    key.save()
    return key


def fire(raw_key):
    return Client(HTTP_AUTHORIZATION=f"Api-Key {raw_key}").post(
        FIRE, {"payload": {"email": "ada@example.com"}}, content_type="application/json")


def test_a_kept_key_costs_no_query(key, django_assert_num_queries):
    assert fire(key.raw).status_code == 202
    with django_assert_num_queries(1):  # the event's INSERT
        assert fire(key.raw).status_code == 202


def test_the_window_for_a_change_made_elsewhere_is_a_couple_of_seconds():
    assert 0 < auth.RECENT_KEY_SECONDS <= 2


def test_a_key_revoked_in_this_process_is_refused_at_once(key):
    assert fire(key.raw).status_code == 202
    key.revoked = True
    key.save()
    response = fire(key.raw)
    assert response.status_code == 401
    assert response.json()["detail"] == "This API key has been revoked."


def test_a_key_revoked_by_a_bulk_update_is_refused_once_the_kept_copy_is_too_old(key, settings):
    """The admin's revoke action is a bulk UPDATE, like a save in another process: no signal here."""
    assert fire(key.raw).status_code == 202
    APIKey.objects.filter(pk=key.pk).update(revoked=True)
    assert fire(key.raw).status_code == 202  # within the window, the kept copy answers
    settings.WAYMARK_API_KEY_CACHE_SECONDS = 0  # as if the window had passed
    assert fire(key.raw).status_code == 401


def test_a_deactivated_owner_is_refused_at_once(key, marketer):
    assert fire(key.raw).status_code == 202
    marketer.is_active = False
    marketer.save()
    assert fire(key.raw).status_code == 401


def test_an_owner_who_loses_the_permission_is_refused_at_once(key, marketer):
    assert fire(key.raw).status_code == 202
    marketer.groups.clear()
    assert fire(key.raw).status_code == 403


def test_a_wrong_secret_with_a_kept_prefix_is_refused(key):
    assert fire(key.raw).status_code == 202
    marker, prefix, secret = key.raw.split("_", 2)
    response = fire(f"{marker}_{prefix}_{'y' if secret[0] == 'x' else 'x'}{secret[1:]}")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid API key."


def test_other_endpoints_read_the_key_on_every_request(key):
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key.raw}")
    assert client.get("/api/triggers/").status_code == 200
    APIKey.objects.filter(pk=key.pk).update(revoked=True)
    assert client.get("/api/triggers/").status_code == 401


def test_a_key_revoked_by_the_admin_action_is_refused_at_once(key, admin_client):
    assert fire(key.raw).status_code == 202
    response = admin_client.post("/admin/contacts/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert response.status_code == 302
    assert fire(key.raw).status_code == 401
