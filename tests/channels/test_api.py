"""The email REST API: emails are written, published, previewed and sent with the same services as
the designer; deliveries are read; the DKIM private key goes in and never comes out."""

import pytest
from django.test import Client
from django.utils import timezone

from channels import services
from channels.models import BrandProfile, ContentBlock, Delivery, Email, SenderProfile
from contacts.models import APIKey
from tests.factories import ContactFactory, LeadFactory, TopicFactory

pytestmark = pytest.mark.django_db
EMAILS, DELIVERIES = "/api/emails/", "/api/deliveries/"
SENDERS, BRANDS, BLOCKS = "/api/sender-profiles/", "/api/brand-profiles/", "/api/content-blocks/"


def key_client(user, scope=APIKey.Scope.WRITE) -> Client:
    key = APIKey(name="Shop", user=user, scope=scope)
    raw_key = key.generate()
    key.save()
    return Client(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")


@pytest.fixture
def api(marketer):
    return key_client(marketer)


@pytest.fixture
def receipt(make_email, now):
    """A published transactional email, as an integrator's shop would send."""
    email = make_email(name="Receipt", purpose=Email.Purpose.TRANSACTIONAL,
                       subject='Your order {{ trigger.order | default: "" }}')
    services.publish(email, now=now)
    return email


def post(client, path, data):
    return client.post(path, data, content_type="application/json")


# --- Emails ------------------------------------------------------------------------------------------
def test_an_email_is_created_as_a_draft_by_the_caller(api, marketer, sender, brand):
    topic = TopicFactory(key="news")
    response = post(api, EMAILS, {"name": "Spring", "key": "spring", "subject": "Hi", "sender": sender.pk,
                                  "brand": brand.pk, "topic": "news",
                                  "blocks": [{"type": "heading", "text": "Spring is here"}]})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["latest_version"], body["topic"]) == ("draft", None, "news")
    email = Email.objects.get()
    assert (email.created_by, email.topic) == (marketer, topic)


def test_blocks_of_unknown_types_are_refused(api, sender, brand):
    response = post(api, EMAILS, {"name": "X", "key": "x", "subject": "Hi", "sender": sender.pk, "brand": brand.pk,
                                  "blocks": [{"type": "marquee"}]})
    assert response.status_code == 400
    assert "unknown block type 'marquee'" in response.json()["blocks"][0]


def test_emails_are_listed_filtered_and_searched(api, make_email):
    make_email(name="Spring")
    make_email(name="Receipt", purpose=Email.Purpose.TRANSACTIONAL)
    assert [e["name"] for e in api.get(EMAILS, {"purpose": "transactional"}).json()["results"]] == ["Receipt"]
    assert [e["name"] for e in api.get(EMAILS, {"search": "spr"}).json()["results"]] == ["Spring"]


def test_publishing_freezes_numbered_versions(api, make_email):
    email = make_email()
    first = post(api, f"{EMAILS}{email.pk}/publish/", {})
    assert first.status_code == 201
    assert first.json()["number"] == 1 and "{{ __link.0 }}" in first.json()["html"]
    Email.objects.filter(pk=email.pk).update(subject="Hello again")
    assert post(api, f"{EMAILS}{email.pk}/publish/", {}).json()["number"] == 2
    versions = api.get(f"{EMAILS}{email.pk}/versions/").json()
    assert [(v["number"], v["subject"]) for v in versions["results"]] == [
        (2, "Hello again"), (1, 'Hi {{ contact.first_name | default: "there" }}')]
    detail = api.get(f"{EMAILS}{email.pk}/").json()
    assert (detail["status"], detail["latest_version"]) == ("ready", 2)


def test_publishing_an_invalid_email_answers_400_with_every_problem(api, make_email, brand):
    brand.postal_address = ""
    brand.save()
    email = make_email(subject="Hi {{ contact.shoe_size }}")
    response = post(api, f"{EMAILS}{email.pk}/publish/", {})
    assert response.status_code == 400
    assert response.json()["non_field_errors"] == [
        "subject: unknown token {{ contact.shoe_size }}",
        "a commercial email needs the brand's postal address in its footer",
    ]
    assert not email.versions.exists()


def test_a_preview_renders_the_draft_as_a_contact_would_see_it(api, make_email):
    email = make_email()
    ann = ContactFactory(first_name="Ann")
    response = post(api, f"{EMAILS}{email.pk}/preview/", {"contact": ann.pk})
    assert response.status_code == 200
    body = response.json()
    assert body["subject"] == "Hi Ann"
    assert "Hello Ann" in body["html"] and 'href="https://contoso.test/cold-brew"' in body["html"]
    assert "Hello Ann" in body["text"]


def test_a_preview_without_a_person_shows_the_fallbacks(api, make_email):
    body = post(api, f"{EMAILS}{make_email().pk}/preview/", {}).json()
    assert body["subject"] == "Hi there" and "Hello friend" in body["html"]


