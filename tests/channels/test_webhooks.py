"""Outgoing webhooks against a real HTTP server on loopback: signed per Standard Webhooks, queued
once per key, retried with backoff (honouring Retry-After), failed for good on a refusal, and
never sent twice by two workers; a killed worker's claim is re-sent with the same webhook-id."""

import base64
import datetime
import json
import socket
import threading

import pytest
from django.db import connection

from channels import services, tasks, webhooks
from channels.models import WebhookDelivery, WebhookEndpoint
from tests.channels import webhook_receiver
from tests.channels.webhook_receiver import verify
from tests.conftest import requires_postgres
from tests.factories import ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db
SECOND = datetime.timedelta(seconds=1)
receiver = webhook_receiver.receiver  # the fixture


@pytest.fixture
def endpoint(receiver):
    return WebhookEndpoint.objects.create(name="CRM", url=receiver.url)


def queue(endpoint, now, key="k1", person=None, **fields):
    return services.queue_webhook(endpoint, person=person or ContactFactory(),
                                  payload=fields.pop("payload", {"order": "A-1001"}), idempotency_key=key, now=now,
                                  **fields)


def refreshed(delivery):
    delivery.refresh_from_db()
    return delivery


# --- Signatures ------------------------------------------------------------------------------------
def test_signatures_match_the_standard_webhooks_reference_vector():
    """The test vector of the reference library (standard-webhooks/libraries/python)."""
    signature = webhooks.sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
                              timestamp=1614265330, body='{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_new_endpoints_get_a_whsec_secret_of_32_random_bytes(endpoint):
    other = WebhookEndpoint.objects.create(name="Other", url=endpoint.url)
    assert endpoint.secret.startswith("whsec_") and endpoint.secret != other.secret
    assert len(base64.b64decode(endpoint.secret.removeprefix("whsec_"))) == 32


def test_a_queued_event_arrives_signed_and_verifiable(endpoint, receiver, now):
    delivery = queue(endpoint, now, person=ContactFactory(email="ann@example.com"), journey_id=7, tile_key="notify")
    assert services.send_queued_webhooks(now=now) == 1
    (request,) = receiver.requests
    headers, body = request["headers"], request["body"]
    assert request["path"] == "/hooks/waymark"
    assert headers["content-type"] == "application/json"
    assert headers["webhook-id"] == delivery.message_id
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert verify(endpoint.secret, headers, body, now_ts=int(now.timestamp()))
    assert not verify(endpoint.secret, headers, body.replace(b"A-1001", b"A-1002"), now_ts=int(now.timestamp()))
    assert not verify(webhooks.new_secret(), headers, body, now_ts=int(now.timestamp()))
    sent = json.loads(body)
    assert sent["type"] == "journey.webhook"
    assert sent["data"]["order"] == "A-1001"
    assert sent["data"]["person"] == {"type": "contact", "id": delivery.contact_id, "email": "ann@example.com"}
    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)
    assert delivery.delivered_at == now and delivery.response_body == "ok"


def test_leads_are_sent_as_leads(endpoint, receiver, now):
    lead = LeadFactory(email="lee@example.com")
    queue(endpoint, now, person=lead, event_type="lead.qualified")
    services.send_queued_webhooks(now=now)
    sent = json.loads(receiver.requests[0]["body"])
    assert sent["type"] == "lead.qualified"
    assert sent["data"]["person"] == {"type": "lead", "id": lead.pk, "email": "lee@example.com"}


def test_the_same_idempotency_key_queues_one_message(endpoint, receiver, now):
    first = queue(endpoint, now, key="run:1:1")
    again = queue(endpoint, now, key="run:1:1", payload={"order": "other"})
    assert again.pk == first.pk and again.payload == {"order": "A-1001"}
    services.send_queued_webhooks(now=now)
    services.send_queued_webhooks(now=now + SECOND)
    assert WebhookDelivery.objects.count() == 1 and len(receiver.requests) == 1


def test_queueing_wakes_the_sender_once_per_transaction_after_commit(endpoint, receiver, now,
                                                                     django_capture_on_commit_callbacks):
    people = ContactFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for index, person in enumerate(people):
            queue(endpoint, now, key=str(index), person=person)
        assert receiver.requests == []  # nothing leaves before the commit
    assert [callback.wakes for callback in callbacks] == [tasks.send_queued_webhooks]
    assert len(receiver.requests) == 3  # the wake-up ran the batch sender (tasks run inline in tests)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


