"""Behaviour of the shared client pieces: URL/key checks, normalization, classifier, pacing,
and the HTTP session's retry rules against a tiny local server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from activecampaign_client import (
    ActiveCampaignSession,
    AuthenticationError,
    ConfigError,
    FatalAPIError,
    RequestPacer,
    RetriableAPIError,
    is_valid_email,
    normalize_api_url,
    normalize_domain,
    normalize_email,
)
from activecampaign_client.errors import api_error_text, check_key_hint, classify

SECRET = "s3cr3t-key-value"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://acme.api-us1.com", "https://acme.api-us1.com/api/3"),
        ("https://acme.api-us1.com/", "https://acme.api-us1.com/api/3"),
        ("https://acme.api-us1.com/api/3", "https://acme.api-us1.com/api/3"),
        ("https://acme.api-us1.com/api/3/", "https://acme.api-us1.com/api/3"),
        ("  https://acme.api-us1.com  ", "https://acme.api-us1.com/api/3"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765/api/3"),
        ("http://localhost:8765/api/3", "http://localhost:8765/api/3"),
    ],
)
def test_api_url_accepts_the_forms_users_paste(given: str, expected: str) -> None:
    assert normalize_api_url(given) == expected


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("http://acme.api-us1.com", "must use https://"),
        ("acme.api-us1.com", "not a valid URL"),
        ("", "empty"),
        ("https://acme.api-us1.com/app/settings", "unexpected path"),
    ],
)
def test_api_url_rejects_with_actionable_message(given: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        normalize_api_url(given)
    assert fragment in str(err.value)
    assert "include https://" in str(err.value)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://www.Acme.com/about", "acme.com"),
        ("acme.com", "acme.com"),
        ("http://acme.com/about", "acme.com"),
        ("WWW.ACME.COM.", "acme.com"),
        ("https://www.acme.com:8443/x?y=1", "acme.com"),
        ("shop.acme.co.uk", "acme.co.uk"),  # the registrable domain (test_normalize.py)
        ("", None),
        ("   ", None),
        ("not a domain", None),
        ("localhost", None),
        (None, None),
    ],
)
def test_domains_normalize_to_one_form(given: str | None, expected: str | None) -> None:
    assert normalize_domain(given) == expected


@pytest.mark.parametrize(
    ("given", "normalized", "valid"),
    [
        ("  Jane.Doe@Example.COM ", "jane.doe@example.com", True),
        ("o'brien@acme.ie", "o'brien@acme.ie", True),
        ("no-at-sign.example.com", "no-at-sign.example.com", False),
        ("two@@example.com", "two@@example.com", False),
        ("spaces in@example.com", "spaces in@example.com", False),
        ("", None, False),
    ],
)
def test_emails_are_trimmed_lowercased_and_checked(
    given: str, normalized: str | None, valid: bool
) -> None:
    assert normalize_email(given) == normalized
    assert is_valid_email(given) is valid


@pytest.mark.parametrize(
    ("status", "verdict"),
    [(200, "ok"), (201, "ok"), (301, "fatal"), (302, "fatal"), (307, "fatal"), (400, "fatal"),
     (403, "fatal"), (404, "fatal"), (422, "fatal"),
     (429, "retry"), (500, "retry"), (502, "retry"), (503, "retry")],
)
def test_classifier_retries_only_throttling_and_server_errors(status: int, verdict: str) -> None:
    assert classify(status) == verdict


def test_error_text_reads_activecampaign_422_body() -> None:
    body = {"errors": [{"title": "Email address already exists in the system", "detail": "",
                        "code": "duplicate", "source": {"pointer": "/data/attributes/email"}}]}
    text = api_error_text(body)
    assert "Email address already exists" in text
    assert "duplicate" in text
    assert "/data/attributes/email" in text


def test_pacer_keeps_under_the_rate() -> None:
    pacer = RequestPacer(20)
    start = time.monotonic()
    for _ in range(41):
        pacer.wait()
    elapsed = time.monotonic() - start
    # 41 starts at 20/s need at least two full windows.
    assert elapsed >= 2 * 1.0
    assert elapsed < 2 * 1.02 + 0.5


def test_pacer_counts_a_request_until_its_answer_arrives() -> None:
    pacer = RequestPacer(2)
    with pacer.slot():
        time.sleep(0.3)  # a slow answer: its window starts when the answer arrived
    pacer.wait()
    start = time.monotonic()
    pacer.wait()  # the third request must wait for the first's answer + the window
    assert time.monotonic() - start >= 0.3 + 1.02 - 0.35


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    script: list[tuple[int, dict[str, str], str]] = []
    seen_tokens: list[str] = []

    def do_GET(self) -> None:
        self.seen_tokens.append(self.headers.get("Api-Token", ""))
        status, headers, body = self.script.pop(0) if self.script else (200, {}, "{}")
        if status == -1:  # drop the connection without an answer
            self.close_connection = True
            self.connection.shutdown(2)
            return
        data = body.encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.script = []
    _Handler.seen_tokens = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _session(url: str, **kw: object) -> ActiveCampaignSession:
    return ActiveCampaignSession(url, SECRET, requests_per_second=50, backoff_base=0.01,
                                 pacer=RequestPacer(50), **kw)  # type: ignore[arg-type]


def test_session_sends_token_header_and_parses_json(server: str) -> None:
    _Handler.script = [(200, {}, json.dumps({"user": {"id": "1"}}))]
    session = _session(server)
    assert session.get("users/me") == {"user": {"id": "1"}}
    assert _Handler.seen_tokens == [SECRET]


def test_session_retries_5xx_truncated_and_dropped_then_succeeds(server: str) -> None:
    _Handler.script = [
        (503, {}, "{}"),
        (200, {}, '{"contacts": [{"id": "1"'),
        (-1, {}, ""),
        (200, {}, '{"contacts": []}'),
    ]
    session = _session(server)
    assert session.get("contacts") == {"contacts": []}
    assert session.usage.retries == 3


def test_session_honours_retry_after_on_429(server: str) -> None:
    _Handler.script = [(429, {"Retry-After": "1"}, "{}"), (200, {}, "{}")]
    session = _session(server)
    start = time.monotonic()
    session.get("contacts")
    assert time.monotonic() - start >= 0.95
    assert session.usage.throttled == 1


def test_session_gives_up_after_bounded_retries(server: str) -> None:
    _Handler.script = [(500, {}, "{}")] * 3
    session = _session(server, max_retries=2)
    with pytest.raises(RetriableAPIError, match="failed after 3 attempts"):
        session.get("contacts")


def test_one_request_can_ask_for_a_single_attempt(server: str) -> None:
    _Handler.script = [(503, {}, "{}"), (200, {}, "{}")]
    session = _session(server, max_retries=6)
    with pytest.raises(RetriableAPIError, match="failed after 1 attempts"):
        session.request("GET", "contacts", max_retries=0)
    assert session.get("contacts") == {}  # the session's own budget is unchanged


def test_403_says_where_to_find_the_key_and_never_shows_it(server: str) -> None:
    _Handler.script = [(403, {}, '{"message":"Forbidden"}')]
    session = _session(server)
    with pytest.raises(AuthenticationError) as err:
        session.get("users/me")
    assert "Settings -> Developer" in str(err.value)
    assert SECRET not in str(err.value)
    assert check_key_hint() in str(err.value)


def test_other_4xx_fail_at_once_with_activecampaign_text(server: str) -> None:
    _Handler.script = [(404, {}, '{"message":"No Result found for Subscriber with id 9"}')]
    session = _session(server)
    with pytest.raises(FatalAPIError, match="No Result found for Subscriber with id 9"):
        session.get("contacts/9")
    assert session.usage.retries == 0


def test_key_with_whitespace_is_rejected_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as err:
        ActiveCampaignSession("https://acme.api-us1.com", " abc def ")
    assert "whitespace" in str(err.value)
    assert "abc def" not in str(err.value)


@pytest.mark.parametrize("url", [
    "https://acme.api-us1.com/api/3?api_key=sk-LEAK-42",
    "https://admin:sk-LEAK-42@acme.api-us1.com",
    "https://acme.api-us1.com/#sk-LEAK-42",
    "sk-LEAK-42",
])
def test_a_url_carrying_the_key_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        normalize_api_url(url)
    assert "api_url" in str(err.value)
    assert "sk-LEAK-42" not in str(err.value)


def test_a_bare_host_name_is_shown_in_the_error() -> None:
    with pytest.raises(ConfigError) as err:
        normalize_api_url("acme.api-us1.com")
    assert "'acme.api-us1.com' is not a valid URL" in str(err.value)


def test_403_after_the_key_worked_is_retried_as_intermittent(server: str) -> None:
    _Handler.script = [(200, {}, "{}"), (403, {}, '{"message":"Forbidden"}'), (200, {}, "{}")]
    session = _session(server)
    session.get("users/me")
    assert session.get("contacts") == {}
    assert session.usage.retries == 1


def test_403_storm_after_the_key_worked_ends_with_a_clear_message(server: str) -> None:
    _Handler.script = [(200, {}, "{}")] + [(403, {}, '{"message":"Forbidden"}')] * 3
    session = _session(server, max_retries=2)
    session.get("users/me")
    with pytest.raises(RetriableAPIError, match="key was accepted earlier in this run"):
        session.get("deals")


def test_share_of_the_rate_budget_counts_the_first_seconds_burst() -> None:
    from activecampaign_client import ApiUsage

    usage = ApiUsage(rate=5)
    usage.requests = 5  # what the window admits at once: the whole budget, not 5000%
    assert 0.9 <= usage.share_of_budget() <= 1.0
