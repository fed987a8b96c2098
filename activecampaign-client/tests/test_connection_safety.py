"""Where the key may go: the URL checks (the host checked is the host contacted; no link-local,
metadata or, by default, private address), the key check, redaction of the key from every
text built from an answer, no redirects, and the address check at connect time.

The servers here are tiny ``http.server`` threads on 127.0.0.1: echoing the request and
redirecting is what some proxies do, not ActiveCampaign, so the sandbox has no such mode.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest
import urllib3.util.connection

from activecampaign_client import ActiveCampaignSession, ConfigError, FatalAPIError, RequestPacer
from activecampaign_client.errors import RedirectRefusedError, UnsafeAddressError
from activecampaign_client.redact import MARKER, remember_secret, scrub, scrub_value
from activecampaign_client.urls import check_api_key, normalize_api_url

KEY = "sk-ECHO/9f+8e=7d-0123"  # "/", "+", "=": its URL-encoded form differs


# ----------------------------------------------------------------------------- the URL
@pytest.mark.parametrize("url", [
    "https://evil.example\\.api-us1.com",  # requests would connect to evil.example
    "https://evil.example\\@acme.api-us1.com",
    "https://acme.api-us1.com\\evil.example",
    "https://acme.api-us1.com%2f.evil.example",
    "https://acme_1.api-us1.com",
    "https://bücher.api-us1.com",
    "https://2852039166",  # 169.254.169.254 as one number
    "https://0251.0376.0251.0376",  # ... in octal
    "https://0xa9.0xfe.0xa9.0xfe",  # ... in hex
    "https://acme.api-us1.com\t.evil.example",
])
def test_a_host_urllib3_could_read_differently_is_refused(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        normalize_api_url(url)
    message = str(err.value)
    assert "api_url" in message and "evil" not in message
    assert "valid host name" in message or "control characters" in message \
        or "user name" in message


@pytest.mark.parametrize(("given", "expected"), [
    ("https://ACME.api-us1.com:443/api/3/", "https://acme.api-us1.com/api/3"),
    ("https://acme.api-us1.com:8443", "https://acme.api-us1.com:8443/api/3"),
    ("http://[::1]:8765", "http://[::1]:8765/api/3"),
    ("http://127.0.0.2:8765/", "http://127.0.0.2:8765/api/3"),
    ("https://203.0.113.9", None),  # documentation range: not a public address
    ("https://93.184.215.14", "https://93.184.215.14/api/3"),
])
def test_the_base_is_built_from_the_parsed_parts(given: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(ConfigError, match="not a public internet address"):
            normalize_api_url(given)
        return
    base = normalize_api_url(given)
    assert base == expected
    parsed = urllib3.util.parse_url(base)  # what requests will connect to
    assert f"{parsed.scheme}://{parsed.netloc}/api/3" == base


@pytest.mark.parametrize("url", [
    "https://169.254.169.254", "https://169.254.10.1", "https://[fe80::1]",
    "https://[fd00:ec2::254]", "https://[fd12:3456::1]", "https://100.100.100.200",
    "https://168.63.129.16", "https://[::ffff:169.254.169.254]", "https://[64:ff9b::a9fe:a9fe]",
    "https://metadata.google.internal", "https://metadata", "https://0.0.0.0",
])
@pytest.mark.parametrize("allow_private", [False, True])
def test_link_local_and_metadata_hosts_are_refused_even_on_a_private_network(
        url: str, allow_private: bool) -> None:
    with pytest.raises(ConfigError) as err:
        normalize_api_url(url, allow_private_network=allow_private)
    assert any(word in str(err.value) for word in ("metadata", "link-local", "not a public"))


@pytest.mark.parametrize("url", [
    "https://10.0.0.5", "https://172.16.4.2", "https://192.168.1.10", "https://100.64.0.1",
    "https://[fc00::1]", "https://[::ffff:10.0.0.5]",
])
def test_private_hosts_need_allow_private_network(url: str) -> None:
    with pytest.raises(ConfigError, match="set allow_private_network to true"):
        normalize_api_url(url)
    assert normalize_api_url(url, allow_private_network=True).endswith("/api/3")


def test_loopback_stays_allowed_for_the_local_sandbox() -> None:
    assert normalize_api_url("http://localhost:8765") == "http://localhost:8765/api/3"
    assert normalize_api_url("http://127.0.0.1:8765") == "http://127.0.0.1:8765/api/3"


@pytest.mark.parametrize("url", [
    "https://acme.api-us1.com/sk-LEAK-4242",
    "https://acme.api-us1.com/api/3/sk-LEAK-4242",
    "https://acme.api-us1.com/api/3;sk-LEAK-4242",
])
def test_a_key_pasted_into_the_path_is_never_echoed(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        normalize_api_url(url)
    assert "unexpected path (hidden here" in str(err.value)
    assert "LEAK" not in str(err.value)
    assert "'https://acme.api-us1.com'" in str(err.value)  # the host is still named


# ----------------------------------------------------------------------------- the key
@pytest.mark.parametrize("key", ["ключ-0123456789", "clé-0123456789", "abc\x00def-0123",
                                 "abc\x7fdef-0123", "abc\u200bdef-0123", "abc\u2013def-0123"])
def test_a_key_with_characters_no_header_can_carry_is_refused(key: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_api_key(key)
    message = str(err.value)
    assert message.startswith("api_key contains characters that are not valid in an "
                              "ActiveCampaign API key")
    assert key not in message and "def" not in message
    with pytest.raises(ConfigError):  # the session refuses it before any request too
        ActiveCampaignSession("http://127.0.0.1:9", key)


# ----------------------------------------------------------------------------- redaction
def test_scrub_replaces_the_key_and_its_encoded_forms() -> None:
    remember_secret(KEY)
    text = f"a {KEY} b {quote(KEY, safe='')} c {quote(KEY, safe='').lower()} d"
    assert scrub(text) == f"a {MARKER} b {MARKER} c {MARKER} d"
    assert scrub_value({"k": [f"x{KEY}"]}) == {"k": [f"x{MARKER}"]}
    assert scrub("other-key-123", "other-key-123") == MARKER  # a key given per call


def test_exception_messages_and_log_records_never_carry_a_known_key() -> None:
    remember_secret(KEY)
    assert KEY not in str(ConfigError(f"bad thing near {KEY}"))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("tap-activecampaign.redaction-test")
    logger.addHandler(handler)
    try:
        logger.warning("echoed body: %s", {"Api-Token": KEY})
        try:
            raise ValueError(f"boom {KEY}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert KEY not in out and out.count(MARKER) == 2 and "ValueError: boom" in out


# ----------------------------------------------------------------------------- servers
class _Echo(BaseHTTPRequestHandler):
    """Answers every request with an error whose body repeats the request's headers."""

    protocol_version = "HTTP/1.1"
    status = 422
    as_json = True

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        headers = "\r\n".join(f"{k}: {v}" for k, v in self.headers.items())
        echoed = f"{self.command} {self.path}\r\n{headers}\r\nencoded={quote(KEY, safe='')}"
        data = (json.dumps({"errors": [{"title": "Unprocessable", "detail": echoed}]})
                if self.as_json else echoed).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json" if self.as_json else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