def test_a_preview_of_broken_blocks_or_an_unknown_person_answers_400(api, make_email):
    broken = make_email(blocks=[{"type": "content_block", "key": "nope"}])
    response = post(api, f"{EMAILS}{broken.pk}/preview/", {})
    assert response.status_code == 400
    assert "no content block 'nope'" in response.json()["non_field_errors"][0]
    response = post(api, f"{EMAILS}{make_email(name='Other').pk}/preview/", {"lead": 999999})
    assert response.status_code == 400 and response.json() == {"lead": ["No lead with id 999999."]}


def test_a_read_only_key_may_preview_but_not_send(marketer, receipt):
    reader = key_client(marketer, scope=APIKey.Scope.READ)
    assert post(reader, f"{EMAILS}{receipt.pk}/preview/", {}).status_code == 200
    response = post(reader, f"{EMAILS}{receipt.pk}/send/", {"contact": ContactFactory().pk, "idempotency_key": "1"})
    assert response.status_code == 403
    assert not Delivery.objects.exists()


def test_an_email_still_sent_somewhere_cannot_be_deleted(api, receipt, make_email, now):
    services.queue_email(receipt, person=ContactFactory(), idempotency_key="k", now=now)
    response = api.delete(f"{EMAILS}{receipt.pk}/")
    assert response.status_code == 409 and "deliveries" in response.json()["detail"]
    assert api.delete(f"{EMAILS}{make_email(name='Unused').pk}/").status_code == 204


# --- Sending -----------------------------------------------------------------------------------------
def test_an_integrator_sends_a_transactional_email_once_per_idempotency_key(api, receipt, smtp_server):
    ann = ContactFactory(email="ann@example.com")  # no marketing consent: a receipt does not need it
    data = {"contact": ann.pk, "idempotency_key": "order-1001", "context": {"trigger": {"order": "A-1001"}}}
    first = post(api, f"{EMAILS}{receipt.pk}/send/", data)
    assert first.status_code == 201, first.json()
    assert (first.json()["status"], first.json()["idempotency_key"]) == ("queued", "api:order-1001")
    again = post(api, f"{EMAILS}{receipt.pk}/send/", data)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    services.send_queued(now=timezone.now())  # the API queues at the time of the request
    (message,) = smtp_server.messages
    assert message["To"] == "ann@example.com" and message["Subject"] == "Your order A-1001"


def test_a_send_to_a_lead_is_queued_for_the_lead(api, receipt):
    lead = LeadFactory()
    response = post(api, f"{EMAILS}{receipt.pk}/send/", {"lead": lead.pk, "idempotency_key": "l-1"})
    assert response.status_code == 201
    assert Delivery.objects.get().lead == lead


def test_an_idempotency_key_reused_for_another_person_is_a_conflict(api, receipt):
    post(api, f"{EMAILS}{receipt.pk}/send/", {"contact": ContactFactory().pk, "idempotency_key": "k"})
    response = post(api, f"{EMAILS}{receipt.pk}/send/", {"contact": ContactFactory().pk, "idempotency_key": "k"})
    assert response.status_code == 409
    assert Delivery.objects.count() == 1


@pytest.mark.parametrize(
    ("case", "field", "message"),
    [
        ("unpublished", "non_field_errors", "has no published version yet"),
        ("no_address", "contact", "This person has no email address."),
        ("no_person", "contact", "Give a contact or a lead."),
    ],
)
def test_a_send_that_cannot_be_queued_answers_400(api, make_email, receipt, case, field, message):
    email = make_email(name="Draft") if case == "unpublished" else receipt
    data = {"idempotency_key": "k"}
    if case != "no_person":
        data["contact"] = ContactFactory(email=None if case == "no_address" else "ann@example.com").pk
    response = post(api, f"{EMAILS}{email.pk}/send/", data)
    assert response.status_code == 400
    assert message in response.json()[field][0]
    assert not Delivery.objects.exists()


def test_sales_users_read_emails_and_deliveries_but_do_not_send(sales_user, receipt):
    sales = key_client(sales_user)
    assert sales.get(EMAILS).status_code == 200
    assert sales.get(DELIVERIES).status_code == 200
    response = post(sales, f"{EMAILS}{receipt.pk}/send/", {"contact": ContactFactory().pk, "idempotency_key": "k"})
    assert response.status_code == 403
    assert post(sales, f"{EMAILS}{receipt.pk}/publish/", {}).status_code == 403


# --- Deliveries --------------------------------------------------------------------------------------
def test_deliveries_are_filtered_by_email_person_and_status(api, receipt, make_email, now):
    ann, bob, lead = ContactFactory(), ContactFactory(), LeadFactory()
    other = make_email(name="Other", purpose=Email.Purpose.TRANSACTIONAL)
    services.publish(other, now=now)
    services.queue_email(receipt, person=ann, idempotency_key="a", now=now)
    services.queue_email(receipt, person=lead, idempotency_key="l", now=now)
    services.queue_email(other, person=bob, idempotency_key="b", now=now)
    Delivery.objects.filter(idempotency_key="b").update(status=Delivery.Status.BOUNCED)

    def keys(**query):
        return sorted(d["idempotency_key"] for d in api.get(DELIVERIES, query).json()["results"])

    assert keys(email=receipt.pk) == ["a", "l"]
    assert keys(contact=ann.pk) == ["a"]
    assert keys(lead=lead.pk) == ["l"]
    assert keys(status="bounced") == ["b"]
    assert keys(email_key="other") == ["b"]
    row = api.get(f"{DELIVERIES}{Delivery.objects.get(idempotency_key='a').pk}/").json()
    assert (row["email_key"], row["version"], row["to_address"]) == ("receipt", 1, ann.email)


