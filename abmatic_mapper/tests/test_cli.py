"""The console script behaves as an SDK plugin: --about, --version, config validation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXE = str(Path(sys.executable).parent / "abmatic-mapper")


def _run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([EXE, *args], input=stdin, capture_output=True, timeout=60,
                          check=False)


def test_about_json_lists_the_settings():
    about = json.loads(_run("--about", "--format=json").stdout)
    assert about["name"] == "abmatic-mapper"
    for setting in ("direction", "field_modes", "custom_fields", "operations", "store_url",
                    "rejects_path"):
        assert setting in about["settings"]["properties"]


def test_version_prints_plugin_and_sdk_version():
    assert b"abmatic-mapper v0.1.0" in _run("--version").stdout


def test_bad_settings_fail_at_start_with_the_path(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"field_modes": {"contacts.first_name": "fil"}}))
    result = _run("--config", str(config))
    assert result.returncode == 1
    assert b'field_modes["contacts.first_name"]: "fil" is not one of dont_sync, fill, ' \
        b"overwrite" in result.stderr


def test_cli_pipes_a_fixture(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"rejects_path": str(tmp_path / "r.jsonl")}))
    data = (Path(__file__).parent / "fixtures" / "import_dupes.singer").read_bytes()
    result = _run("--config", str(config), stdin=data)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert sum(1 for m in lines if m["type"] == "RECORD") == 5
    assert b"Run summary (import) contacts: in=6 out=5 merged=1" in result.stderr
