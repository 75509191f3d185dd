"""A real HTTP server on loopback that receives webhooks, answering from a script, and an
independent Standard Webhooks verifier written from the spec (not Waymark's signing code)."""

import base64
import hashlib
import hmac
import http.server
import ssl
import subprocess
import threading
import time

import pytest


class Receiver:
    """Records every request; answers each with the next scripted (status, headers, body, delay)."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict, str, float]] = []
        self.lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/waymark"

    def reply(self, status: int = 200, *, headers: dict | None = None, body: str = "ok", delay: float = 0) -> None:
        self.script.append((status, headers or {}, body, delay))

    def _handler(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    headers = {name.lower(): value for name, value in self.headers.items()}
                    receiver.requests.append({"path": self.path, "headers": headers, "body": body})
                    status, headers, text, delay = receiver.script.pop(0) if receiver.script else (200, {}, "ok", 0)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(text.encode())))
                    self.end_headers()
                    self.wfile.write(text.encode())
                except (BrokenPipeError, ConnectionResetError):  # the sender gave up waiting
                    pass

            def log_message(self, *args):
                pass

        return Handler


def serve(tls: ssl.SSLContext | None = None):
    server = Receiver(tls)
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WAYMARK_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    yield from serve()


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory):
    """A self-signed certificate for hooks.example.test (its own CA), made with openssl: (cert, key)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key),
                    "-out", str(cert), "-subj", "/CN=hooks.example.test",
                    "-addext", "subjectAltName=DNS:hooks.example.test"], capture_output=True, check=True)
    return cert, key


@pytest.fixture
def tls_receiver(settings, tls_certificate):
    """An https:// receiver on loopback that records the TLS server names (SNI) it is asked for."""
    settings.WAYMARK_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_certificate)
    server_names: list[str] = []
    context.sni_callback = lambda connection, name, ctx: server_names.append(name)
    for server in serve(context):
        server.server_names = server_names
        yield server


def verify(secret: str, headers: dict, body: bytes, *, now_ts: int, tolerance: int = 300) -> bool:
    """Standard Webhooks verification, from the spec: HMAC-SHA256 over "id.timestamp.body" keyed
    with the base64 part of whsec_…, compared with each "v1," signature in the header."""
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(now_ts - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(hmac.new(key, b".".join([msg_id.encode(), timestamp.encode(), body]),
                                         hashlib.sha256).digest())
    given = [part.split(",", 1)[1].encode() for part in headers["webhook-signature"].split() if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, signature) for signature in given)