class _Counter(BaseHTTPRequestHandler):
    """The redirect's target: it must never be asked anything."""

    protocol_version = "HTTP/1.1"
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.headers.get("Api-Token", ""))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def echo() -> Iterator[str]:
    yield from _serve(_Echo)


@pytest.fixture
def elsewhere() -> Iterator[str]:
    _Counter.hits = []
    yield from _serve(_Counter)


def _session(url: str, **kw: Any) -> ActiveCampaignSession:
    return ActiveCampaignSession(url, KEY, backoff_base=0.01, pacer=RequestPacer(100), **kw)


@pytest.mark.parametrize(("status", "as_json"), [(422, True), (400, False), (403, True),
                                                 (404, False)])
def test_an_answer_that_echoes_the_request_never_brings_the_key_back(
        echo: str, status: int, as_json: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Echo, "status", status)
    monkeypatch.setattr(_Echo, "as_json", as_json)
    with pytest.raises(FatalAPIError) as err:
        _session(echo).post("contact/sync", {"contact": {"email": "a@x.io"}})
    shown = str(err.value) + json.dumps(err.value.body) + str(getattr(err.value, "reason", ""))
    assert KEY not in shown and quote(KEY, safe="") not in shown
    assert MARKER in str(err.value)  # the echo was there, and redacted
    assert f"HTTP {status}" in str(err.value)


