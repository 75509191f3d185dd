"""A large send batch goes out over several SMTP connections at once; a connection that drops
fails only what it held (back to the queue), and a server that cannot be reached loses nothing."""

import socket

import pytest
from aiosmtpd.controller import Controller

from channels import services
from channels.models import Delivery
from contacts import services as people
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


class Server:
    """Notes which connection (client port) carried each recipient; drops the connection instead
    of answering for a recipient named in `drop`."""

    def __init__(self, drop=()):
        self.received: list[tuple[int, str]] = []
        self.drop = set(drop)

    async def handle_DATA(self, server, session, envelope):
        if set(envelope.rcpt_tos) & self.drop:
            server.transport.close()
            return "421 closing"
        self.received += [(session.peer[1], rcpt) for rcpt in envelope.rcpt_tos]
        return "250 OK"


@pytest.fixture
def serve(settings):
    controllers = []

    def start(handler):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        return handler

    yield start
    for controller in controllers:
        controller.stop()


def queue(make_email, now, count):
    email = make_email()
    services.publish(email, now=now)
    addresses = []
    for n in range(count):
        contact = ContactFactory(email=f"p{n}@example.com")
        people.set_consent(contact, channel="email", status="opted_in", now=now)
        services.queue_email(email, person=contact, idempotency_key=f"k{n}", now=now)
        addresses.append(contact.email)
    return addresses


def test_a_large_batch_goes_out_over_several_connections(serve, make_email, settings, now):
    settings.WAYMARK_SMTP_CONNECTIONS = 3
    server = serve(Server())
    addresses = queue(make_email, now, 25)
    assert services.send_queued(now=now) == 25
    assert sorted(rcpt for _port, rcpt in server.received) == sorted(addresses)
    assert len({port for port, _rcpt in server.received}) == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_a_small_batch_uses_one_connection(serve, make_email, settings, now):
    settings.WAYMARK_SMTP_CONNECTIONS = 3
    server = serve(Server())
    queue(make_email, now, 6)
    assert services.send_queued(now=now) == 6
    assert len({port for port, _rcpt in server.received}) == 1


def test_a_dropped_connection_fails_only_its_message_back_to_the_queue(serve, make_email, settings, now):
    settings.WAYMARK_SMTP_CONNECTIONS = 3
    server = serve(Server(drop={"p7@example.com"}))
    addresses = queue(make_email, now, 25)
    assert services.send_queued(now=now) == 24
    assert sorted(rcpt for _port, rcpt in server.received) == sorted(set(addresses) - {"p7@example.com"})
    dropped = Delivery.objects.get(to_address="p7@example.com")
    assert (dropped.status, dropped.attempts) == ("queued", 1) and "connection lost" in dropped.reason
    assert Delivery.objects.filter(status="sent").count() == 24


def test_an_unreachable_server_leaves_a_large_batch_queued(make_email, settings, now):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    settings.WAYMARK_SMTP_CONNECTIONS = 3
    queue(make_email, now, 25)
    assert services.send_queued(now=now) == 0
    assert set(Delivery.objects.values_list("status", "attempts")) == {("queued", 1)}
    assert all("unavailable" in reason for reason in Delivery.objects.values_list("reason", flat=True))


@pytest.mark.parametrize("count", [6, 25])  # one connection, several
def test_a_message_that_cannot_be_built_fails_alone(serve, make_email, settings, now, monkeypatch, count):
    from channels import mail

    settings.WAYMARK_SMTP_CONNECTIONS = 3
    server = serve(Server())
    addresses = queue(make_email, now, count)
    build = mail.Sender.raw

    def raw(self, delivery, *, now):
        if delivery.to_address == "p3@example.com":
            raise ValueError("a broken block")
        return build(self, delivery, now=now)

    monkeypatch.setattr(mail.Sender, "raw", raw)
    assert services.send_queued(now=now) == count - 1
    assert sorted(rcpt for _port, rcpt in server.received) == sorted(set(addresses) - {"p3@example.com"})
    broken = Delivery.objects.get(to_address="p3@example.com")
    assert broken.status == "queued" and broken.reason == "could not build the message: ValueError: a broken block"


def test_an_unexpected_error_on_one_connection_loses_no_message(serve, make_email, settings, now, monkeypatch):
    import smtplib

    settings.WAYMARK_SMTP_CONNECTIONS = 3
    server = serve(Server())
    addresses = queue(make_email, now, 25)
    sendmail = smtplib.SMTP.sendmail

    def flaky(self, from_addr, to_addrs, msg, *args, **kwargs):
        if to_addrs == ["p5@example.com"]:
            raise RuntimeError("something odd")
        return sendmail(self, from_addr, to_addrs, msg, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "sendmail", flaky)
    assert services.send_queued(now=now) == 24
    assert sorted(rcpt for _port, rcpt in server.received) == sorted(set(addresses) - {"p5@example.com"})
    odd = Delivery.objects.get(to_address="p5@example.com")
    assert (odd.status, odd.reason) == ("queued", "RuntimeError: something odd")
