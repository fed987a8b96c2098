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


def test_an_unreadable_line_is_kept_the_rest_is_mapped_and_the_run_fails(tmp_path):
    config = tmp_path / "config.json"
    rejects = tmp_path / "r.jsonl"
    config.write_text(json.dumps({"direction": "push", "rejects_path": str(rejects)}))
    stdin = b"\n".join([
        b'{"type":"SCHEMA","stream":"contacts","schema":{},"key_properties":["work_email"]}',
        b'{"type":"RECORD","stream":"contacts","record":{"work_email":"a@b.io"}}',
        b"not json at all",
        b'{"type":"RECORD","stream":"contacts","record":{"work_email":"c@d.io"}}',
        b'{"type":"STATE","value":{"bookmarks":{}}}',
    ]) + b"\n"
    result = _run("--config", str(config), stdin=stdin)
    assert result.returncode == 1
    assert b"Input line 3 is not valid JSON" in result.stderr
    assert b"Traceback" not in result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [m["record"]["email"] for m in out if m["type"] == "RECORD"] == ["a@b.io", "c@d.io"]
    assert not [m for m in out if m["type"] == "STATE"]  # held back: it may cover line 3
    kept = json.loads(rejects.read_text())
    assert kept["line"] == 3 and kept["raw"] == "not json at all"
