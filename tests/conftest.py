"""Fixtures named for roles. Real services: PostgreSQL when DATABASE_URL is set, SMTP on loopback."""

import datetime
import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from config.celery import app
from contacts import roles
from segments import catalog
from tests.factories import UserFactory

T0 = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)

requires_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (row locking / COPY); set DATABASE_URL=postgres://…",
)


@pytest.fixture
def now():
    return T0


def _user_in(role: str, username: str):
    roles.sync_roles()
    return UserFactory(username=username, groups=[Group.objects.get(name=role)])


@pytest.fixture
def marketer(db):
    return _user_in(roles.MARKETER, "marketer")


@pytest.fixture
def sales_user(db):
    return _user_in(roles.SALES, "sales")


@pytest.fixture
def admin_user(db):
    user = _user_in(roles.ADMIN, "admin")
    user.is_staff = user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def marketer_client(client, marketer):
    client.force_login(marketer)
    return client


@pytest.fixture
def sales_client(client, sales_user):
    client.force_login(sales_user)
    return client


@pytest.fixture(autouse=True)
def fresh_attribute_definitions():
    """Custom attribute definitions are cached per process for a moment; a test's rolled-back
    definitions must not leak into the next test."""
    catalog._attributes.clear()


@pytest.fixture(autouse=True, scope="session")
def celery_runs_tasks_inline():
    """Tasks queued by the code under test run at once, in the test's process. The broker tests in
    test_platform.py switch this off and use a real worker."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


# --- Browser tests: Playwright with Debian's chromium (never `playwright install`; DEPENDENCIES.md §11) ---
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
