"""The email pages: list, create, the block designer (HTMX), preview, test send, publish, the email
page's totals, profiles and content blocks, permissions and query counts."""

import datetime
import json

import pytest
from django.urls import reverse

from channels import feedback, services
from channels.models import BrandProfile, ContentBlock, Delivery, Email, SenderProfile
from contacts import services as people
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
TEXAS = {"version": 1, "match": "all",
         "conditions": [{"type": "attribute", "field": "state", "op": "equals", "value": "Texas"}]}


@pytest.fixture
def ada(db):
    return ContactFactory(first_name="Ada", last_name="Lovelace", email="ada@engines.example", state="London")


def content(response) -> str:
    return response.content.decode()


def design(email, name, *args):
    return reverse(f"channels:email_{name}", args=[email.pk, *args])


def add_block(client, email, kind):
    return client.post(design(email, "block_add"), {"type": kind}, **HTMX)


def edit_block(client, email, index, kind, **fields):
    data = {"type": kind, **{f"b{index}-{name}": value for name, value in fields.items()}}
    return client.post(design(email, "block_update", index), data, **HTMX)


def blank(email):
    email.blocks = []
    email.save()
    return email


def blocks_of(email):
    email.refresh_from_db()
    return email.blocks


def subscribed(now, **fields):
    contact = ContactFactory(**fields)
    people.set_consent(contact, channel="email", status="opted_in", now=now)
    return contact


def deliver(email, *persons, now):
    """Publish (once), queue to each person and send, as a journey would."""
    if not email.versions.exists():
        services.publish(email, now=now)
    for person in persons:
        services.queue_email(email, person=person, idempotency_key=f"{email.pk}:{person.pk}", now=now)
    services.send_queued(now=now)


# --- Pages and permissions -----------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/email/", "/email/new/", "/email/senders/", "/email/brands/",
                                 "/email/content-blocks/"])
def test_email_pages_need_a_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == f"/login/?next={url}"


def test_sales_can_read_emails_but_not_change_them(sales_client, make_email, sender, brand):
    email = make_email()
    assert sales_client.get("/email/").status_code == 200
    assert f"/email/senders/{sender.pk}/" not in content(sales_client.get("/email/senders/"))
    assert f"/email/brands/{brand.pk}/" not in content(sales_client.get("/email/brands/"))
    assert sales_client.get(design(email, "preview")).status_code == 200
    assert design(email, "design") not in content(sales_client.get(email.get_absolute_url()))
    for method, url in [("get", "/email/new/"), ("get", design(email, "design")), ("get", design(email, "settings")),
                        ("post", design(email, "block_add")), ("post", design(email, "block_update", 0)),
                        ("post", design(email, "block_move", 0)), ("post", design(email, "block_remove", 0)),
                        ("post", design(email, "publish")), ("post", design(email, "send_test")),
                        ("get", "/email/senders/new/"), ("get", "/email/brands/new/"),
                        ("get", "/email/content-blocks/new/")]:
        assert getattr(sales_client, method)(url).status_code == 403, url
    assert len(blocks_of(email)) == 2 and not email.versions.exists()


def test_marketer_creates_an_email_and_lands_in_the_designer(marketer_client, marketer):
    page = content(marketer_client.get("/email/new/"))
    assert "Create a sender profile" in page and "Create a brand profile" in page  # none exist yet
    sender = SenderProfile.objects.create(name="S", from_name="Contoso", from_email="hello@contoso.test")
    brand = BrandProfile.objects.create(name="Contoso", postal_address="1 Bean Street")
    response = marketer_client.post("/email/new/", {
        "name": "Spring launch", "key": "", "subject": 'Hi {{ contact.first_name | default: "there" }}',
        "preheader": "Cold brew is back", "sender": sender.pk, "brand": brand.pk, "purpose": "commercial"})
    email = Email.objects.get()
    assert response.status_code == 302 and response["Location"] == design(email, "design")
    assert (email.key, email.created_by, email.status, email.blocks) == ("spring-launch", marketer, "draft", [])
    page = content(marketer_client.get(response["Location"]))
    assert "No blocks yet" in page and "Spring launch" in page


def test_the_create_form_refuses_a_malformed_subject_token(marketer_client, sender, brand):
    response = marketer_client.post("/email/new/", {
        "name": "Broken", "key": "broken", "subject": "Hi {{ first name }}", "sender": sender.pk, "brand": brand.pk,
        "purpose": "commercial"})
    assert response.status_code == 200 and "malformed personalization token" in content(response)
    assert not Email.objects.exists()


