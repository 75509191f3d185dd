"""The marketer's pages: list, designer, embed codes, prefilled links, submissions and CSV, landing pages."""

import csv
import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from contacts.models import CustomAttribute, FormField, FormSubmission, LandingPage, Topic, WebForm

pytestmark = pytest.mark.django_db


def management(prefix, total, initial):
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}


def settings_data(**overrides):
    data = {"form-name": "Spring tasting", "form-slug": "spring-tasting", "form-status": "live",
            "form-submit_label": "Sign me up", "form-success_message": "Thanks!", "form-matching": "contact_then_lead",
            "form-creates": "lead"}
    data.update(overrides)
    return data


def test_the_list_shows_forms_with_their_submission_counts(marketer_client, brew_guide, catering,
                                                           django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = marketer_client.get(reverse("webforms:form_list"))
    assert response.status_code == 200
    assert b"French Press Brew Guide" in response.content and b"Request a catering quote" in response.content


def test_a_marketer_designs_a_form_with_fields_and_a_consent_checkbox(marketer_client):
    topic = Topic.objects.create(key="events", name="Events")
    created = marketer_client.post(reverse("webforms:form_create"), {
        k.removeprefix("form-"): v for k, v in settings_data().items()})
    webform = WebForm.objects.get(slug="spring-tasting")
    assert created["Location"] == reverse("webforms:form_design", args=[webform.pk])

    data = {**settings_data(), **management("fields", 2, 0), **management("consents", 1, 0),
            "fields-0-label": "Email", "fields-0-key": "email", "fields-0-kind": "email", "fields-0-maps_to": "email",
            "fields-0-required": "on", "fields-0-position": "1",
            "fields-1-label": "Favourite roast", "fields-1-key": "roast", "fields-1-kind": "choice",
            "fields-1-choices_text": "Light\nMedium\nDark", "fields-1-position": "2",
            "consents-0-channel": "email", "consents-0-topic": str(topic.pk), "consents-0-wording": "Invite me.",
            "consents-0-position": "1"}
    saved = marketer_client.post(reverse("webforms:form_design", args=[webform.pk]), data)

    assert saved.status_code == 302
    assert [(f.key, f.kind, f.choices) for f in webform.fields.all()] == [
        ("email", "email", []), ("roast", "choice", ["Light", "Medium", "Dark"])]
    assert webform.consents.get().wording == "Invite me."


def test_designer_errors_keep_what_was_typed_and_save_nothing(marketer_client):
    webform = WebForm.objects.create(name="X", slug="x")
    data = {**settings_data(**{"form-slug": "x", "form-double_opt_in": "on"}), **management("fields", 1, 0),
            **management("consents", 0, 0),
            "fields-0-label": "Roast", "fields-0-key": "roast", "fields-0-kind": "choice", "fields-0-position": "1"}
    response = marketer_client.post(reverse("webforms:form_design", args=[webform.pk]), data)

    assert response.status_code == 200
    assert "A choice field needs at least one option." in response.content.decode()
    assert "Double opt-in needs a confirmation email." in response.content.decode()
    assert 'value="Roast"' in response.content.decode()
    assert not FormField.objects.exists()
    webform.refresh_from_db()
    assert webform.name == "X" and not webform.double_opt_in


def test_the_form_page_offers_link_iframe_and_script_to_copy(marketer_client, brew_guide):
    response = marketer_client.get(brew_guide.get_absolute_url())
    html = response.content.decode()
    assert "http://testserver/f/french-press-brew-guide/" in html
    assert "&lt;iframe src=&quot;http://testserver/f/french-press-brew-guide/?embed=1&quot;" in html
    assert "&lt;script src=&quot;http://testserver/f/french-press-brew-guide/embed.js&quot; async&gt;" in html


def test_a_prefilled_link_opens_the_form_with_the_persons_details(marketer_client, client, brew_guide):
    from tests.factories import ContactFactory

    ContactFactory(email="ada@engines.example", first_name="Ada")
    response = marketer_client.post(reverse("webforms:form_prefill_link", args=[brew_guide.pk]),
                                    {"email": "ada@engines.example"})
    link = response.context["link"]
    assert link.startswith("http://127.0.0.1:8000/f/french-press-brew-guide/?p=")

    page = client.get(link.removeprefix("http://127.0.0.1:8000")).content.decode()
    assert 'value="ada@engines.example"' in page and 'value="Ada"' in page
    tampered = client.get(link.removeprefix("http://127.0.0.1:8000")[:-3] + "abc").content.decode()
    assert "ada@engines.example" not in tampered


def test_submissions_are_searchable_and_export_as_csv(marketer_client, catering, post_form):
    for company, email in [("Fabrikam", "ola@fabrikam.example"), ("Tailspin", "kim@tailspin.example")]:
        response = post_form(catering, {"company": company, "first_name": "A", "last_name": "B", "email": email,
                                        "guests": "40", "event_date": "2026-12-01"}, ip=f"203.0.113.{len(company)}")
        assert response.status_code == 302

    found = marketer_client.get(reverse("webforms:submission_list", args=[catering.pk]), {"q": "tailspin"})
    assert found.context["page"].paginator.count == 1
    exported = marketer_client.get(reverse("webforms:submission_export", args=[catering.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert rows[0][:5] == ["submitted_at", "email", "person_type", "person_id", "Company"]
    assert sorted(row[4] for row in rows[1:]) == ["Fabrikam", "Tailspin"]


def test_a_form_with_submissions_cannot_be_deleted(marketer_client, catering, post_form):
    post_form(catering, {"company": "F", "first_name": "A", "last_name": "B", "email": "a@f.example",
                         "guests": "40", "event_date": "2026-12-01"})
    marketer_client.post(reverse("webforms:form_delete", args=[catering.pk]))
    assert WebForm.objects.filter(pk=catering.pk).exists()


def test_a_landing_page_is_built_from_blocks_and_published(marketer_client, client, brew_guide):
    created = marketer_client.post(reverse("webforms:page_create"),
                                   {"name": "Cold brew", "slug": "cold-brew", "title": "Cold brew at home"})
    landing = LandingPage.objects.get(slug="cold-brew")
    assert created["Location"] == landing.get_absolute_url()
    assert client.get("/p/cold-brew/").status_code == 404

    data = {"name": "Cold brew", "slug": "cold-brew", "title": "Cold brew at home", "action": "publish",
            **management("blocks", 3, 0),
            "blocks-0-type": "heading", "blocks-0-text": "Cold brew at home", "blocks-0-level": "1",
            "blocks-0-position": "1",
            "blocks-1-type": "text", "blocks-1-html": "<p>Steep <b>overnight</b><script>alert(1)</script></p>",
            "blocks-1-position": "2",
            "blocks-2-type": "form", "blocks-2-form": brew_guide.slug, "blocks-2-position": "3"}
    marketer_client.post(landing.get_absolute_url(), data)

    landing.refresh_from_db()
    assert landing.status == "published"
    assert [b["type"] for b in landing.published_blocks] == ["heading", "text", "form"]
    page = client.get("/p/cold-brew/").content.decode()
    assert "<h1 class=\"wm-block wm-h1\">Cold brew at home</h1>" in page
    assert "<b>overnight</b>" in page and "<script>alert" not in page
    assert 'action="/f/french-press-brew-guide/"' in page


def test_a_bad_block_is_refused_next_to_its_row(marketer_client):
    landing = LandingPage.objects.create(name="P", slug="p", title="P")
    data = {"name": "P", "slug": "p", "title": "P", "action": "save", **management("blocks", 1, 0),
            "blocks-0-type": "image", "blocks-0-src": "javascript:alert(1)", "blocks-0-position": "1"}
    response = marketer_client.post(landing.get_absolute_url(), data)
    assert "An image needs an http(s) address" in response.content.decode()
    landing.refresh_from_db()
    assert landing.blocks == []


def test_errors_in_a_landing_page_form_show_on_the_landing_page(client, demo, post_form):
    response = post_form(demo["brew_guide"], {"email": "nope", "first_name": "Nia",
                                              "wm_page": "http://testserver/p/french-press-guide/"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Brew a better French press" in html  # the landing page, not the bare form
    assert "Enter a valid email address." in html and 'value="Nia"' in html


def test_submission_pages_take_a_fixed_number_of_queries(marketer_client, catering, post_form,
                                                         django_assert_max_num_queries):
    for n in range(6):
        post_form(catering, {"company": f"Co {n}", "first_name": "A", "last_name": "B", "email": f"p{n}@co.example",
                             "guests": "40", "event_date": "2026-12-01", "message": "Line one\nLine two"},
                  ip=f"203.0.113.{n}")
    with django_assert_max_num_queries(12):
        listed = marketer_client.get(reverse("webforms:submission_list", args=[catering.pk]))
    assert listed.context["page"].paginator.count == 6
    submission = FormSubmission.objects.first()
    detail = marketer_client.get(reverse("webforms:submission_detail", args=[catering.pk, submission.pk]))
    html = detail.content.decode()
    assert "Number of guests" in html and "Line one<br>Line two" in html


def test_a_field_must_fit_the_custom_attribute_it_fills(catering):
    CustomAttribute.objects.create(entity="lead", key="tier", label="Tier", type="choice", choices=["gold", "silver"])
    field = FormField(form=catering, key="tier", label="Tier", kind="number", maps_to="attributes.tier")
    with pytest.raises(ValidationError, match="cannot fill"):
        field.clean()
    field.kind, field.choices = "choice", ["gold", "bronze"]
    with pytest.raises(ValidationError, match="does not allow bronze"):
        field.clean()
    field.choices = ["gold"]
    field.clean()


def test_sales_see_a_landing_page_read_only_and_cannot_change_it(sales_client, demo):
    landing = LandingPage.objects.get(slug="french-press-guide")
    listed = sales_client.get(reverse("webforms:page_list")).content.decode()
    assert f'href="{landing.get_absolute_url()}"' in listed
    response = sales_client.get(landing.get_absolute_url())
    page = response.content.decode()
    assert response.status_code == 200 and "Read only" in page
    assert 'id="page-designer"' not in page and "Delete page" not in page and "Unpublish" not in page
    assert "Brew a better French press" in page
    before = landing.blocks
    assert sales_client.post(landing.get_absolute_url(), {"name": "Mine", "action": "save"}).status_code == 403
    landing.refresh_from_db()
    assert landing.blocks == before and landing.name != "Mine"


def test_marketers_still_get_the_designer(marketer_client, demo):
    landing = LandingPage.objects.get(slug="french-press-guide")
    page = marketer_client.get(landing.get_absolute_url()).content.decode()
    assert 'id="page-designer"' in page and "Read only" not in page


def test_the_landing_page_thanks_like_the_hosted_form_double_opt_in_included(client, brew_guide, post_form):
    assert brew_guide.double_opt_in
    response = post_form(brew_guide, {"email": "nia@example.com", "first_name": "Nia",
                                      "wm_page": "http://testserver/p/french-press-guide/"}, consent=True)
    assert response["Location"].startswith("/p/french-press-guide/?thanks=")
    landing = client.get(response["Location"]).content.decode()
    hosted = client.get(f"/f/{brew_guide.slug}/thanks/").content.decode()
    sentence = "check your inbox: we have sent you a link to confirm"
    assert sentence in hosted and sentence in landing
    thanks = re.compile(r'<p class="wm-thanks">.*?</p>\s*<p class="wm-help">.*?</p>', re.S)
    assert thanks.search(landing).group(0) == thanks.search(hosted).group(0)
