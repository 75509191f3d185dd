"""The API docs pages in a real browser: Swagger UI and Redoc render from our own static files and
no request leaves for a third party (Redoc's bundle would fetch its vendor's logo from a CDN)."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("path", "ready"), [("/api/docs/", ".swagger-ui .info"), ("/api/redoc/", "h1")])
def test_the_api_docs_render_and_ask_nothing_of_other_hosts(page: Page, live_server, screenshot, path, ready):
    own = urlsplit(live_server.url).netloc
    elsewhere, refused = [], []
    page.on("request", lambda request: urlsplit(request.url).netloc not in ("", own)
            and elsewhere.append(request.url))
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    page.goto(f"{live_server.url}{path}")
    expect(page.locator(ready).first).to_contain_text("Waymark API", timeout=20_000)
    page.wait_for_timeout(1500)  # Redoc mounts its sidebar after the first paint
    assert page.get_by_text("Journeys: journeys, their runs and steps").count() > 0
    screenshot("api-docs-" + path.strip("/").replace("/", "-"), full_page=False)
    assert elsewhere == [] and refused == []
    if path == "/api/redoc/":  # the attribution stays, as text; its logo was never asked for
        expect(page.get_by_text("API docs by Redocly")).to_be_visible()
        assert page.locator("img[data-blocked-src]").count() == 1