# --- The designer -------------------------------------------------------------------------------------
def test_blocks_are_added_edited_reordered_and_removed(marketer_client, make_email):
    email = blank(make_email())
    for kind in ("heading", "text", "button"):
        response = add_block(marketer_client, email, kind)
        assert response.status_code == 200
    assert [b["type"] for b in blocks_of(email)] == ["heading", "text", "button"]
    assert 'id="designer-issues" class="designer-issues" aria-live="polite" hx-swap-oob="true"' in content(response)

    edit_block(marketer_client, email, 0, "heading", text="Spring is here", level="2")
    edit_block(marketer_client, email, 2, "button", text="Order now", href="https://contoso.test/order", color="")
    assert blocks_of(email)[0] == {"type": "heading", "text": "Spring is here", "level": 2}
    assert blocks_of(email)[2] == {"type": "button", "text": "Order now", "href": "https://contoso.test/order"}

    marketer_client.post(design(email, "block_move", 2), {"type": "button", "direction": "up"}, **HTMX)
    assert [b["type"] for b in blocks_of(email)] == ["heading", "button", "text"]
    marketer_client.post(design(email, "block_move", 0), {"type": "heading", "direction": "down"}, **HTMX)
    assert [b["type"] for b in blocks_of(email)] == ["button", "heading", "text"]

    response = marketer_client.post(design(email, "block_remove", 2), {"type": "text"}, **HTMX)
    assert [b["type"] for b in blocks_of(email)] == ["button", "heading"]
    assert "Text block removed." in content(response)


def test_every_block_type_can_be_added_and_compiles_once_filled_in(marketer_client, make_email):
    email = blank(make_email())
    ContentBlock.objects.create(key="footer", name="Footer", blocks=[{"type": "text", "html": "<p>Bye</p>"}])
    for kind in ("heading", "text", "image", "button", "divider", "spacer", "columns", "social", "html",
                 "content_block"):
        assert add_block(marketer_client, email, kind).status_code == 200
    edit_block(marketer_client, email, 2, "image", src="https://contoso.test/beans.png", alt="Beans", href="")
    edit_block(marketer_client, email, 3, "button", text="Go", href="https://contoso.test", color="#00aa00")
    edit_block(marketer_client, email, 5, "spacer", height="40")
    edit_block(marketer_client, email, 6, "columns", count="2", column_1='[{"type": "text", "html": "<p>A</p>"}]',
               column_2='[{"type": "heading", "text": "B"}]')
    edit_block(marketer_client, email, 7, "social", links="linkedin https://linkedin.com/company/contoso\nx https://x.com/c")
    blocks = blocks_of(email)
    assert blocks[5]["height"] == 40 and blocks[3]["color"] == "#00aa00"
    assert blocks[6]["columns"][1] == [{"type": "heading", "text": "B"}]
    assert blocks[7]["links"][0] == {"name": "linkedin", "href": "https://linkedin.com/company/contoso"}
    assert blocks[9] == {"type": "content_block", "key": "footer"}
    assert services.check_email(email) == []


def test_a_block_that_breaks_the_email_is_saved_and_its_problem_shown(marketer_client, make_email):
    email = make_email()
    add_block(marketer_client, email, "button")
    response = edit_block(marketer_client, email, 2, "button", text="Buy", href="not a link", color="")
    assert blocks_of(email)[2]["href"] == "not a link"  # the draft keeps what was typed
    page = content(response)
    assert "A button needs a link (https://…)" in page  # on the block
    assert "Block 3: a button needs a link" in page  # and in the problems beside the designer
    assert "Block 3 saved." in page


def test_an_unknown_token_is_saved_and_named(marketer_client, make_email):
    email = make_email()
    response = edit_block(marketer_client, email, 0, "heading", text="Hi {{ contact.shoe_size }}", level="1")
    assert blocks_of(email)[0]["text"] == "Hi {{ contact.shoe_size }}"
    assert "Unknown token {{ contact.shoe_size }}" in content(response)
    assert "content: unknown token" in content(response).lower()


def test_input_that_cannot_be_stored_is_refused_with_the_typed_text_kept(marketer_client, make_email):
    email = make_email()
    before = blocks_of(email)
    response = edit_block(marketer_client, email, 0, "heading", text="Still here", level="1",
                          condition='{"version": 1, "match": ')
    assert blocks_of(email) == before
    page = content(response)
    assert "The condition is not valid JSON" in page
    assert "Still here" in page and "Block 1 was not saved" in page
    add_block(marketer_client, email, "spacer")
    response = edit_block(marketer_client, email, 2, "spacer", height="tall")
    assert blocks_of(email)[2]["height"] == 20 and "Enter a whole number" in content(response)


