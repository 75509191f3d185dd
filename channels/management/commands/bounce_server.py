"""Receive bounces, spam complaints and mailto: unsubscribes over SMTP (aiosmtpd).

Point the Return-Path domain's MX (or a relay's bounce forwarding) and the List-Unsubscribe
`unsubscribe@<sending domain>` address at this server. Every message goes to
`channels.bounces.process_incoming`; mail that is not about a message we sent is accepted and
ignored, so senders of stray mail get no hint.
"""

from __future__ import annotations

import logging
import threading

from aiosmtpd.controller import Controller
from asgiref.sync import sync_to_async
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from channels import bounces

logger = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # a DSN carries at most the original message


def receive(raw: bytes) -> str:
    # Each message is handled like a web request: a connection the database dropped is not reused,
    # and one past CONN_MAX_AGE is closed afterwards.
    close_old_connections()
    try:
        return bounces.process_incoming(raw, now=timezone.now())
    finally:
        close_old_connections()


class BounceHandler:
    """aiosmtpd handler: the database work runs in a thread, off the event loop."""

    async def handle_DATA(self, server, session, envelope) -> str:
        try:
            outcome = await sync_to_async(receive)(envelope.content)
        except Exception:
            logger.exception("could not process mail from %s", envelope.mail_from)
            return "451 4.3.0 Temporary failure, try again later"  # the sender keeps it and retries
        logger.info("mail from %s to %s: %s", envelope.mail_from, ", ".join(envelope.rcpt_tos), outcome)
        return "250 OK"


def start(host: str, port: int) -> Controller:
    controller = Controller(BounceHandler(), hostname=host, port=port, data_size_limit=MAX_MESSAGE_BYTES)
    controller.start()
    return controller


class Command(BaseCommand):
    help = "Run an SMTP server that records bounces (DSNs), spam complaints (ARF) and mailto: unsubscribes."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=2525, help="Port to listen on (default 2525)")

    def handle(self, *args, host: str, port: int, **options) -> None:
        if options["verbosity"] < 2:  # aiosmtpd logs every SMTP command, flufl.bounce every detector tried
            logging.getLogger("mail.log").setLevel(logging.WARNING)
            logging.getLogger("flufl.bounce").setLevel(logging.WARNING)
        controller = start(host, port)
        self.stdout.write(f"Receiving bounces on {host}:{port} (Ctrl-C stops)")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