# --- Retries -------------------------------------------------------------------------------------------
def test_a_server_error_is_retried_after_a_jittered_backoff_with_the_same_webhook_id(endpoint, receiver, now):
    receiver.reply(500, body="database down")
    delivery = queue(endpoint, now)
    services.send_queued_webhooks(now=now)
    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("retrying", 1, 500)
    assert delivery.response_body == "database down" and delivery.last_error == "HTTP 500 Internal Server Error"
    assert now + 10 * SECOND <= delivery.next_attempt_at <= now + 12 * SECOND  # 10 s + up to 20 % jitter
    assert services.send_queued_webhooks(now=now + 9 * SECOND) == 0  # not due yet
    assert services.send_queued_webhooks(now=delivery.next_attempt_at) == 1
    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.last_error) == (
        "delivered", 2, 200, "")
    first, second = receiver.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == delivery.message_id
    assert first["body"] == second["body"]
    assert verify(endpoint.secret, second["headers"], second["body"],
                  now_ts=int(second["headers"]["webhook-timestamp"]))


def test_a_client_error_fails_at_once(endpoint, receiver, now):
    receiver.reply(400, body='{"error": "unknown field"}')
    delivery = queue(endpoint, now)
    services.send_queued_webhooks(now=now)
    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 1, 400)
    assert delivery.next_attempt_at is None and "refused" in delivery.last_error
    assert services.send_queued_webhooks(now=now + datetime.timedelta(days=1)) == 0
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("status", [408, 409, 425, 429, 502, 503])
def test_busy_and_conflict_answers_are_retried(endpoint, receiver, now, status):
    receiver.reply(status)
    delivery = queue(endpoint, now)
    services.send_queued_webhooks(now=now)
    assert refreshed(delivery).status == "retrying"


def test_a_redirect_is_not_followed(endpoint, receiver, now):
    receiver.reply(302, headers={"Location": receiver.url + "/elsewhere"})
    delivery = queue(endpoint, now)
    services.send_queued_webhooks(now=now)
    delivery = refreshed(delivery)
    assert (delivery.status, delivery.response_code) == ("failed", 302)
    assert "redirects are not followed" in delivery.last_error
    assert [r["path"] for r in receiver.requests] == ["/hooks/waymark"]


def test_retry_after_in_seconds_is_honoured(endpoint, receiver, now):
    receiver.reply(429, headers={"Retry-After": "120"})
    delivery = queue(endpoint, now)
    services.send_queued_webhooks(now=now)
    assert refreshed(delivery).next_attempt_at == now + 120 * SECOND
    assert services.send_queued_webhooks(now=now + 119 * SECOND) == 0
    assert services.send_queued_webhooks(now=now + 120 * SECOND) == 1


def test_retry_after_as_an_http_date_is_honoured(endpoint, receiver, now):
    receiver.reply(503, headers={"Retry-After": "Mon, 02 Nov 2026 09:30:00 GMT"})
    delivery = queue(endpoint, now)
    services.send_queued_webhooks(now=now)
    assert refreshed(delivery).next_attempt_at == datetime.datetime(2026, 11, 2, 9, 30, tzinfo=datetime.UTC)


def test_an_unreasonable_retry_after_is_capped(endpoint, receiver, now, settings):
    settings.WAYMARK_WEBHOOK_MAX_RETRY_AFTER = 3600
    receiver.reply(429, headers={"Retry-After": "99999999"})
    delivery = queue(endpoint, now)
    services.send_queued_webhooks(now=now)
    assert refreshed(delivery).next_attempt_at == now + datetime.timedelta(hours=1)


def test_a_message_fails_when_the_retry_schedule_is_used_up(endpoint, receiver, now, settings):
    settings.WAYMARK_WEBHOOK_RETRY_SCHEDULE = [1, 2]
    for _ in range(3):
        receiver.reply(500)
    delivery = queue(endpoint, now)
    at = now
    for _ in range(3):
        services.send_queued_webhooks(now=at)
        at += datetime.timedelta(minutes=1)
    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.last_error == "HTTP 500 Internal Server Error — gave up after 3 attempts"
    assert services.send_queued_webhooks(now=at) == 0 and len(receiver.requests) == 3


