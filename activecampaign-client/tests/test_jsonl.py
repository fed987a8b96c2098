"""The one JSON-lines reader and writer both plugins use."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from activecampaign_client.jsonl import (
    NO_TYPE,
    NOT_AN_OBJECT,
    RECORD_SHAPE,
    JsonLinesFile,
    SingerLines,
)


def read(lines: list[Any], reader: SingerLines | None = None
         ) -> tuple[list[dict[str, Any]], list[tuple[int, str, Any]]]:
    reader = reader or SingerLines()
    bad: list[tuple[int, str, Any]] = []
    reader.on_bad_line = lambda n, reason, raw: bad.append((n, reason, raw))
    return list(reader.messages(lines)), bad


@pytest.mark.parametrize(("line", "reason"), [
    ("[1, 2]", NOT_AN_OBJECT),
    ('{"stream": "contacts"}', NO_TYPE),
    ("{not json", "not valid JSON"),
])
def test_a_line_that_is_not_a_singer_message_goes_to_the_handler(line: str, reason: str) -> None:
    messages, bad = read(['{"type": "STATE", "value": {}}', "", line, '{"type": "SCHEMA"}'])
    assert [m["type"] for m in messages] == ["STATE", "SCHEMA"]
    assert len(bad) == 1
    number, why, raw = bad[0]
    assert (number, raw) == (3, line)
    assert why.startswith(reason)


def test_lines_are_counted_and_the_raw_line_kept() -> None:
    reader: SingerLines[bytes] = SingerLines()
    out = []
    for message in reader.messages([b'{"type":"STATE","value":{"a":1}}\n', b"\n"]):
        out.append((reader.line_number, reader.current_line, message))
    assert out == [(1, b'{"type":"STATE","value":{"a":1}}\n',
                    {"type": "STATE", "value": {"a": 1}})]
    assert reader.line_number == 2


def test_without_a_handler_a_bad_line_raises_with_its_number() -> None:
    with pytest.raises(ValueError, match="Input line 2 is not a Singer message"):
        list(SingerLines().messages(['{"type": "STATE"}', "oops"]))


def test_the_decoder_is_the_plugins_choice() -> None:
    def decimals(line: str) -> Any:
        return json.loads(line, parse_float=Decimal)

    messages, _ = read(['{"type": "RECORD", "record": {"v": 1.5}}'], SingerLines(decimals))
    assert messages[0]["record"]["v"] == Decimal("1.5")


def test_the_writer_creates_its_file_on_the_first_line_only(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "rejects.jsonl"
    out = JsonLinesFile(path)
    out.close()
    assert not path.exists()
    out.write({"reason": "é", "at": Path("x")})
    out.write({"n": 2})
    out.close()
    assert out.lines == 2
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == [
        {"reason": "é", "at": "x"}, {"n": 2}]
    JsonLinesFile(None).write({"ignored": True})


def test_records_without_stream_or_record_are_bad_lines_when_checked() -> None:
    class Checked(SingerLines[str]):
        check_records = True

    lines = ['{"type": "RECORD", "record": {}}', '{"type": "RECORD", "stream": "s", "record": {}}']
    messages, bad = read(lines, Checked())
    assert [m.get("stream") for m in messages] == ["s"]
    assert [(n, reason) for n, reason, _ in bad] == [(1, RECORD_SHAPE)]
    assert len(read(lines)[0]) == 2  # unchecked by default


def test_dispatch_counts_each_type_and_hands_unknown_types_on() -> None:
    seen: list[str] = []
    unknown: list[dict[str, Any]] = []
    stats = SingerLines().dispatch(
        ['{"type": "STATE"}', '{"type": "RECORD"}', '{"type": "STATE"}', '{"type": "NEW"}'],
        {"STATE": lambda m: seen.append("state")}, unknown.append)
    assert seen == ["state", "state"]
    assert unknown == [{"type": "RECORD"}, {"type": "NEW"}]
    assert stats == {"STATE": 2, "RECORD": 1, "NEW": 1}