def test_a_block_condition_is_checked_as_a_segment_query(marketer_client, make_email):
    email = make_email()
    bad = {"version": 1, "match": "all", "conditions": [{"type": "attribute", "field": "shoe_size", "op": "equals",
                                                         "value": "9"}]}
    response = edit_block(marketer_client, email, 1, "text", html="<p>Big feet</p>", condition=json.dumps(bad))
    assert blocks_of(email)[1]["condition"] == bad
    assert "Condition: conditions[0].field: unknown contact field" in content(response)
    response = edit_block(marketer_client, email, 1, "text", html="<p>Howdy</p>", condition=json.dumps(TEXAS))
    assert blocks_of(email)[1]["condition"] == TEXAS
    assert "Conditional" in content(response) and "Condition:" not in content(response)


def test_an_edit_from_a_stale_page_changes_nothing(marketer_client, make_email):
    email = make_email()
    before = blocks_of(email)
    response = edit_block(marketer_client, email, 0, "button", text="Oops", href="https://x.test")
    assert blocks_of(email) == before and "changed in another window" in content(response)
    marketer_client.post(design(email, "block_remove", 0), {"type": "text"}, **HTMX)
    assert blocks_of(email) == before


def test_without_htmx_an_edit_redirects_back_to_the_designer(marketer_client, make_email):
    email = make_email()
    response = marketer_client.post(design(email, "block_add"), {"type": "divider"})
    assert response.status_code == 302 and response["Location"] == design(email, "design")
    assert blocks_of(email)[-1] == {"type": "divider"}


# --- Preview, test send, publish --------------------------------------------------------------------
def test_the_preview_is_personalized_for_a_chosen_contact(marketer_client, make_email, ada):
    email = make_email()
    page = content(marketer_client.get(design(email, "preview_people"), {"q": "engines"}, **HTMX))
    assert "ada@engines.example" in page and f"?contact={ada.pk}" in page
    response = marketer_client.get(design(email, "preview_panel"), {"contact": ada.pk}, **HTMX)
    page = content(response)
    assert "Hello Ada, try our" in page and "Hi Ada" in page and "Ada Lovelace" in page
    designer = content(marketer_client.get(design(email, "design")))  # the choice is kept
    assert "Hello Ada, try our" in designer
    page = content(marketer_client.get(design(email, "preview_panel"), {"contact": ""}, **HTMX))
    assert "Hello friend" in page


def test_the_plain_text_alternative_can_be_viewed(marketer_client, make_email, ada):
    email = make_email()
    response = marketer_client.get(design(email, "preview"), {"contact": ada.pk, "format": "text"})
    assert response["Content-Type"].startswith("text/plain")
    text = content(response)
    assert text.startswith("Subject: Hi Ada\n")
    assert "Hello Ada, try our cold brew (https://contoso.test/cold-brew)" in text
    html = marketer_client.get(design(email, "preview"))  # the chosen contact is kept
    assert "sandbox" in html["Content-Security-Policy"] and "Hello Ada, try our" in content(html)


def test_publish_creates_version_1_then_2(marketer_client, make_email, marketer):
    email = make_email()
    response = marketer_client.post(design(email, "publish"), follow=True)
    assert "Published version 1 of “Spring”" in content(response)
    edit_block(marketer_client, email, 0, "heading", text="Summer is here", level="1")
    assert "Unpublished changes" in content(marketer_client.get(design(email, "design")))
    response = marketer_client.post(design(email, "publish"), follow=True)
    assert "Published version 2 of “Spring”" in content(response)
    assert list(email.versions.values_list("number", "blocks__0__text")) == [(2, "Summer is here"),
                                                                             (1, "Spring is here")]
    email.refresh_from_db()
    assert email.status == "ready" and email.versions.first().published_by == marketer
    assert "The published version matches the draft" in content(response)


def test_publish_shows_what_stops_it(marketer_client, make_email, brand):
    brand.postal_address = ""
    brand.save()
    email = make_email()
    response = marketer_client.post(design(email, "publish"), follow=True)
    assert "Not published: A commercial email needs the brand&#x27;s postal address" in content(response)
    assert not email.versions.exists()


def test_a_test_send_reaches_the_mail_server_without_consent_or_tracking(marketer_client, make_email, smtp_server,
                                                                         ada):
    email = make_email()
    marketer_client.get(design(email, "preview_panel"), {"contact": ada.pk}, **HTMX)
    response = marketer_client.post(design(email, "send_test"), {"to": "qa@contoso.test"}, **HTMX)
    assert "Test sent to qa@contoso.test, personalized for Ada Lovelace." in content(response)
    [message] = smtp_server.messages
    assert message["Subject"] == "[Test] Hi Ada" and message["To"] == "qa@contoso.test"
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Hello Ada" in html and 'href="https://contoso.test/cold-brew"' in html
    assert "/t/c/" not in html and "/t/o/" not in html and "/preferences/" not in html
    assert not Delivery.objects.exists()


