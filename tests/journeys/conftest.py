"""Journey fixtures: published emails, subscribed people, and a journey builder. The email
fixtures (a real SMTP server on loopback, sender, brand) are the channel tests' own."""

import pytest

from channels import services as channels
from contacts import services as people
from journeys.models import Journey
from tests.channels.conftest import brand, fresh_render_cache, make_email, sender, smtp_server  # noqa: F401
from tests.channels.webhook_receiver import receiver  # noqa: F401
from tests.factories import ContactFactory


@pytest.fixture
def subscribed(now):
    """A contact who opted in to commercial email."""
    def make(**fields):
        contact = ContactFactory(**fields)
        people.set_consent(contact, channel="email", status="opted_in", now=now)
        return contact

    return make


@pytest.fixture
def published_email(make_email, now):  # noqa: F811 (the imported fixture, requested by name)
    """A published email with one tracked link per URL given."""
    def make(key, *, links=()):
        anchors = " ".join(f'<a href="{url}">{label}</a>' for label, url in links)
        email = make_email(name=key.replace("-", " ").title(), key=key,
                           subject=f"{key} for {{{{ contact.first_name }}}}", blocks=[{"type": "heading", "text": key},
                                   {"type": "text", "html": f"<p>Hello. {anchors}</p>"}])
        channels.publish(email, now=now)
        return email

    return make


@pytest.fixture
def journey_of(db):
    """A draft journey: `journey_of(start, tiles, **fields)`."""
    def make(start, tiles, **fields):
        fields.setdefault("name", "Test journey")
        return Journey.objects.create(tiles={"start": start, "tiles": tiles}, **fields)

    return make
