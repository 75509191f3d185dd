"""Browser tests share the root conftest's Playwright set-up; these names stay importable here."""

from tests.conftest import CHROMIUM, FLAGS, SCREENSHOTS, browser_type_launch_args, screenshot  # noqa: F401