def test_a_test_send_needs_a_valid_address(marketer_client, make_email, smtp_server):
    response = marketer_client.post(design(make_email(), "send_test"), {"to": "nobody"}, **HTMX)
    assert "Enter a valid email address." in content(response) and smtp_server.messages == []


# --- The email page -------------------------------------------------------------------------------
def test_the_email_page_totals_deliveries_per_version(marketer_client, make_email, smtp_server, now):
    email = make_email()
    readers = [subscribed(now, email=f"reader{i}@example.com") for i in range(3)]
    deliver(email, *readers, ContactFactory(email="noconsent@example.com"), now=now)
    first, second = Delivery.objects.filter(status="sent").order_by("id")[:2]
    feedback.record_open(first.pk, now=now)
    feedback.record_click(second.pk, 0, now=now)  # a click counts as an open too
    services.publish(email, now=now + datetime.timedelta(hours=1))
    services.queue_email(email, person=readers[0], idempotency_key="v2", now=now)

    response = marketer_client.get(email.get_absolute_url())
    overall = response.context["overall"]
    assert (overall.sent, overall.suppressed, overall.queued, overall.opened, overall.clicked) == (3, 1, 1, 2, 1)
    assert round(overall.open_rate, 1) == 66.7 and round(overall.click_rate, 1) == 33.3
    v2, v1 = response.context["versions"]
    assert (v2.version.number, v2.totals.queued, v2.totals.sent) == (2, 1, 0)
    assert (v1.version.number, v1.totals.sent, v1.totals.suppressed) == (1, 3, 1)
    assert response.context["reasons"] == [{"reason": "no consent for commercial email", "count": 1}]
    page = content(response)
    assert "66.7%" in page and "33.3%" in page and "No consent for commercial email" in page
    assert "A/B results appear here once journeys send this email." in page

    log = content(marketer_client.get(email.get_absolute_url(), {"q": "reader1"}, **HTMX))
    assert "reader1@example.com" in log and "reader2@example.com" not in log and "<html" not in log


def test_the_email_list_shows_status_version_and_rates(marketer_client, make_email, smtp_server, now):
    email = make_email()
    make_email(name="Draft only")
    deliver(email, subscribed(now), now=now)
    feedback.record_open(Delivery.objects.get().pk, now=now)
    page = content(marketer_client.get("/email/"))
    assert "v1" in page and "100.0%" in page and "Not published" in page and "Ready" in page
    rows = content(marketer_client.get("/email/", {"q": "draft"}, **HTMX))
    assert "Draft only" in rows and "Spring" not in rows


def test_list_pages_run_a_fixed_number_of_queries(marketer_client, make_email, smtp_server, now,
                                                  django_assert_max_num_queries):
    def grow(n):
        for i in range(n):
            deliver(make_email(name=f"Email {Email.objects.count()} {i}"), subscribed(now), now=now)
        SenderProfile.objects.create(name=f"S{n}", from_name="S", from_email=f"s{n}@contoso.test")
        BrandProfile.objects.create(name=f"B{n}", postal_address="1 Bean Street")
        ContentBlock.objects.create(key=f"cb{n}", name=f"Block {n}")

    for n in (2, 8):
        grow(n)
        for url, limit in [("/email/", 7), ("/email/senders/", 5), ("/email/brands/", 5),
                           ("/email/content-blocks/", 5)]:
            with django_assert_max_num_queries(limit):
                assert marketer_client.get(url).status_code == 200
        email = Email.objects.first()
        with django_assert_max_num_queries(11):
            assert marketer_client.get(email.get_absolute_url()).status_code == 200
        with django_assert_max_num_queries(15):
            assert marketer_client.get(design(email, "design")).status_code == 200


def test_a_contact_page_lists_the_contacts_emails(marketer_client, make_email, smtp_server, now):
    email = make_email()
    reader = subscribed(now)
    deliver(email, reader, now=now)
    assert reverse("channels:contact_deliveries", args=[reader.pk]) in content(
        marketer_client.get(reader.get_absolute_url()))
    card = content(marketer_client.get(reverse("channels:contact_deliveries", args=[reader.pk]), **HTMX))
    assert "Spring" in card and "Sent" in card and email.get_absolute_url() in card


