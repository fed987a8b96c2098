"""The API key never leaves the config file: a scan of every output of real runs.

Runs tap -> mapper(import) and mapper(push) -> target with a distinctive key, then failing
runs (a key ActiveCampaign rejects, a 5xx burst with retries, URLs that carry the key, an
unreachable host, error bodies that echo the request, a redirect to another listener), and
looks for the key in every stdout and stderr, every STATE message, the
activity log, the rejects files and any other file the runs wrote.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # bad_input_helpers (pytest runs importlib mode)
from bad_input_helpers import Run, lines, record, run_plugin, schema

SECRET = "sk-SECRET-9f8e7d6c5b4a"
REJECTED = "sk-REJECTED-1a2b3c4d5e"
DEBUG = {"LOGLEVEL": "DEBUG"}  # the most talkative logs are where a key would show


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    from activecampaign_sandbox import Sandbox

    with Sandbox(seed="demo", contacts=30, rate_limit=None, api_key=SECRET) as sb:
        yield sb


def every_output(root: Path, runs: list[Run]) -> dict[str, str]:
    """name -> text of every stdout/stderr and every file under ``root`` but the configs."""
    out = {f"{r.plugin}#{i} {stream}": getattr(r, stream)
           for i, r in enumerate(runs) for stream in ("stdout", "stderr")}
    for path in root.rglob("*"):
        if path.is_file() and path.name != "config.json":
            out[str(path.relative_to(root))] = path.read_text(encoding="utf-8", errors="replace")
    return out


def assert_no_key(root: Path, runs: list[Run], *keys: str) -> None:
    outputs = every_output(root, runs)
    assert outputs
    for key in keys:
        leaks = [name for name, text in outputs.items() if key in text]
        assert not leaks, f"{key} found in {leaks}"


def push_input(import_run: Run) -> str:
    """Abmatic records from the import, sent back the other way (the product's round trip)."""
    contacts = import_run.records("contacts")[:15]
    accounts = import_run.records("accounts")[:3]
    assert contacts and accounts
    return lines(
        {"type": "SCHEMA", "stream": "accounts", "schema": {"type": "object"},
         "key_properties": ["website_domain"]},
        *[record("accounts", a) for a in accounts],
        {"type": "SCHEMA", "stream": "contacts", "schema": {"type": "object"},
         "key_properties": ["work_email"]},
        *[record("contacts", {**c, "add_tags": ["abmatic-synced"], "event": "enriched"})
          for c in contacts],
        record("contacts", {"work_email": "not an email"}),  # rejected by the mapper
        record("contacts", {"work_email": "s0@x.io", "add_to_lists": ["No Such List"]}),  # target
        {"type": "STATE", "value": {"bookmarks": {"abmatic": "2024-01-01"}}},
    )


def test_a_full_run_in_both_directions_never_writes_the_key(sandbox: Any, tmp_path: Path,
                                                            ) -> None:
    cfg = {"api_url": sandbox.base_url, "api_key": SECRET}
    tap = run_plugin("tap-activecampaign", cfg, tmp_path / "tap", env=DEBUG)
    assert tap.returncode == 0, tap.stderr[-2000:]
    states = [m for m in tap.messages if m["type"] == "STATE"]
    assert states and tap.records("contacts")
    (tmp_path / "tap" / "state.json").write_text(json.dumps(states[-1]["value"]))
    again = run_plugin("tap-activecampaign", cfg, tmp_path / "tap2", env=DEBUG,
                       args=("--state", str(tmp_path / "tap" / "state.json")))
    assert again.returncode == 0, again.stderr[-2000:]

    imported = run_plugin("abmatic-mapper", {"direction": "import"}, tmp_path / "import",
                          tap.stdout, env=DEBUG)
    assert imported.returncode == 0 and imported.records("contacts"), imported.stderr[-2000:]
    pushed = run_plugin("abmatic-mapper", {"direction": "push"}, tmp_path / "push",
                        push_input(imported), env=DEBUG)
    assert pushed.returncode == 0 and pushed.rejects, pushed.stderr[-2000:]
    target = run_plugin("target-activecampaign", {**cfg, "sync_tag": "abmatic-synced"},
                        tmp_path / "target", pushed.stdout, env=DEBUG)
    assert target.returncode == 0, target.stderr[-2000:]
    assert target.activity and target.rejects  # the files the scan must cover exist
    assert target.messages[-1] == {"bookmarks": {"abmatic": "2024-01-01"}}  # the target's STATE

    assert_no_key(tmp_path, [tap, again, imported, pushed, target], SECRET)


def test_a_key_activecampaign_rejects_is_never_echoed(sandbox: Any, tmp_path: Path) -> None:
    cfg = {"api_url": sandbox.base_url, "api_key": REJECTED}
    runs = [
        run_plugin("tap-activecampaign", cfg, tmp_path / "tap", env=DEBUG),
        run_plugin("tap-activecampaign", cfg, tmp_path / "test", args=("--test",), env=DEBUG),
        run_plugin("target-activecampaign", cfg, tmp_path / "target",
                   lines(schema("contacts"), record("contacts", {"email": "s1@x.io"})),
                   env=DEBUG),
    ]
    for run in runs:
        assert run.returncode == 1
        assert "rejected the API key (HTTP 403" in run.stderr + run.stdout
    assert_no_key(tmp_path, runs, REJECTED, SECRET)


def test_a_5xx_burst_with_retries_never_writes_the_key(sandbox: Any, tmp_path: Path) -> None:
    cfg = {"api_url": sandbox.base_url, "api_key": SECRET}
    sandbox.set_faults(error_rate=0.15, truncate_rate=0.05, seed=7)
    try:
        tap = run_plugin("tap-activecampaign", cfg, tmp_path / "tap", env=DEBUG, timeout=120)
        sandbox.set_faults(error_rate=1.0, seed=1)
        target = run_plugin("target-activecampaign", {**cfg, "max_retries": 1,
                                                      "read_strategy": "lookup"},
                            tmp_path / "target",
                            lines(schema("contacts"),
                                  *[record("contacts", {"email": f"s{i}@x.io"}) for i in range(4)]),
                            env=DEBUG)
    finally:
        sandbox.clear_faults()
    assert tap.returncode == 0, tap.stderr[-2000:]
    assert "retry" in tap.stderr  # the burst really hit the tap
    assert target.returncode == 1 and "HTTP 50" in target.stderr, target.stderr[-2000:]
    assert "Traceback" not in target.stderr
    assert_no_key(tmp_path, [tap, target], SECRET)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("api_url", [
    f"https://acme.api-us1.com/api/3?api_key={SECRET}",
    f"https://admin:{SECRET}@acme.api-us1.com",
    f"https://acme.api-us1.com/#{SECRET}",
    SECRET,  # the key pasted into the URL setting
], ids=["key-in-query", "key-as-password", "key-in-fragment", "key-instead-of-url"])
def test_a_bad_url_carrying_the_key_is_refused_without_echoing_it(tmp_path: Path,
                                                                   api_url: str) -> None:
    cfg = {"api_url": api_url, "api_key": SECRET}
    runs = [run_plugin("tap-activecampaign", cfg, tmp_path / "tap"),
            run_plugin("target-activecampaign", cfg, tmp_path / "target",
                       lines(schema("contacts")))]
    for run in runs:
        assert run.returncode == 1
        assert "api_url" in run.stderr and "Traceback" not in run.stderr, run.stderr[-1500:]
    assert_no_key(tmp_path, runs, SECRET)


def test_an_unreachable_host_fails_without_echoing_the_key(tmp_path: Path) -> None:
    cfg = {"api_url": f"http://127.0.0.1:{_closed_port()}", "api_key": SECRET, "max_retries": 1}
    run = run_plugin("target-activecampaign", cfg, tmp_path / "target",
                     lines(schema("contacts"), record("contacts", {"email": "s9@x.io"})),
                     env=DEBUG)
    assert run.returncode == 1
    assert "connection failed" in run.stderr and "Traceback" not in run.stderr, \
        run.stderr[-1500:]
    assert_no_key(tmp_path, [run], SECRET)


# ----------------------------------------------------------------------------- echoes, redirects
# A local http.server, not the sandbox: repeating the request's headers in an error body, or
# redirecting, is what some servers and proxies in front of an API do, never ActiveCampaign.
ECHO_KEY = "sk-ECHO/9f+8e=7d-5c4b3a2e1d"  # its URL-encoded form differs: both must go
ENCODED = quote(ECHO_KEY, safe="")
MARKER = "[api key redacted]"


class _EchoingProxy(BaseHTTPRequestHandler):
    """GETs answer ``get_status`` (200: an empty account), writes 422; every error body
    repeats the request line and headers, as text or inside an ActiveCampaign error."""

    protocol_version = "HTTP/1.1"
    get_status = 200
    seen: list[str] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.seen.append(f"{self.command} {self.path}")
        echoed = "\n".join([f"{self.command} {self.path}",
                            *(f"{k}: {v}" for k, v in self.headers.items()),
                            f"X-Original-Token: {ENCODED}"])
        status = self.get_status if self.command == "GET" else 422
        if status == 200:
            body = json.dumps({"user": {"id": "1", "username": "echo"}, "contacts": [],
                               "meta": {"total": "0"}})
        elif self.command == "GET":
            body = echoed  # a proxy's plain-text error page
        else:
            body = json.dumps({"errors": [{"title": "Unprocessable", "detail": echoed,
                                           "code": "invalid"}]})
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if status != 400 else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        pass


class _Redirecting(BaseHTTPRequestHandler):
    """Every request: 302 to the same path on another listener (plain http), with a query."""

    protocol_version = "HTTP/1.1"
    target = ""

    def _answer(self) -> None:
        self.send_response(302)
        self.send_header("Location", f"{self.target}{self.path}?session=s-123")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        pass


class _Elsewhere(BaseHTTPRequestHandler):
    """Where a redirect points: it must never receive a request."""

    protocol_version = "HTTP/1.1"
    received: list[str] = []

    def _answer(self) -> None:
        self.received.append(self.headers.get("Api-Token", ""))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _listener(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _contact_push() -> str:
    return lines(schema("contacts"), record("contacts", {"email": "echo1@x.io"}),
                 {"type": "STATE", "value": {"bookmarks": {"abmatic": "2024-02-01"}}})


@pytest.mark.parametrize("get_status", [400, 422])
def test_an_error_body_that_echoes_the_request_never_prints_the_key(
        tmp_path: Path, get_status: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads: the tap's run and its --test, on a text (400) and a JSON (422) echo."""
    monkeypatch.setattr(_EchoingProxy, "get_status", get_status)
    with _listener(_EchoingProxy) as url:
        cfg = {"api_url": url, "api_key": ECHO_KEY}
        runs = [run_plugin("tap-activecampaign", cfg, tmp_path / "tap", env=DEBUG),
                run_plugin("tap-activecampaign", cfg, tmp_path / "test", args=("--test",),
                           env=DEBUG)]
    for run in runs:
        assert run.returncode == 1
        assert f"HTTP {get_status} on GET /api/3/users" in run.stderr, run.stderr[-2000:]
        assert MARKER in run.stderr and "Traceback" not in run.stderr  # echoed, redacted
    assert_no_key(tmp_path, runs, ECHO_KEY, ENCODED)


def test_a_422_on_a_write_that_echoes_the_request_keeps_the_key_out_of_every_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes: the target's 422 lands in the activity log and the rejects file (exit 0)."""
    monkeypatch.setattr(_EchoingProxy, "get_status", 200)
    monkeypatch.setattr(_EchoingProxy, "seen", [])
    with _listener(_EchoingProxy) as url:
        run = run_plugin("target-activecampaign", {"api_url": url, "api_key": ECHO_KEY},
                         tmp_path / "target", _contact_push(), env=DEBUG)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "POST /api/3/contact/sync" in _EchoingProxy.seen
    failed = [a for a in run.activity if a.get("key") == "echo1@x.io"]
    assert failed and failed[0]["outcome"] == "failed", run.activity
    assert "HTTP 422" in failed[0]["message"] and MARKER in failed[0]["message"]
    assert run.rejects and MARKER in run.rejects[0]["reason"]
    assert run.messages[-1] == {"bookmarks": {"abmatic": "2024-02-01"}}  # STATE: scanned too
    assert_no_key(tmp_path, [run], ECHO_KEY, ENCODED)


def test_a_redirect_is_not_followed_so_its_target_never_sees_the_key(tmp_path: Path) -> None:
    _Elsewhere.received = []
    with _listener(_Elsewhere) as elsewhere, _listener(_Redirecting) as url:
        _Redirecting.target = elsewhere
        cfg = {"api_url": url, "api_key": ECHO_KEY}
        runs = [
            run_plugin("tap-activecampaign", cfg, tmp_path / "tap", env=DEBUG),
            run_plugin("tap-activecampaign", cfg, tmp_path / "test", args=("--test",),
                       env=DEBUG),
            run_plugin("target-activecampaign", cfg, tmp_path / "target", _contact_push(),
                       env=DEBUG),
        ]
    assert _Elsewhere.received == []  # the second listener received no request at all
    for run in runs:
        assert run.returncode == 1, run.stderr[-2000:]
        assert "Traceback" not in run.stderr, run.stderr[-3000:]
        assert "answered HTTP 302 on GET " in run.stderr, run.stderr[-2000:]
        assert f"redirecting to {elsewhere}/api/3/users" in run.stderr
        assert "ActiveCampaign does not redirect API calls" in run.stderr
        assert "session=s-123" not in run.stderr  # the Location's query is not shown
    assert_no_key(tmp_path, runs, ECHO_KEY, ENCODED)


def test_the_activity_log_and_rejects_file_redact_a_key_whatever_wrote_it(
        tmp_path: Path) -> None:
    """The second line of defence: text that reached the writers unredacted (a message built
    elsewhere, a record that quotes the key) is redacted as it is written."""
    from activecampaign_client.redact import remember_secret
    from target_activecampaign.activity import ActivityLog, RejectsFile

    remember_secret(ECHO_KEY)
    activity = ActivityLog(str(tmp_path / "activity.jsonl"))
    rejects = RejectsFile(str(tmp_path / "rejects.jsonl"))
    line = activity.record("failed", "contact", "k@x.io", f"HTTP 422: Api-Token: {ECHO_KEY}",
                           changes={"note": {"from": None, "to": ENCODED}})
    activity.warn("contact", "k@x.io", f"echo {ECHO_KEY}")
    rejects.write("contacts", {"email": "k@x.io", "note": ECHO_KEY}, f"422 {ENCODED}", "failed",
                  None)
    rejects.write_unreadable(3, "not JSON", f'{{"api_key": "{ECHO_KEY}"')
    activity.file.close()
    rejects.file.close()
    written = (tmp_path / "activity.jsonl").read_text() + (tmp_path / "rejects.jsonl").read_text()
    assert ECHO_KEY not in written and ENCODED not in written
    assert written.count(MARKER) == 6 and MARKER in line["message"]
