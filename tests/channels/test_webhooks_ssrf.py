"""The SSRF guard: webhooks go only to public http(s) addresses, checked when an endpoint is saved
and again at every send, connecting to the very address that was checked."""

import socket

import pytest
from django.core.exceptions import ValidationError

from channels import services, webhooks
from channels.models import WebhookDelivery, WebhookEndpoint
from tests.channels import webhook_receiver
from tests.factories import ContactFactory

receiver, tls_receiver = webhook_receiver.receiver, webhook_receiver.tls_receiver  # the fixtures
tls_certificate = webhook_receiver.tls_certificate
REFUSED = [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://127.1.2.3:8080/hook", "loopback"),
    ("http://2130706433/hook", "loopback"),  # 127.0.0.1 written as one number
    ("http://10.0.0.5/hook", "private"),
    ("http://172.16.3.4/hook", "private"),
    ("http://192.168.1.1/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),  # cloud metadata
    ("http://100.64.0.1/hook", "not a public address"),  # carrier-grade NAT
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://240.0.0.1/hook", "reserved"),
    ("http://[::1]/hook", "loopback"),
    ("http://[::]/hook", "unspecified"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[fc00::1]/hook", "private"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),  # IPv4-mapped IPv6
    ("http://[::ffff:169.254.169.254]/hook", "link-local"),
    ("http://[2002:7f00:1::]/hook", "loopback"),  # 6to4 around 127.0.0.1
    ("http://[64:ff9b::a00:1]/hook", "private"),  # NAT64 around 10.0.0.1
    ("http://localhost/hook", "loopback"),  # a name that resolves to loopback
    ("file:///etc/passwd", "Only http:// and https://"),
    ("gopher://example.com/", "Only http:// and https://"),
    ("ftp://example.com/", "Only http:// and https://"),
    ("https://user:secret@example.com/hook", "Credentials in the URL"),
    ("https://token@example.com/hook", "Credentials in the URL"),
    ("https:///hook", "no host"),
    ("http://example.com:99999/", "Not a valid URL"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_internal_addresses_and_other_schemes_are_refused(url, reason, settings):
    settings.WAYMARK_WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(webhooks.UnsafeURL, match=reason):
        webhooks.check_url(url)


def test_a_public_address_is_accepted_with_its_host_header():
    target = webhooks.check_url("https://93.184.215.14:8443/hooks/in?source=waymark")
    assert (target.address, target.port, target.path) == ("93.184.215.14", 8443, "/hooks/in?source=waymark")
    assert target.host_header == "93.184.215.14:8443"
    assert webhooks.check_url("http://[2606:4700:4700::1111]/").host_header == "[2606:4700:4700::1111]"


def test_the_operator_may_allow_hosts_networks_and_names(settings):
    settings.WAYMARK_WEBHOOK_ALLOWED_HOSTS = ["10.0.0.0/8", "127.0.0.1"]
    assert webhooks.check_url("http://10.20.30.40/hook").address == "10.20.30.40"
    assert webhooks.check_url("http://127.0.0.1:9000/hook").address == "127.0.0.1"
    with pytest.raises(webhooks.UnsafeURL):
        webhooks.check_url("http://192.168.0.1/hook")
    settings.WAYMARK_WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    assert webhooks.check_url("http://localhost:9000/hook").host == "localhost"


def test_an_unresolvable_host_is_refused_with_its_name():
    with pytest.raises(webhooks.UnsafeURL, match="could not be resolved"):
        webhooks.check_url("https://no-such-host.invalid/hook")


@pytest.mark.django_db
def test_saving_an_endpoint_with_an_internal_url_is_a_validation_error(settings):
    settings.WAYMARK_WEBHOOK_ALLOWED_HOSTS = []
    endpoint = WebhookEndpoint(name="Metadata", url="http://169.254.169.254/latest/meta-data/")
    with pytest.raises(ValidationError) as error:
        endpoint.full_clean()
    assert "link-local" in error.value.message_dict["url"][0]


@pytest.mark.django_db
def test_loopback_is_refused_at_send_time_without_the_allow_list(receiver, settings, now):
    """The endpoint was saved while loopback was allowed; at send time it no longer is."""
    endpoint = WebhookEndpoint.objects.create(name="Local", url=receiver.url)
    settings.WAYMARK_WEBHOOK_ALLOWED_HOSTS = []
    delivery = services.queue_webhook(endpoint, person=ContactFactory(), payload={}, idempotency_key="k", now=now)
    services.send_queued_webhooks(now=now)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.last_error.startswith("Refused: The host '127.0.0.1' resolves to 127.0.0.1, a loopback address")
    assert receiver.requests == []


@pytest.mark.django_db
def test_the_request_goes_to_the_checked_address_even_if_dns_changes(receiver, settings, monkeypatch, now):
    """DNS rebinding: the name is resolved once, checked, and that address is the one connected to;
    the receiver still sees the name in Host."""
    settings.WAYMARK_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    real_getaddrinfo, lookups = socket.getaddrinfo, []
    port = int(receiver.url.split(":")[2].split("/")[0])

    def rebinding_dns(host, *args, **kwargs):
        if host != "hooks.example.test":
            return real_getaddrinfo(host, *args, **kwargs)
        lookups.append(host)  # first answer: the allowed receiver; every later answer: the metadata service
        address = "127.0.0.1" if len(lookups) == 1 else "169.254.169.254"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    endpoint = WebhookEndpoint.objects.create(name="Named", url=f"http://hooks.example.test:{port}/in")
    delivery = services.queue_webhook(endpoint, person=ContactFactory(), payload={}, idempotency_key="k", now=now)
    services.send_queued_webhooks(now=now)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert lookups == ["hooks.example.test"]
    (request,) = receiver.requests
    assert request["headers"]["host"] == f"hooks.example.test:{port}"
    assert request["path"] == "/in"


def resolve_as_loopback(monkeypatch, name):
    real_getaddrinfo = socket.getaddrinfo

    def fake_dns(host, port, *args, **kwargs):
        if host == name:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)


@pytest.mark.django_db
def test_https_connects_to_the_checked_address_with_the_hosts_name_for_sni_and_the_certificate(
        tls_receiver, tls_certificate, settings, monkeypatch, now):
    settings.WAYMARK_WEBHOOK_CA_BUNDLE = str(tls_certificate[0])
    resolve_as_loopback(monkeypatch, "hooks.example.test")
    endpoint = WebhookEndpoint.objects.create(name="TLS", url=f"https://hooks.example.test:{tls_receiver.port}/in")
    delivery = services.queue_webhook(endpoint, person=ContactFactory(), payload={}, idempotency_key="k", now=now)
    services.send_queued_webhooks(now=now)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED, delivery.last_error
    assert tls_receiver.server_names == ["hooks.example.test"]
    assert tls_receiver.requests[0]["headers"]["host"] == f"hooks.example.test:{tls_receiver.port}"


@pytest.mark.django_db
def test_https_refuses_a_certificate_it_does_not_trust(tls_receiver, monkeypatch, now):
    resolve_as_loopback(monkeypatch, "hooks.example.test")
    endpoint = WebhookEndpoint.objects.create(name="TLS", url=f"https://hooks.example.test:{tls_receiver.port}/in")
    delivery = services.queue_webhook(endpoint, person=ContactFactory(), payload={}, idempotency_key="k", now=now)
    services.send_queued_webhooks(now=now)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.RETRYING
    assert "CERTIFICATE_VERIFY_FAILED" in delivery.last_error
    assert tls_receiver.requests == []