def test_deliveries_are_read_only(api, receipt, now):
    delivery = services.queue_email(receipt, person=ContactFactory(), idempotency_key="a", now=now)
    assert post(api, DELIVERIES, {"email": receipt.pk}).status_code == 405
    assert api.delete(f"{DELIVERIES}{delivery.pk}/").status_code == 405


def test_the_deliveries_list_runs_a_fixed_number_of_queries(marketer_client, receipt, now,
                                                             django_assert_max_num_queries):
    for n in range(30):
        services.queue_email(receipt, person=ContactFactory(), idempotency_key=f"k{n}", now=now)
    # session, user, user and group permissions, count, page: not one query per delivery.
    with django_assert_max_num_queries(6):
        response = marketer_client.get(DELIVERIES)
    assert len(response.json()["results"]) == 30


# --- Sender and brand profiles, content blocks --------------------------------------------------------
def test_the_dkim_private_key_is_written_but_never_returned(api, dkim_keys):
    private, _public = dkim_keys
    response = post(api, SENDERS, {"name": "Contoso", "from_name": "Contoso", "from_email": "Hello@Contoso.test",
                                   "dkim_selector": "waymark", "dkim_private_key": private})
    assert response.status_code == 201, response.json()
    assert "dkim_private_key" not in response.json() and response.json()["dkim_key_set"] is True
    assert response.json()["domain"] == "contoso.test"
    sender = SenderProfile.objects.get()
    assert sender.dkim_private_key == private.strip() or sender.dkim_private_key == private
    listed = api.get(SENDERS).content.decode()
    assert "PRIVATE KEY" not in listed
    api.patch(f"{SENDERS}{sender.pk}/", {"from_name": "Contoso Café"}, content_type="application/json")
    sender.refresh_from_db()
    assert sender.dkim_private_key and sender.from_name == "Contoso Café"
    cleared = api.patch(f"{SENDERS}{sender.pk}/", {"dkim_private_key": ""}, content_type="application/json")
    assert cleared.json()["dkim_key_set"] is False


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [({"dkim_selector": "waymark", "dkim_private_key": "-----BEGIN nonsense"}, "dkim_private_key"),
     ({"dkim_selector": "", "dkim_private_key": "KEY"}, "dkim_selector")],
    ids=["malformed key", "key without selector"],
)
def test_a_bad_dkim_setup_is_refused(api, dkim_keys, fields, error_field):
    if fields["dkim_private_key"] == "KEY":
        fields = {**fields, "dkim_private_key": dkim_keys[0]}
    response = post(api, SENDERS, {"name": "C", "from_name": "C", "from_email": "c@contoso.test", **fields})
    assert response.status_code == 400 and error_field in response.json()


def test_brand_colours_are_checked_and_a_brand_in_use_is_not_deleted(api, make_email):
    response = post(api, BRANDS, {"name": "B", "postal_address": "1 Street", "primary_color": "red"})
    assert response.status_code == 400 and "primary_color" in response.json()
    email = make_email()
    response = api.delete(f"{BRANDS}{email.brand_id}/")
    assert response.status_code == 409 and "emails" in response.json()["detail"]
    assert BrandProfile.objects.filter(pk=email.brand_id).exists()


def test_content_blocks_are_managed_and_used_at_publish(api, make_email, now):
    response = post(api, BLOCKS, {"key": "promo", "name": "Promo",
                                  "blocks": [{"type": "text", "html": "<p>10% off</p>"}]})
    assert response.status_code == 201
    block_id = response.json()["id"]
    email = make_email(blocks=[{"type": "content_block", "key": "promo"}])
    assert "10% off" in services.publish(email, now=now).html
    assert api.patch(f"{BLOCKS}{block_id}/", {"blocks": "nope"}, content_type="application/json").status_code == 400
    assert api.delete(f"{BLOCKS}{block_id}/").status_code == 204
    assert not ContentBlock.objects.exists()


# --- The schema --------------------------------------------------------------------------------------
def test_the_schema_describes_the_email_api_and_keeps_the_key_write_only(client):
    schema = client.get("/api/schema/?format=json").json()
    assert {"/api/emails/{id}/publish/", "/api/emails/{id}/send/", "/api/emails/{id}/preview/",
            "/api/emails/{id}/versions/", "/api/deliveries/", "/api/sender-profiles/"} <= set(schema["paths"])
    assert "dkim_private_key" not in schema["components"]["schemas"]["SenderProfile"]["properties"]
    assert "dkim_private_key" in schema["components"]["schemas"]["SenderProfileRequest"]["properties"]
