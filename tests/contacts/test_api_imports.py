"""Importing contacts through the API: upload a CSV, get the job, poll it."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.models import Contact, ImportJob

CSV = (
    "E-mail,First name,Country\n"
    "ann@example.com,Ann,Sweden\n"
    "not-an-email,Bob,Norway\n"
    "cid@example.com,Cid,Denmark\n"
)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(client, content: str = CSV, **fields):
    file = SimpleUploadedFile("people.csv", content.encode(), content_type="text/csv")
    return client.post("/api/imports/", {"file": file, **fields})


def test_an_import_reports_its_bad_row_and_imports_the_rest(marketer_client):
    response = upload(marketer_client)
    assert response.status_code == 201, response.content
    job = response.json()
    assert (job["status"], job["total_rows"], job["rows_done"], job["progress_percent"]) == ("done", 3, 3, 100)
    assert (job["created_count"], job["updated_count"], job["error_count"]) == (2, 0, 1)
    [error] = job["errors"]
    assert error["row"] == 3
    assert "email" in error["errors"]
    assert sorted(Contact.objects.values_list("email", flat=True)) == ["ann@example.com", "cid@example.com"]

    polled = marketer_client.get(f"/api/imports/{job['id']}/")
    assert polled.status_code == 200
    assert polled.json()["error_count"] == 1


def test_an_explicit_mapping_and_skip_on_duplicate(marketer_client):
    Contact.objects.create(email="ann@example.com", first_name="Annie")
    mapping = {"E-mail": "email", "First name": "first_name"}
    response = upload(marketer_client, mapping=json.dumps(mapping), on_duplicate="skip")
    assert response.status_code == 201
    job = response.json()
    assert (job["created_count"], job["skipped_count"], job["error_count"]) == (1, 1, 1)
    assert job["mapping"] == mapping
    assert Contact.objects.get(email="ann@example.com").first_name == "Annie"
    assert Contact.objects.get(email="cid@example.com").country == ""


def test_a_mapping_to_an_unknown_field_is_a_field_error(marketer_client):
    response = upload(marketer_client, mapping=json.dumps({"E-mail": "email", "Country": "planet"}))
    assert response.status_code == 400
    assert "mapping" in response.json()
    assert not ImportJob.objects.exists()


def test_a_mapping_that_is_not_json_is_a_field_error(marketer_client):
    response = upload(marketer_client, mapping="E-mail=email")
    assert response.status_code == 400
    assert "mapping" in response.json()


def test_an_empty_file_is_a_field_error(marketer_client):
    response = upload(marketer_client, content="")
    assert response.status_code == 400
    assert "file" in response.json()


def test_a_sales_user_cannot_import(sales_client):
    assert upload(sales_client).status_code == 403
    assert not Contact.objects.exists()