def test_a_receiver_slower_than_the_timeout_is_retried(endpoint, receiver, now):
    endpoint.timeout_seconds = 1
    endpoint.save()
    receiver.reply(200, delay=2.5)
    delivery = queue(endpoint, now)
    services.send_queued_webhooks(now=now)
    delivery = refreshed(delivery)
    assert delivery.status == "retrying" and delivery.response_code is None
    assert delivery.last_error == "Timed out after 1 s."


def test_a_refused_connection_is_retried(receiver, now):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = WebhookEndpoint.objects.create(name="Down", url=f"http://127.0.0.1:{port}/")
    delivery = queue(endpoint, now)
    services.send_queued_webhooks(now=now)
    delivery = refreshed(delivery)
    assert delivery.status == "retrying" and delivery.last_error.startswith("Connection failed")


def test_a_deactivated_endpoint_receives_nothing(endpoint, receiver, now):
    endpoint.active = False
    endpoint.save()
    delivery = queue(endpoint, now)
    services.send_queued_webhooks(now=now)
    assert refreshed(delivery).status == "failed" and refreshed(delivery).last_error == "The endpoint is deactivated."
    assert receiver.requests == []


def test_retry_now_sends_a_failed_message_again(endpoint, receiver, now):
    receiver.reply(400)
    delivery = queue(endpoint, now)
    services.send_queued_webhooks(now=now)
    later = now + datetime.timedelta(hours=2)
    assert services.retry_webhooks_now(WebhookDelivery.objects.filter(pk=delivery.pk), now=later) == 1
    services.send_queued_webhooks(now=later)
    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == ("delivered", 2, later)
    assert services.retry_webhooks_now(WebhookDelivery.objects.filter(pk=delivery.pk), now=later) == 0


# --- Secret rotation -------------------------------------------------------------------------------------
def test_after_a_rotation_both_secrets_sign_until_the_grace_period_ends(endpoint, receiver, now):
    old = endpoint.secret
    new = services.rotate_webhook_secret(endpoint, now=now)
    assert new != old and new.startswith("whsec_")
    queue(endpoint, now, key="during")
    services.send_queued_webhooks(now=now)
    queue(endpoint, now + datetime.timedelta(hours=25), key="after")
    services.send_queued_webhooks(now=now + datetime.timedelta(hours=25))
    during, after = receiver.requests
    assert len(during["headers"]["webhook-signature"].split()) == 2
    for secret in (old, new):
        assert verify(secret, during["headers"], during["body"], now_ts=int(now.timestamp()))
    after_ts = int((now + datetime.timedelta(hours=25)).timestamp())
    assert verify(new, after["headers"], after["body"], now_ts=after_ts)
    assert not verify(old, after["headers"], after["body"], now_ts=after_ts)


# --- Workers ------------------------------------------------------------------------------------------
def test_a_claim_left_by_a_killed_worker_is_swept_back_and_resent_with_the_same_webhook_id(endpoint, receiver, now):
    delivery = queue(endpoint, now)
    claimed = services._claim(WebhookDelivery.objects.due(now), order_by=("id",), limit=10, now=now)
    webhooks.send_batch(list(WebhookDelivery.objects.filter(id__in=claimed).select_related("endpoint", "contact")),
                        now=now)  # the request went out, then the worker died before recording it
    assert refreshed(delivery).status == "sending"
    assert services.sweep_stale_webhook_claims(now=now + datetime.timedelta(minutes=5)) == 0  # still in flight
    swept_at = now + datetime.timedelta(minutes=11)
    assert services.sweep_stale_webhook_claims(now=swept_at) == 1
    assert services.send_queued_webhooks(now=swept_at) == 1
    first, second = receiver.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == delivery.message_id
    assert (refreshed(delivery).status, refreshed(delivery).attempts) == ("delivered", 2)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_post_each_message_once(receiver, now):
    endpoint = WebhookEndpoint.objects.create(name="CRM", url=receiver.url)
    contacts = ContactFactory.create_batch(30)
    WebhookDelivery.objects.bulk_create([  # as queue_webhook leaves them, without its wake-up
        WebhookDelivery(contact=contact, endpoint=endpoint, payload={"n": index}, idempotency_key=f"k{index}",
                        queued_at=now, next_attempt_at=now) for index, contact in enumerate(contacts)
    ])
    start, delivered, errors = threading.Barrier(3), [], []

    def worker():
        try:
            start.wait()
            while n := services.send_queued_webhooks(now=now, limit=4):
                delivered.append(n)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(delivered) == 30  # attempted, each once
    ids = [request["headers"]["webhook-id"] for request in receiver.requests]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {1}
