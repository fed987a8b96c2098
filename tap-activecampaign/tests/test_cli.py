"""The console script, as a user runs it (one subprocess per command)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = str(Path(sys.executable).with_name("tap-activecampaign"))


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def test_about_json_lists_the_settings_and_marks_the_key_secret() -> None:
    proc = _run("--about", "--format=json")
    assert proc.returncode == 0, proc.stderr
    about = json.loads(proc.stdout)
    props = about["settings"]["properties"]
    assert {"api_url", "api_key", "start_date", "requests_per_second", "list_ids"} <= set(props)
    assert props["api_key"].get("secret") is True
    assert set(about["settings"]["required"]) == {"api_url", "api_key"}


def test_version_prints_the_package_version() -> None:
    proc = _run("--version")
    assert proc.returncode == 0
    assert "tap-activecampaign" in proc.stdout


@pytest.fixture
def config_file(shared_sandbox, tmp_path, config_for) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config_for(shared_sandbox)))
    return path


def test_a_real_sync_writes_schema_record_and_state_messages(config_file) -> None:
    proc = _run("--config", str(config_file))
    assert proc.returncode == 0, proc.stderr[-2000:]
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    streams = {m["stream"] for m in messages if m["type"] == "RECORD"}
    assert {"contacts", "accounts", "deals", "contact_lists"} <= streams
    assert messages[-1]["type"] == "STATE"
    assert "test-key" not in proc.stdout + proc.stderr


def test_connection_test_prints_a_one_line_verdict(config_file, tmp_path) -> None:
    proc = _run("--config", str(config_file), "--test")
    assert proc.returncode == 0
    assert proc.stdout.strip().startswith("Connection OK")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads(config_file.read_text()), "api_key": "nope-123"}))
    proc = _run("--config", str(bad), "--test")
    assert proc.returncode == 1
    assert "rejected the API key" in proc.stderr
    assert "nope-123" not in proc.stdout + proc.stderr
