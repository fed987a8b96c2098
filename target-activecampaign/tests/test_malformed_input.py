"""Malformed Singer input into the target: decoded line by line, refused with its line and
field, never half-written (issue 14)."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from target_ac_testkit import find_contact, run_target, schema_message

from activecampaign_client import ActiveCampaignSession
from activecampaign_client.jsonl import BadRecord
from target_activecampaign.input import LineReader

GOOD = b'{"type": "RECORD", "stream": "contacts", "record": {"email": "a@x.io", "n": 1.10}}\n'
LATIN1 = b'{"type": "RECORD", "stream": "contacts", "record": {"email": "b@x.io", ' \
         b'"firstName": "Jos\xe9"}}\n'


def read_all(source: Any) -> tuple[list[dict[str, Any]], list[Any], list[tuple[int, BadRecord]]]:
    reader = LineReader()
    got: list[dict[str, Any]] = []
    bad: list[Any] = []
    bad_records: list[tuple[int, BadRecord]] = []
    reader.on_bad_line = lambda *args: bad.append(args)
    reader.on_bad_record = lambda n, rec: bad_records.append((n, rec))
    reader.process_lines(source, {"RECORD": got.append})
    return got, bad, bad_records


def test_the_reader_decodes_each_line_so_one_bad_byte_costs_one_record() -> None:
    got, bad, bad_records = read_all(io.BytesIO(GOOD + LATIN1 + b"\n" + GOOD))
    assert [m["record"]["email"] for m in got] == ["a@x.io", "a@x.io"]
    assert got[0]["record"]["n"] == Decimal("1.10")  # the SDK's decoding of numbers
    assert not bad
    [(line, record)] = bad_records
    assert (line, record.field, record.record["email"]) == (2, "firstName", "b@x.io")


def test_a_text_input_file_is_read_as_bytes(tmp_path: Path) -> None:
    """``--input FILE`` opens a text file; its bytes are read, so decoding stays per line."""
    path = tmp_path / "input.jsonl"
    path.write_bytes(GOOD + LATIN1 + b"\xff\n" + GOOD)
    with path.open(encoding="utf-8") as text_file:
        got, bad, bad_records = read_all(text_file)
    assert len(got) == 2 and len(bad_records) == 1
    assert [(n, reason) for n, reason, _raw in bad] == [
        (3, "not UTF-8 text (byte 0xFF at position 1)")]


def test_a_record_with_a_lone_surrogate_or_nan_is_rejected_not_written(
        config: dict[str, Any], api: ActiveCampaignSession) -> None:
    state = {"bookmarks": {"contacts": 2}}
    messages = [schema_message("contacts"),
                {"type": "RECORD", "stream": "contacts",
                 "record": {"email": "s1@x.io", "firstName": "Ann\ud83d"}},  # half an emoji
                {"type": "RECORD", "stream": "contacts",
                 "record": {"email": "s2@x.io", "phone": float("nan")}},
                {"type": "RECORD", "stream": "contacts", "record": {"email": "s3@x.io"}},
                {"type": "STATE", "value": state}]
    result = run_target(config, messages)  # json.dumps: "\ud83d" escape and a NaN token
    assert result.error is None
    assert result.outcome("s1@x.io (input line 2)") == "rejected"
    assert "field 'firstName' holds a lone surrogate (\\ud83d)" in \
        result.messages("s1@x.io (input line 2)")[0]
    assert "field 'phone' is NaN, which is not a JSON number" in \
        result.messages("s2@x.io (input line 3)")[0]
    assert find_contact(api, "s1@x.io") is None and find_contact(api, "s2@x.io") is None
    assert find_contact(api, "s3@x.io") is not None
    assert [r["line"] for r in result.rejects] == [2, 3]
    assert result.rejects[0]["record"]["firstName"] == "Ann\ud83d"  # kept, as an escape
    assert "\\ud83d" in Path(config["rejects_path"]).read_text(encoding="utf-8")
    assert result.states == [state]  # every record was handled


def test_a_line_of_the_wrong_shape_holds_state_back_and_fails_the_run(
        config: dict[str, Any], api: ActiveCampaignSession) -> None:
    messages = [schema_message("contacts"),
                {"type": "RECORD", "stream": "contacts", "record": None},
                {"type": "RECORD", "stream": "contacts", "record": {"email": "w1@x.io"}},
                {"type": "STATE", "value": {"bookmarks": {"contacts": 2}}}]
    result = run_target(config, messages, expect_error=True)
    assert 'Input line 2 is a RECORD whose "record" is null, not an object' in \
        str(result.error)
    assert result.states == []
    assert [(r["outcome"], r["line"], json.loads(r["raw"])["record"]) for r in result.rejects] \
        == [("unreadable", 2, None)]
    assert find_contact(api, "w1@x.io") is not None
