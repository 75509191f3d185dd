"""Forms, submissions and landing pages through the REST API and the Django admin."""

import pytest
from django.urls import reverse

from contacts.models import FormField, FormSubmission, LandingPage, Lead, WebForm
from journeys.models import TriggerEvent
from tests.contacts.test_api import key_client, make_key
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(marketer):
    return key_client(make_key(marketer))


def test_a_form_is_built_through_the_api(api):
    created = api.post("/api/forms/", {"name": "Contact us", "slug": "contact-us", "status": "live"},
                       content_type="application/json")
    assert created.status_code == 201, created.json()
    form_id = created.json()["id"]
    field = api.post("/api/form-fields/", {"form": form_id, "key": "email", "label": "Email", "kind": "email",
                                           "maps_to": "email", "required": True}, content_type="application/json")
    assert field.status_code == 201
    bad = api.post("/api/form-fields/", {"form": form_id, "key": "size", "label": "Size", "kind": "choice"},
                   content_type="application/json")
    assert bad.status_code == 400 and "choices" in bad.json()
    detail = api.get(f"/api/forms/{form_id}/").json()
    assert [f["key"] for f in detail["fields"]] == ["email"]
    assert detail["url"] == "http://testserver/f/contact-us/"


def test_double_opt_in_without_a_confirmation_email_is_refused(api):
    response = api.post("/api/forms/", {"name": "N", "slug": "n", "double_opt_in": True},
                        content_type="application/json")
    assert response.status_code == 400
    assert response.json()["confirmation_email"] == ["Double opt-in needs a confirmation email."]


@pytest.mark.django_db(transaction=True)
def test_a_server_submits_a_form_for_a_person(api, catering):
    body = {"values": {"company": "Fabrikam", "first_name": "Ola", "last_name": "Berg",
                       "email": "ola@fabrikam.example", "guests": 40, "event_date": "2026-12-01"}}
    response = api.post(f"/api/forms/{catering.pk}/submit/", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert response.json()["values"]["guests"] == 40
    assert Lead.objects.get().company == "Fabrikam"
    assert TriggerEvent.objects.get(key="form.submitted").payload["fields"]["company"] == "Fabrikam"
    invalid = api.post(f"/api/forms/{catering.pk}/submit/", {"values": {"email": "x"}}, content_type="application/json")
    assert invalid.status_code == 400 and "company" in invalid.json()


def test_submissions_are_listed_searched_and_exported(api, catering, post_form):
    for company in ("Fabrikam", "Tailspin"):
        post_form(catering, {"company": company, "first_name": "A", "last_name": "B",
                             "email": f"a@{company.lower()}.example", "guests": "40", "event_date": "2026-12-01"},
                  ip=f"203.0.113.{len(company)}")
    listed = api.get("/api/form-submissions/", {"form": catering.pk, "search": "tailspin"}).json()
    assert [s["email"] for s in listed["results"]] == ["a@tailspin.example"]
    exported = api.get("/api/form-submissions/export/", {"form": catering.pk})
    assert exported["Content-Type"].startswith("text/csv")
    assert b"Fabrikam" in b"".join(exported.streaming_content)
    assert api.get("/api/form-submissions/export/").status_code == 400


def test_a_prefilled_link_through_the_api(api, brew_guide):
    ada = ContactFactory(email="ada@engines.example")
    response = api.post(f"/api/forms/{brew_guide.pk}/prefill-link/", {"contact": ada.pk},
                        content_type="application/json")
    assert response.json()["url"].startswith("http://127.0.0.1:8000/f/french-press-brew-guide/?p=")


def test_a_landing_page_is_published_through_the_api(api, brew_guide):
    created = api.post("/api/landing-pages/", {"name": "L", "slug": "l", "title": "L", "blocks": [
        {"type": "heading", "text": "Hello"}, {"type": "form", "form": brew_guide.slug}]},
        content_type="application/json")
    assert created.status_code == 201, created.json()
    bad = api.post("/api/landing-pages/", {"name": "B", "slug": "b", "title": "B", "blocks": [{"type": "video"}]},
                   content_type="application/json")
    assert bad.status_code == 400 and "unknown block type" in str(bad.json())
    published = api.post(f"/api/landing-pages/{created.json()['id']}/publish/")
    assert published.status_code == 200 and published.json()["status"] == "published"


def test_a_form_with_submissions_is_not_deleted_through_the_api(api, catering, post_form):
    post_form(catering, {"company": "F", "first_name": "A", "last_name": "B", "email": "a@f.example",
                         "guests": "40", "event_date": "2026-12-01"})
    assert api.delete(f"/api/forms/{catering.pk}/").status_code == 409


def test_the_admin_lists_and_edits_forms_and_pages(client, admin_user, brew_guide, demo):
    client.force_login(admin_user)
    for model in (WebForm, FormSubmission, LandingPage):
        response = client.get(reverse(f"admin:contacts_{model._meta.model_name}_changelist"), {"q": "brew"})
        assert response.status_code == 200
    change = client.get(reverse("admin:contacts_webform_change", args=[brew_guide.pk]))
    assert change.status_code == 200 and b"Send me the guide" in change.content
    assert FormField.objects.filter(form=brew_guide).count() == 2


def test_the_admin_exports_submissions_as_csv(client, admin_user, catering, post_form):
    post_form(catering, {"company": "Fabrikam", "first_name": "A", "last_name": "B", "email": "a@f.example",
                         "guests": "40", "event_date": "2026-12-01"})
    client.force_login(admin_user)
    response = client.post(reverse("admin:contacts_formsubmission_changelist"), {
        "action": "export_csv", "_selected_action": list(FormSubmission.objects.values_list("pk", flat=True))})
    assert b"Fabrikam" in b"".join(response.streaming_content)


def test_the_admin_publishes_a_missing_trigger_once(client, admin_user, catering, post_form):
    post_form(catering, {"company": "F", "first_name": "A", "last_name": "B", "email": "a@f.example",
                         "guests": "40", "event_date": "2026-12-01"})
    assert not TriggerEvent.objects.exists()  # this test's transaction never commits: as if the process died
    client.force_login(admin_user)
    selected = list(FormSubmission.objects.values_list("pk", flat=True))
    for _ in range(2):
        client.post(reverse("admin:contacts_formsubmission_changelist"),
                    {"action": "publish_again", "_selected_action": selected})
    event = TriggerEvent.objects.get()
    assert event.payload["fields"]["company"] == "F"
    assert event.occurred_at == FormSubmission.objects.get().submitted_at
