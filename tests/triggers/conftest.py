"""Trigger fixtures: the journey and email fixtures, API clients, and a way to run after-commit work."""

import pytest
from django.core.cache import cache
from django.test import Client

from contacts.models import APIKey
from journeys import triggers
from journeys.models import CustomTrigger, TriggerEvent
from tests.journeys.conftest import (  # noqa: F401  (fixtures, requested by name)
    brand,
    fresh_render_cache,
    journey_of,
    make_email,
    published_email,
    sender,
    smtp_server,
    subscribed,
)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what waits for the commit (hooks, dispatch), as a real commit would."""
    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


@pytest.fixture
def events():
    """The stored events of a key, oldest first, as (person, payload)."""
    def of(key):
        stored = list(TriggerEvent.objects.filter(key=key).order_by("id"))
        for event in stored:  # whoever published it, the payload keeps the catalog's promise
            assert triggers.payload_errors(event.key, event.payload) == [], event.payload
        return [(e.contact or e.lead, e.payload) for e in stored]

    return of


@pytest.fixture
def api(marketer):
    key = APIKey(name="Shop integration", user=marketer, scope=APIKey.Scope.WRITE)
    raw_key = key.generate()
    key.save()
    return Client(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")


@pytest.fixture(autouse=True)
def fresh_rate_counters():
    """Fair-use counters live in the cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def visit(db):
    """A custom trigger fired by integrations, naming the person by email."""
    return CustomTrigger.objects.create(name="Store visit", key="store.visited", person_field="email",
                                        attributes=[{"name": "store", "type": "text", "required": True},
                                                    {"name": "minutes", "type": "integer"},
                                                    {"name": "day", "type": "date"}])