# --- Profiles and content blocks ----------------------------------------------------------------------
def sender_form(**fields):
    return {"name": "News", "from_name": "Contoso", "from_email": "news@contoso.test", "dkim_selector": "wm",
            "dkim_private_key": "", **fields}


def brand_form(**fields):
    return {"name": "Contoso", "primary_color": "#112233", "text_color": "#000000", "background_color": "#ffffff",
            "font_family": "Georgia, serif", "postal_address": "1 Bean Street", **fields}


def test_a_dkim_key_is_never_shown_back(marketer_client, dkim_keys):
    private, _public = dkim_keys
    response = marketer_client.post("/email/senders/new/", sender_form(dkim_private_key=private))
    sender = SenderProfile.objects.get()
    assert response.status_code == 302 and sender.dkim_private_key.strip() == private.strip()
    listing = content(marketer_client.get("/email/senders/"))
    assert "Key set" in listing and "BEGIN PRIVATE KEY" not in listing
    page = content(marketer_client.get(f"/email/senders/{sender.pk}/"))
    assert "DKIM key set" in page and private.splitlines()[1] not in page
    marketer_client.post(f"/email/senders/{sender.pk}/", sender_form(from_name="Contoso News"))  # empty: kept
    sender.refresh_from_db()
    assert sender.from_name == "Contoso News" and sender.dkim_private_key.strip() == private.strip()
    marketer_client.post(f"/email/senders/{sender.pk}/", sender_form(remove_key="on"))
    sender.refresh_from_db()
    assert sender.dkim_private_key == ""


def test_a_sender_form_refuses_a_key_that_is_not_pem(marketer_client):
    response = marketer_client.post("/email/senders/new/", sender_form(dkim_private_key="hunter2"))
    assert "This is not a PEM private key" in content(response) and not SenderProfile.objects.exists()


def test_brand_profiles_are_created_and_edited(marketer_client):
    response = marketer_client.post("/email/brands/new/", brand_form())
    brand = BrandProfile.objects.get()
    assert response.status_code == 302 and brand.primary_color == "#112233"
    response = marketer_client.post(f"/email/brands/{brand.pk}/", brand_form(primary_color="red"))
    assert "Use a colour like #4f46e5." in content(response)
    assert "#112233" in content(marketer_client.get("/email/brands/"))


def test_content_blocks_are_designed_with_the_same_designer(marketer_client, make_email, ada):
    response = marketer_client.post("/email/content-blocks/new/", {"name": "Footer", "key": "footer"})
    block = ContentBlock.objects.get()
    url = reverse("channels:content_block_design", args=[block.pk])
    assert response["Location"] == url
    marketer_client.post(reverse("channels:content_block_block_add", args=[block.pk]), {"type": "text"}, **HTMX)
    response = marketer_client.post(reverse("channels:content_block_block_update", args=[block.pk, 0]), {
        "type": "text", "b0-html": '<p>See you, {{ contact.first_name | default: "friend" }}</p>'}, **HTMX)
    block.refresh_from_db()
    assert block.blocks == [{"type": "text", "html": '<p>See you, {{ contact.first_name | default: "friend" }}</p>'}]
    assert "See you, friend" in content(response) and "No problems found" in content(response)
    email = make_email(blocks=[{"type": "content_block", "key": "footer"}])
    page = content(marketer_client.get(design(email, "preview_panel"), {"contact": ada.pk}, **HTMX))
    assert "See you, Ada" in page


def test_a_content_block_with_a_broken_block_names_it(marketer_client):
    block = ContentBlock.objects.create(key="promo", name="Promo", blocks=[
        {"type": "text", "html": "<p>ok</p>"}, {"type": "image", "src": "ftp://nope"}])
    page = content(marketer_client.get(reverse("channels:content_block_design", args=[block.pk])))
    assert "Block 2: an image needs an http(s) address" in page


def test_a_user_without_a_role_cannot_read_emails(client, make_email):
    user = UserFactory(username="nobody")
    user.save()  # keep the password set after creation, or the login session is invalidated
    client.force_login(user)
    assert client.get("/email/").status_code == 403
    assert client.get(make_email().get_absolute_url()).status_code == 403


def test_a_published_emails_key_cannot_change(marketer_client, make_email, now):
    email = make_email()
    data = {"name": "Renamed", "key": "", "subject": "Hi", "sender": email.sender_id, "brand": email.brand_id,
            "purpose": "commercial"}
    marketer_client.post(design(email, "settings"), data)
    email.refresh_from_db()
    assert (email.name, email.key) == ("Renamed", "spring")  # empty keeps the key
    services.publish(email, now=now)
    marketer_client.post(design(email, "settings"), {**data, "key": "other"})
    email.refresh_from_db()
    assert email.key == "spring"
