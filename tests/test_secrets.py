"""The API key never leaves the config file: a scan of every output of real runs.

Runs tap -> mapper(import) and mapper(push) -> target with a distinctive key, then failing
runs (a key ActiveCampaign rejects, a 5xx burst with retries, URLs that carry the key, an
unreachable host), and looks for the key in every stdout and stderr, every STATE message, the
activity log, the rejects files and any other file the runs wrote.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
