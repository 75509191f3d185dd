"""The API describes itself: an OpenAPI schema without warnings, and browsable docs."""

import pytest
from django.core.management import call_command

from tests.factories import AccountFactory, ContactFactory


def test_the_schema_and_the_docs_are_public(client, db):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/contacts/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


@pytest.mark.django_db
def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "Api-Key" in (tmp_path / "schema.yaml").read_text()


def test_the_api_root_lists_the_endpoints(marketer_client):
    links = marketer_client.get("/api/").json()
    assert {"contacts", "leads", "accounts", "opportunities", "interactions", "consent", "consent-history",
            "tasks", "topics", "custom-attributes", "imports"} <= set(links)


def test_the_browsable_api_renders_for_a_signed_in_user(marketer_client):
    ContactFactory(account=AccountFactory(name="Acme"))
    response = marketer_client.get("/api/contacts/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Acme" in response.content
