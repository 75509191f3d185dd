"""The demo's two forms and landing page, a real SMTP server, and helpers to post like a browser."""


import pytest
from django.core.cache import cache, caches
from django.utils import timezone

from contacts.demo import forms as demo_forms
from contacts.webforms import tokens
from tests.channels.conftest import Inbox, smtp_server  # noqa: F401 — the real SMTP server fixture
from tests.conftest import T0


def _clear_local_cache():
    # Never clear a shared Redis here: that would flush other processes' keys too.
    if type(caches["default"]).__module__.endswith("locmem"):
        cache.clear()


@pytest.fixture(autouse=True)
def fresh_limits(settings):
    """Each test starts with empty rate-limit windows and no minimum fill time (time is not faked)."""
    settings.WAYMARK_FORM_MIN_FILL_SECONDS = 0
    _clear_local_cache()
    yield
    _clear_local_cache()


@pytest.fixture
def demo(db):
    return demo_forms.ensure_forms(now=T0)


@pytest.fixture
def brew_guide(demo):
    return demo["brew_guide"]


@pytest.fixture
def catering(demo):
    return demo["catering"]


@pytest.fixture
def post_form(client):
    """POST a form the way the hosted page does: with a fresh render token."""
    def post(form, data, *, consent=None, ip="198.51.100.7", **extra):
        body = {"wm_token": tokens.render_token(form, now=timezone.now()), **data}
        for box in form.consents.all():
            if consent:
                body[f"consent_{box.pk}"] = "on"
        return client.post(form.public_url(), body, REMOTE_ADDR=ip, **extra)

    return post


__all__ = ["Inbox", "smtp_server"]


