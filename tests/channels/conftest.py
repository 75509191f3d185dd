"""A real SMTP server on loopback (aiosmtpd) and the email fixtures the channel tests share."""

import base64
import email
import email.policy
import socket
import subprocess
import threading

import pytest
from aiosmtpd.controller import Controller

from channels import rendering
from channels.models import BrandProfile, Email, SenderProfile


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.raw: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.raw.append(envelope.content)
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    yield inbox
    controller.stop()


@pytest.fixture(scope="session")
def dkim_keys():
    """(private PEM, public key base64 for the DNS TXT record), made with openssl."""
    private = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True, check=True).stdout
    public_der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=private,
                                capture_output=True, check=True).stdout
    return private.decode(), base64.b64encode(public_der).decode()


@pytest.fixture
def sender(db):
    return SenderProfile.objects.create(name="Contoso", from_name="Contoso Coffee", from_email="hello@contoso.test",
                                        reply_to="care@contoso.test")


@pytest.fixture
def brand(db):
    return BrandProfile.objects.create(name="Contoso", postal_address="1 Bean Street, Seattle, WA",
                                       footer_text="Contoso Coffee")


@pytest.fixture
def make_email(sender, brand):
    def make(blocks=None, **fields):
        fields.setdefault("name", "Spring")
        fields.setdefault("key", fields["name"].lower().replace(" ", "-"))
        fields.setdefault("subject", 'Hi {{ contact.first_name | default: "there" }}')
        return Email.objects.create(sender=sender, brand=brand, blocks=blocks or [
            {"type": "heading", "text": "Spring is here"},
            {"type": "text", "html": '<p>Hello {{ contact.first_name | default: "friend" }}, try our '
                                     '<a href="https://contoso.test/cold-brew">cold brew</a>.</p>'},
        ], **fields)

    return make


@pytest.fixture(autouse=True)
def fresh_render_cache():
    """Published versions are cached by id; test databases reuse ids, production never does."""
    rendering._prepare.cache_clear()
