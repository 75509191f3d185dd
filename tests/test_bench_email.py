"""The email benchmark: personalized messages through queue_email and send_queued into a real SMTP
server, against smtplib sending the same bytes; one JSON line, and nothing left behind."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from bench import BENCHMARKS, email_bench
from channels import services
from channels.models import BrandProfile, Delivery, Email, SenderProfile
from contacts.models import Consent, Contact, Interaction
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_email_bench_prints_its_result_as_json_on_the_last_line():
    out = StringIO()
    call_command("bench", "email", "--contacts", "30", stdout=out, stderr=StringIO())
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert set(result) == {"bench", "figures", "ratios", "checks"}
    assert result["bench"] == "email"
    figures = result["figures"]
    assert figures["messages"] == 30 and figures["blocks"] == 10
    assert figures["sends_per_s"] > 0 and figures["baseline_sends_per_s"] > 0
    assert figures["build_ms"] > 0 and figures["mjml_compile_ms"] > 0 and figures["message_kb"] > 10
    assert "smtplib" in figures["baseline"]
    assert result["ratios"]["send"] > 0 and result["ratios"]["queue_and_send"] >= result["ratios"]["send"]
    assert result["checks"] == {"all_sent": True, "all_received": True, "only_bench_recipients": True,
                                "personalized": True, "baseline_all_received": True, "cleaned_up": True}


def test_email_bench_cleans_up_after_itself():
    email_bench.run(contacts=20, log=lambda line: None)
    assert not Contact.objects.exists()
    assert not Consent.objects.exists()
    assert not Interaction.objects.exists()
    assert not Delivery.objects.exists()
    assert not Email.objects.exists() and not SenderProfile.objects.exists() and not BrandProfile.objects.exists()


def test_email_bench_refuses_to_run_while_real_messages_wait(now):
    """It would claim them and send them to its own server."""
    email = Email.objects.create(
        name="Receipt", key="receipt", subject="Your order", purpose=Email.Purpose.TRANSACTIONAL,
        blocks=[{"type": "text", "html": "<p>Thanks</p>"}],
        sender=SenderProfile.objects.create(name="Shop", from_name="Shop", from_email="shop@contoso.test"),
        brand=BrandProfile.objects.create(name="Shop", postal_address="1 Bean Street"))
    services.publish(email, now=now)
    services.queue_email(email, person=ContactFactory(), idempotency_key="real", now=now)
    with pytest.raises(RuntimeError, match=r"1 message\(s\) waiting to be sent"):
        email_bench.run(contacts=5, log=lambda line: None)
    assert Delivery.objects.get().status == Delivery.Status.QUEUED


def test_the_email_bench_is_registered():
    assert BENCHMARKS["email"] is email_bench.run
