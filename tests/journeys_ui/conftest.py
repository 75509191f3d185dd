"""Builder fixtures: the journey engine tests' email fixtures, and a draft journey to edit."""

import pytest

from journeys.models import EXIT, Journey
from tests.channels.conftest import brand, fresh_render_cache, make_email, sender, smtp_server  # noqa: F401
from tests.journeys.conftest import published_email, subscribed  # noqa: F401

GRINDERS = "https://contoso.test/grinders"


@pytest.fixture
def brew_draft(published_email):  # noqa: F811
    """The "Brew Better at Home" journey as a valid draft."""
    published_email("brew-guide", links=[("Shop Grinders", GRINDERS)])
    published_email("grinder-offer")
    published_email("brew-tips")
    tiles = {
        "guide": {"type": "send_email", "email": "brew-guide", "next": "wait"},
        "wait": {"type": "wait", "days": 2, "next": "clicked"},
        "clicked": {"type": "interaction_branch", "tile": "guide", "interaction": "clicked", "link": GRINDERS,
                    "yes": "offer", "no": "tips"},
        "offer": {"type": "send_email", "email": "grinder-offer", "next": EXIT},
        "tips": {"type": "send_email", "email": "brew-tips", "next": EXIT},
    }
    return Journey.objects.create(name="Brew Better at Home", entry_trigger="form.submitted",
                                  exit_trigger="purchase.completed", tiles={"start": "guide", "tiles": tiles})
