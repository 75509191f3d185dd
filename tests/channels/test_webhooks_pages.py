"""Webhooks are reachable everywhere: the REST API (secret shown once, rotation, test events, the
delivery log and retry), the Django admin, and the marketer's pages — a test event sent from the
page really arrives at a receiver, signed."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from channels import services
from channels.models import WebhookDelivery, WebhookEndpoint
from contacts.models import APIKey
from tests.channels import webhook_receiver
from tests.channels.test_api import key_client, post
from tests.channels.webhook_receiver import verify
from tests.factories import ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db
receiver = webhook_receiver.receiver  # the fixture
ENDPOINTS, DELIVERIES = "/api/webhook-endpoints/", "/api/webhook-deliveries/"


@pytest.fixture
def api(marketer):
    return key_client(marketer)


@pytest.fixture
def endpoint(receiver):
    return WebhookEndpoint.objects.create(name="CRM", url=receiver.url)


@pytest.fixture
def failed(endpoint, receiver, now):
    """A delivery the receiver refused (400)."""
    receiver.reply(400, body="no")
    delivery = services.queue_webhook(endpoint, person=ContactFactory(email="ann@example.com"), payload={"n": 1},
                                      idempotency_key="k1", now=now)
    services.send_queued_webhooks(now=now)
    delivery.refresh_from_db()
    return delivery


def page(response) -> str:
    return response.content.decode()


# --- REST API --------------------------------------------------------------------------------------------
def test_an_endpoint_is_created_with_its_secret_shown_once(api, receiver):
    response = post(api, ENDPOINTS, {"name": "CRM", "url": receiver.url, "timeout_seconds": 5})
    assert response.status_code == 201, response.json()
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret and body["secret"].startswith("whsec_")
    again = api.get(f"{ENDPOINTS}{endpoint.pk}/").json()
    assert "secret" not in again and again["timeout_seconds"] == 5
    assert "secret" not in api.get(ENDPOINTS).json()["results"][0]


@pytest.mark.parametrize(("url", "message"), [
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://localhost:8000/hook", "loopback"),
    ("https://user:pw@example.com/hook", "Credentials"),
])
def test_internal_urls_are_refused_with_the_reason(api, settings, url, message):
    settings.WAYMARK_WEBHOOK_ALLOWED_HOSTS = []
    response = post(api, ENDPOINTS, {"name": "Bad", "url": url})
    assert response.status_code == 400
    assert message in response.json()["url"][0]
    assert not WebhookEndpoint.objects.exists()


def test_a_bad_url_on_update_keeps_the_stored_one(api, endpoint, settings):
    settings.WAYMARK_WEBHOOK_ALLOWED_HOSTS = []
    response = api.patch(f"{ENDPOINTS}{endpoint.pk}/", {"url": "http://10.0.0.1/"}, content_type="application/json")
    assert response.status_code == 400
    endpoint.refresh_from_db()
    assert endpoint.url.startswith("http://127.0.0.1:")


def test_rotating_answers_the_new_secret_and_keeps_the_old_one_signing_for_a_while(api, endpoint):
    old = endpoint.secret
    response = post(api, f"{ENDPOINTS}{endpoint.pk}/rotate-secret/", {})
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert response.json()["secret"] == endpoint.secret != old
    assert endpoint.previous_secret == old and response.json()["previous_secret_expires_at"]


def test_a_test_event_is_queued_and_delivered_signed(api, endpoint, receiver, django_capture_on_commit_callbacks):
    lead = LeadFactory(email="lee@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, f"{ENDPOINTS}{endpoint.pk}/test/", {"lead": lead.pk})
    assert response.status_code == 201, response.json()
    assert response.json()["event_type"] == "webhook.test" and response.json()["lead"] == lead.pk
    (request,) = receiver.requests
    assert verify(endpoint.secret, request["headers"], request["body"], now_ts=int(timezone.now().timestamp()))
    assert json.loads(request["body"])["data"]["person"]["email"] == "lee@example.com"
    assert api.get(f"{DELIVERIES}{response.json()['id']}/").json()["status"] == "delivered"


def test_a_deactivated_endpoint_gets_no_test_event(api, endpoint):
    endpoint.active = False
    endpoint.save()
    response = post(api, f"{ENDPOINTS}{endpoint.pk}/test/", {"contact": ContactFactory().pk})
    assert response.status_code == 400 and "deactivated" in response.json()["non_field_errors"][0]
    assert not WebhookDelivery.objects.exists()


def test_a_test_event_needs_a_person(api, endpoint):
    response = post(api, f"{ENDPOINTS}{endpoint.pk}/test/", {})
    assert response.status_code == 400 and "contact" in response.json()


def test_deliveries_are_listed_filtered_and_retried(api, failed, endpoint, now):
    rows = api.get(DELIVERIES, {"endpoint": endpoint.pk, "status": "failed"}).json()["results"]
    assert [(r["id"], r["response_code"], r["attempts"]) for r in rows] == [(failed.pk, 400, 1)]
    assert api.get(DELIVERIES, {"status": "delivered"}).json()["count"] == 0
    response = post(api, f"{DELIVERIES}{failed.pk}/retry/", {})
    assert response.status_code == 200 and response.json()["status"] == "queued"
    assert post(api, f"{DELIVERIES}{failed.pk}/retry/", {}).status_code == 409


def test_a_read_only_key_cannot_create_rotate_or_retry(marketer, endpoint, failed):
    reader = key_client(marketer, scope=APIKey.Scope.READ)
    assert reader.get(ENDPOINTS).status_code == 200
    assert post(reader, ENDPOINTS, {"name": "X", "url": endpoint.url}).status_code == 403
    assert post(reader, f"{ENDPOINTS}{endpoint.pk}/rotate-secret/", {}).status_code == 403
    assert post(reader, f"{DELIVERIES}{failed.pk}/retry/", {}).status_code == 403


def test_an_endpoint_with_deliveries_cannot_be_deleted(api, failed, endpoint):
    response = api.delete(f"{ENDPOINTS}{endpoint.pk}/")
    assert response.status_code == 409 and "webhook deliveries" in response.json()["detail"]


# --- Admin -----------------------------------------------------------------------------------------------
def admin_url(model, view="changelist", *args):
    return reverse(f"admin:channels_{model._meta.model_name}_{view}", args=args)


def test_the_admin_lists_endpoints_and_deliveries(admin_client, failed, endpoint):
    for model, obj in ((WebhookEndpoint, endpoint), (WebhookDelivery, failed)):
        search = "CRM" if model is WebhookEndpoint else "msg_"
        assert admin_client.get(admin_url(model), {"q": search}).status_code == 200
        assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200
    assert endpoint.secret not in page(admin_client.get(admin_url(WebhookEndpoint, "change", endpoint.pk)))
    assert "HTTP 400" in page(admin_client.get(admin_url(WebhookDelivery)))


def test_the_admin_refuses_internal_urls_and_shows_a_new_secret_once(admin_client, receiver, settings):
    settings.WAYMARK_WEBHOOK_ALLOWED_HOSTS = []
    response = admin_client.post(admin_url(WebhookEndpoint, "add"), {
        "name": "Meta", "url": "http://169.254.169.254/", "timeout_seconds": 10, "active": "on"})
    assert response.status_code == 200 and "link-local" in page(response)
    settings.WAYMARK_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    response = admin_client.post(admin_url(WebhookEndpoint, "add"), {
        "name": "CRM", "url": receiver.url, "timeout_seconds": 10, "active": "on"}, follow=True)
    assert WebhookEndpoint.objects.get().secret in page(response)


def test_admin_actions_rotate_secrets_and_retry_deliveries(admin_client, failed, endpoint):
    old = endpoint.secret
    admin_client.post(admin_url(WebhookEndpoint), {"action": "rotate_secret", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    admin_client.post(admin_url(WebhookDelivery), {"action": "retry_now", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.status == "queued"


def test_deliveries_cannot_be_edited_in_the_admin(admin_client, failed):
    assert admin_client.get(admin_url(WebhookDelivery, "add")).status_code == 403
    response = admin_client.post(admin_url(WebhookDelivery, "change", failed.pk), {"status": "delivered"})
    assert response.status_code == 403


# --- Marketer pages ------------------------------------------------------------------------------------------
def url(name, *args):
    return reverse(f"channels:webhook_{name}", args=args)


def test_webhook_pages_need_a_login(client, endpoint):
    assert client.get(url("list")).status_code == 302
    assert client.get(url("detail", endpoint.pk)).status_code == 302


def test_the_list_shows_each_endpoint_with_its_counts(marketer_client, failed, endpoint,
                                                      django_assert_max_num_queries):
    WebhookEndpoint.objects.create(name="Warehouse", url=endpoint.url, active=False)
    with django_assert_max_num_queries(6):
        response = marketer_client.get(url("list"))
    text = page(response)
    assert "CRM" in text and "Warehouse" in text and "Deactivated" in text
    assert 'data-col="failed"><span class="badge badge-red">1</span>' in text


def test_creating_an_endpoint_refuses_an_internal_url_and_keeps_what_was_typed(marketer_client, settings):
    settings.WAYMARK_WEBHOOK_ALLOWED_HOSTS = []
    response = marketer_client.post(url("create"), {"name": "Metadata", "url": "http://169.254.169.254/latest/",
                                                    "timeout_seconds": 10, "active": "on"})
    assert response.status_code == 200
    text = page(response)
    assert "link-local address" in text and "nothing was saved" in text and 'value="Metadata"' in text
    assert not WebhookEndpoint.objects.exists()


def test_a_new_endpoints_secret_is_shown_once(marketer_client, receiver):
    response = marketer_client.post(url("create"), {"name": "CRM", "url": receiver.url, "timeout_seconds": 10,
                                                    "active": "on"}, follow=True)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in page(response)
    assert endpoint.secret not in page(marketer_client.get(url("detail", endpoint.pk)))


def test_editing_and_rotating_from_the_endpoint_page(marketer_client, endpoint):
    response = marketer_client.post(url("edit", endpoint.pk), {"name": "CRM sync", "url": endpoint.url,
                                                               "timeout_seconds": 3})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.timeout_seconds, endpoint.active) == ("CRM sync", 3, False)
    old = endpoint.secret
    response = marketer_client.post(url("rotate", endpoint.pk), follow=True)
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in page(response)
    assert "Previous secret" in page(response)


def test_the_test_button_delivers_a_signed_ping_that_shows_in_the_log(marketer_client, endpoint, receiver,
                                                                       django_capture_on_commit_callbacks):
    ContactFactory(email="ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_client.post(url("test", endpoint.pk), {"person": "ANN@example.com"})
    assert response.status_code == 302
    (request,) = receiver.requests
    assert verify(endpoint.secret, request["headers"], request["body"], now_ts=int(timezone.now().timestamp()))
    assert json.loads(request["body"])["type"] == "webhook.test"
    text = page(marketer_client.get(url("detail", endpoint.pk)))
    assert "webhook.test" in text and "Delivered" in text and "HTTP 200" in text
    assert request["headers"]["webhook-id"] in text


def test_a_test_event_for_an_unknown_address_is_refused(marketer_client, endpoint):
    response = marketer_client.post(url("test", endpoint.pk), {"person": "nobody@example.com"}, follow=True)
    assert "No contact or lead has this email address." in page(response)
    assert not WebhookDelivery.objects.exists()


def test_the_endpoint_page_costs_a_fixed_number_of_queries(marketer_client, endpoint, now,
                                                           django_assert_max_num_queries):
    for index in range(20):
        services.queue_webhook(endpoint, person=ContactFactory() if index % 2 else LeadFactory(), payload={"n": index},
                               idempotency_key=f"k{index}", now=now)
    with django_assert_max_num_queries(10):
        response = marketer_client.get(url("detail", endpoint.pk))
    assert page(response).count('data-delivery="') == 20


def test_the_log_filters_by_status_and_offers_retry_for_failures(marketer_client, failed, endpoint, receiver):
    response = marketer_client.get(url("detail", endpoint.pk), {"status": "failed"}, HTTP_HX_REQUEST="true")
    text = page(response)
    assert "<html" not in text and "HTTP 400" in text and "Retry now" in text
    assert "HTTP 400" not in page(marketer_client.get(url("detail", endpoint.pk), {"status": "delivered"},
                                                      HTTP_HX_REQUEST="true"))
    marketer_client.post(url("retry", failed.pk))
    failed.refresh_from_db()
    assert failed.status == "queued"


def test_sales_can_read_webhooks_but_not_change_them(sales_client, endpoint, failed):
    assert sales_client.get(url("detail", endpoint.pk)).status_code == 200
    assert sales_client.get(url("create")).status_code == 403
    assert sales_client.post(url("rotate", endpoint.pk)).status_code == 403
    assert sales_client.post(url("test", endpoint.pk), {"person": "ann@example.com"}).status_code == 403
    assert sales_client.post(url("retry", failed.pk)).status_code == 403