class _Redirect(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    target = ""
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(302)
        self.send_header("Location", f"{self.target}/elsewhere{self.path}?token=abc")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_redirect_is_refused_and_its_target_gets_nothing(elsewhere: str, method: str,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           ) -> None:
    monkeypatch.setattr(_Redirect, "target", elsewhere)
    monkeypatch.setattr(_Redirect, "hits", 0)
    for base in _serve(_Redirect):
        session = _session(base)
        with pytest.raises(RedirectRefusedError) as err:
            session.request(method, "users/me", json={} if method == "POST" else None)
        message = str(err.value)
        assert f"redirecting to {elsewhere}/elsewhere/api/3/users/me." in message
        assert "token=abc" not in message
        assert "ActiveCampaign does not redirect API calls" in message
        assert _Redirect.hits == 1 and session.usage.requests == 1  # not retried
    assert _Counter.hits == []  # the second listener received no request at all


# ----------------------------------------------------------------------------- connect time
@dataclass
class FakeDNS:
    names: dict[str, str] = field(default_factory=dict)
    connects: list[tuple[str, int]] = field(default_factory=list)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    """Fake DNS for ``*.example`` names (no real lookup); connections are recorded and
    refused, so that nothing leaves the machine."""
    fake = FakeDNS()
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host in fake.names:
            family = socket.AF_INET6 if ":" in fake.names[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (fake.names[host], port))]
        return real(host, port, *args, **kwargs)

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        fake.connects.append(address)
        raise ConnectionRefusedError("test: no connection leaves the machine")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return fake


@pytest.mark.parametrize(("address", "problem"), [
    ("169.254.169.254", "cloud metadata"), ("fd00:ec2::254", "cloud metadata"),
    ("169.254.1.1", "link-local"), ("10.1.2.3", "private network"),
])
def test_a_name_resolving_to_a_refused_address_is_never_connected(
        dns: FakeDNS, address: str, problem: str) -> None:
    dns.names["ac-rebound.example"] = address
    session = _session("https://ac-rebound.example", max_retries=0)
    with pytest.raises(UnsafeAddressError) as err:
        session.get("users/me")
    assert f"resolves to {address}" in str(err.value) and problem in str(err.value)
    assert "nothing was sent" in str(err.value)
    assert dns.connects == []


def test_allow_private_network_lets_a_private_name_through(dns: FakeDNS) -> None:
    dns.names["ac-gateway.example"] = "10.1.2.3"
    session = _session("https://ac-gateway.example", max_retries=0, allow_private_network=True)
    with pytest.raises(Exception, match="connection failed"):
        session.get("users/me")  # the (fake) connection was tried: refused by the test
    assert dns.connects == [("ac-gateway.example", 443)]


def test_a_peer_that_changed_after_the_lookup_is_refused_before_anything_is_sent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the lookup said loopback, the connected peer is the metadata service."""
    sent: list[bytes] = []

    class Rebound:
        closed = False

        def getpeername(self) -> tuple[str, int]:
            return ("169.254.169.254", 80)

        def sendall(self, data: bytes) -> None:
            sent.append(data)

        def close(self) -> None:
            Rebound.closed = True

        def settimeout(self, value: object) -> None:
            pass

        def setsockopt(self, *args: object) -> None:
            pass

    monkeypatch.setattr(urllib3.util.connection, "create_connection",
                        lambda *a, **k: Rebound())
    session = _session("http://127.0.0.1:9", max_retries=0)
    with pytest.raises(UnsafeAddressError, match=r"resolves to 169\.254\.169\.254"):
        session.get("users/me")
    assert Rebound.closed and sent == []


def test_localhost_is_resolved_and_reached(elsewhere: str) -> None:
    port = elsewhere.rsplit(":", 1)[1]
    assert _session(f"http://localhost:{port}").get("users/me") == {}
    assert _Counter.hits == [KEY]
