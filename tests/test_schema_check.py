"""The schema check a user's CI runs: valid JSON Schema, keys declared, drift shown as a diff."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK = [sys.executable, str(ROOT / "scripts" / "check_schemas.py")]


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CHECK, *args], input=stdin, capture_output=True, text=True,
                          check=False)


def _schema_line(stream: str, schema: dict, keys: list[str]) -> str:
    return json.dumps({"type": "SCHEMA", "stream": stream, "schema": schema,
                       "key_properties": keys})


def test_every_emitted_schema_matches_the_committed_snapshot() -> None:
    result = subprocess.run(["bash", str(ROOT / "scripts" / "check-schemas.sh")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "20 stream schemas valid and match schemas/tap-activecampaign" in result.stdout
    assert "3 stream schemas valid and match schemas/abmatic-import" in result.stdout
    assert "2 stream schemas valid and match schemas/abmatic-push" in result.stdout


def test_drift_fails_with_a_diff_naming_the_changed_property(tmp_path: Path) -> None:
    snapshot = tmp_path / "snap"
    shutil.copytree(ROOT / "schemas" / "abmatic-import", snapshot)
    entry = json.loads((snapshot / "contacts.json").read_text())
    schema = entry["schema"]
    schema["properties"]["nickname"] = {"type": ["string", "null"]}
    lines = "\n".join(
        _schema_line(name, json.loads((snapshot / f"{name}.json").read_text())["schema"],
                     json.loads((snapshot / f"{name}.json").read_text())["key_properties"])
        for name in ("accounts", "opportunities")
    )
    lines += "\n" + _schema_line("contacts", schema, entry["key_properties"])
    result = _run("--snapshot", str(snapshot), stdin=lines)
    assert result.returncode == 1
    assert '+      "nickname": {' in result.stderr
    assert "rerun with --update" in result.stderr


def test_invalid_schema_and_undeclared_key_are_reported(tmp_path: Path) -> None:
    bad = _schema_line("things", {"type": "object", "properties": {"id": {"type": "strng"}}},
                       ["id", "missing_key"])
    result = _run("--snapshot", str(tmp_path / "snap"), "--update", stdin=bad)
    assert result.returncode == 1
    assert "INVALID things: not valid JSON Schema at properties/id/type" in result.stderr
    assert "key property 'missing_key' is not among the schema's properties" in result.stderr


def test_a_stream_that_disappears_is_drift(tmp_path: Path) -> None:
    snapshot = tmp_path / "snap"
    one = _schema_line("a", {"type": "object", "properties": {"id": {"type": "string"}}}, ["id"])
    two = _schema_line("b", {"type": "object", "properties": {"id": {"type": "string"}}}, ["id"])
    assert _run("--snapshot", str(snapshot), "--update", stdin=f"{one}\n{two}").returncode == 0
    result = _run("--snapshot", str(snapshot), stdin=one)
    assert result.returncode == 1
    assert "stream 'b' is in the snapshot but no longer emitted" in result.stderr
