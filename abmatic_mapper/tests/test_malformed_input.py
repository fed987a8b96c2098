"""Malformed Singer input into the mapper: one bad byte or line costs that record or line only
(issue 14)."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.singerlib.exceptions import InvalidInputLine

from abmatic_mapper.fastio import FastReader
from abmatic_mapper.mapper import AbmaticMapper

SCHEMA = b'{"type":"SCHEMA","stream":"contacts","schema":{"type":"object"},' \
         b'"key_properties":["work_email"]}\n'
STATE = b'{"type":"STATE","value":{"bookmarks":{"contacts":9}}}\n'


def rec(email: str, extra: bytes = b"") -> bytes:
    return b'{"type":"RECORD","stream":"contacts","record":{"work_email":"' + \
        email.encode() + b'"' + extra + b"}}\n"


def run(data: bytes, tmp_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                  BaseException | None]:
    """(messages out, rejects, the error the run ended with)."""
    rejects = tmp_path / "rejects.jsonl"
    rejects.unlink(missing_ok=True)
    mapper = AbmaticMapper(config={"direction": "push", "rejects_path": str(rejects)})
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    error = None
    with redirect_stdout(out):
        try:
            mapper.listen(io.BytesIO(data))  # type: ignore[arg-type]
        except InvalidInputLine as exc:
            error = exc
    out.seek(0)
    messages = [json.loads(line) for line in out.read().splitlines() if line.strip()]
    kept = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()] \
        if rejects.exists() else []
    return messages, kept, error


def emails(messages: list[dict[str, Any]]) -> list[str]:
    return [m["record"]["email"] for m in messages if m["type"] == "RECORD"]


def test_a_byte_that_is_not_utf8_in_a_value_rejects_that_record_only(tmp_path: Path) -> None:
    data = SCHEMA + rec("a@x.io") + rec("x@x.io", b',"first_name":"Fran\xe7ois"') + \
        rec("b@x.io") + STATE
    messages, rejects, error = run(data, tmp_path)
    assert error is None
    assert emails(messages) == ["a@x.io", "b@x.io"]
    assert [(r["line"], r["field"]) for r in rejects] == [(3, "first_name")]
    assert rejects[0]["record"] == {"work_email": "x@x.io", "first_name": "Fran\udce7ois"}
    assert "byte 0xE7" in rejects[0]["reason"]
    assert messages[-1] == {"type": "STATE", "value": {"bookmarks": {"contacts": 9}}}


def test_lines_the_mapper_cannot_use_are_kept_and_state_is_held_back(tmp_path: Path) -> None:
    data = (SCHEMA + rec("a@x.io") + b'{"type":"record","stream":"contacts","record":{}}\n'
            + b"\xc3\x28 not even JSON\n" + b'{"type":"RECORD","stream":"contacts",'
            + b'"record":null}\n' + rec("b@x.io") + STATE)
    messages, rejects, error = run(data, tmp_path)
    assert emails(messages) == ["a@x.io", "b@x.io"]
    assert [r["line"] for r in rejects] == [3, 4, 5]
    assert "upper-case" in rejects[0]["reason"]
    assert rejects[1]["raw"] == "\\xc3( not even JSON"
    assert "not UTF-8 text (byte 0xC3 at position 1)" in rejects[1]["reason"]
    assert not any(m["type"] == "STATE" for m in messages)
    assert error is not None and "3 input line(s) could not be read" in str(error)


def test_nesting_too_deep_for_the_stack_is_a_bad_line(tmp_path: Path) -> None:
    deep = rec("d@x.io", b',"custom_fields":{"x":' + b"[" * 20000 + b"]" * 20000 + b"}")
    messages, rejects, error = run(SCHEMA + deep + rec("b@x.io"), tmp_path)
    assert emails(messages) == ["b@x.io"]
    assert [r["line"] for r in rejects] == [2] and "levels deep" in rejects[0]["reason"]
    assert error is not None


@pytest.mark.parametrize("line", [b"\n", b"   \r\n", b"\t\n"])
def test_blank_lines_are_skipped_and_counted(line: bytes) -> None:
    reader = FastReader()
    reader.on_bad_line = lambda *args: pytest.fail(f"blank line reported: {args}")
    found = [reader.line_number for _ in reader.messages([STATE, line, STATE])]
    assert found == [1, 3]


def test_a_text_input_file_is_read_as_bytes(tmp_path: Path) -> None:
    """``--input FILE`` opens a text file; its bytes are read, so one bad byte costs a line."""
    path = tmp_path / "input.jsonl"
    path.write_bytes(STATE + b"\xff\n" + STATE)
    bad: list[tuple[int, str, str]] = []
    reader = FastReader()
    reader.on_bad_line = lambda n, reason, raw: bad.append((n, reason, raw))
    with path.open(encoding="utf-8") as text_file:
        stats = reader.process_lines(text_file, {"STATE": lambda m: None})
    assert stats == {"STATE": 2}
    assert bad == [(2, "not UTF-8 text (byte 0xFF at position 1)", "\\xff")]
