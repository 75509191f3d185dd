"""Playwright with Debian's chromium (never `playwright install`); see DEPENDENCIES.md §11."""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

# Playwright runs an event loop in the test thread; Django must still allow sync ORM calls there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REQUIRE_BROWSER = os.environ.get("WAYMARK_REQUIRE_BROWSER") == "1"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def pytest_collection_modifyitems(config, items):
    if CHROMIUM or REQUIRE_BROWSER:
        return
    skip = pytest.mark.skip(reason="Debian chromium is not installed (apt-get install chromium); "
                                   "set WAYMARK_REQUIRE_BROWSER=1 to make this a failure")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM:
        pytest.fail("WAYMARK_REQUIRE_BROWSER=1 but no `chromium` on PATH (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": FLAGS}


@pytest.fixture
def screenshot(page):
    """Save the page as var/screenshots/<name>.png (full page unless told otherwise)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
