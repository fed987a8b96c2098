"""The one JSON-lines reader and writer both plugins use."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import pytest

from activecampaign_client.jsonl import (
    MAX_DEPTH,
    NO_TYPE,
    NOT_AN_OBJECT,
    TOO_DEEP,
    BadRecord,
    JsonLinesFile,
    SingerLines,
    strict_loads,
)

STATE = '{"type": "STATE", "value": {}}'
SCHEMA = '{"type": "SCHEMA", "stream": "s", "schema": {}}'


def read(lines: list[Any], reader: SingerLines | None = None
         ) -> tuple[list[dict[str, Any]], list[tuple[int, str, Any]]]:
    reader = reader or SingerLines()
    bad: list[tuple[int, str, Any]] = []
    reader.on_bad_line = lambda n, reason, raw: bad.append((n, reason, raw))
    return list(reader.messages(lines)), bad


def records_read(lines: list[Any], decode: Any = strict_loads
                 ) -> tuple[list[dict[str, Any]], list[tuple[int, str, Any]],
                            list[tuple[int, BadRecord]]]:
    reader: SingerLines[Any] = SingerLines(decode)
    bad_records: list[tuple[int, BadRecord]] = []
    reader.on_bad_record = lambda n, bad: bad_records.append((n, bad))
    messages, bad = read(lines, reader)
    return messages, bad, bad_records


def one_bad(line: str | bytes, decode: Any = strict_loads) -> str:
    """The reason given for ``line`` between two good lines (which are both read)."""
    messages, bad = read([STATE, line, SCHEMA], SingerLines(decode))
    assert [m["type"] for m in messages] == ["STATE", "SCHEMA"]
    assert [n for n, _reason, _raw in bad] == [2], bad
    return bad[0][1]


@pytest.mark.parametrize(("line", "reason"), [
    ("[1, 2]", NOT_AN_OBJECT),
    ('{"stream": "contacts"}', NO_TYPE),
    ("{not json", "not valid JSON"),
])
def test_a_line_that_is_not_a_singer_message_goes_to_the_handler(line: str, reason: str) -> None:
    messages, bad = read([STATE, "", line, SCHEMA])
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
        list(SingerLines().messages([STATE, "oops"]))


def test_the_decoder_is_the_plugins_choice() -> None:
    messages, _ = read(['{"type": "RECORD", "stream": "s", "record": {"v": 1.5}}'],
                       SingerLines(partial(strict_loads, parse_float=Decimal)))
    assert messages[0]["record"]["v"] == Decimal("1.5")


@pytest.mark.parametrize(("line", "reason"), [
    ('{"type": "RECORD", "stream": "s", "record": null}',
     'a RECORD whose "record" is null, not an object'),
    ('{"type": "RECORD", "stream": "s", "record": [1, 2]}',
     'a RECORD whose "record" is a list [1, 2], not an object'),
    ('{"type": "RECORD", "stream": "s", "record": "str"}',
     'a RECORD whose "record" is a string "str", not an object'),
    ('{"type": "RECORD", "stream": "s", "record": 7}',
     'a RECORD whose "record" is a number 7, not an object'),
    ('{"type": "RECORD", "stream": "s"}', 'a RECORD without "record"'),
    ('{"type": "RECORD", "record": {}}', 'a RECORD without "stream"'),
    ('{"type": "RECORD", "stream": 5, "record": {}}',
     'a RECORD whose "stream" is a number 5, not a stream name'),
    ('{"type": "RECORD", "stream": "", "record": {}}',
     'a RECORD whose "stream" is a string "", not a stream name'),
    ('{"type": "SCHEMA", "stream": "s", "schema": null}',
     'a SCHEMA whose "schema" is null, not an object'),
    ('{"type": "SCHEMA", "stream": "s", "schema": []}',
     'a SCHEMA whose "schema" is a list [], not an object'),
    ('{"type": "STATE"}', 'a STATE without "value"'),
    ('{"type": "record", "stream": "s", "record": {}}',
     'of type "record": Singer message types are upper-case ("RECORD")'),
    ('{"type": "Schema", "stream": "s", "schema": {}}',
     'of type "Schema": Singer message types are upper-case ("SCHEMA")'),
    ('{"type": "RECORDS", "stream": "s", "record": {}}', 'of unknown type "RECORDS"'),
    ('{"type": ["RECORD"], "stream": "s", "record": {}}',
     'a message whose "type" is a list ["RECORD"], not a name'),
])
def test_a_message_of_the_wrong_shape_is_a_bad_line_naming_what_is_wrong(
        line: str, reason: str) -> None:
    assert one_bad(line).startswith(reason)
    assert one_bad(line.encode(), msgspec.json.Decoder().decode).startswith(reason)


def deep(levels: int) -> str:
    return ('{"type": "RECORD", "stream": "s", "record": {"a": ' + "[" * levels + "]" * levels
            + "}}")


@pytest.mark.parametrize("levels", [MAX_DEPTH, 5000])
def test_nesting_deeper_than_the_limit_is_a_bad_line_not_a_recursion_error(levels: int) -> None:
    for decode, line in ((strict_loads, deep(levels)),
                         (msgspec.json.Decoder().decode, deep(levels).encode())):
        assert one_bad(line, decode) == TOO_DEEP  # message + record + the lists


def test_nesting_up_to_the_limit_is_read() -> None:
    messages, bad = read([deep(MAX_DEPTH - 2)])
    assert not bad and len(messages) == 1
    text = '{"type": "STATE", "value": {"note": "' + "[" * 500 + '"}}'  # brackets in text
    assert read([text])[0][0]["value"]["note"] == "[" * 500


BAD_BYTE = b'{"type": "RECORD", "stream": "contacts", "record": {"email": "a@x.io", ' \
           b'"firstName": "Jos\xe9"}}'
SURROGATE = '{"type": "RECORD", "stream": "contacts", "record": {"email": "a@x.io", ' \
            '"fields": {"Industry": "A\\ud800"}}}'


@pytest.mark.parametrize("decode", [strict_loads, msgspec.json.Decoder().decode],
                         ids=["json", "msgspec"])
@pytest.mark.parametrize(("line", "field", "reason"), [
    (BAD_BYTE, "firstName", "field 'firstName' is not UTF-8 text (byte 0xE9)"),
    (SURROGATE.encode(), "fields.Industry",
     "field 'fields.Industry' holds a lone surrogate (\\ud800), which is not Unicode text"),
    (b'{"type": "RECORD", "stream": "contacts", "record": {"n": NaN}}', "n",
     "field 'n' is NaN, which is not a JSON number (RFC 8259)"),
    (b'{"type": "RECORD", "stream": "contacts", "record": {"tags": ["a", -Infinity]}}',
     "tags[1]", "field 'tags[1]' is -Infinity, which is not a JSON number"),
    (b'{"type": "RECORD", "stream": "contacts", "record": {"Jos\xe9": "x"}}', "Jos\\xe9",
     "field 'Jos\\xe9' (a field name) is not UTF-8 text (byte 0xE9)"),
])
def test_a_record_holding_unclean_text_or_nan_is_a_bad_record_naming_the_field(
        decode: Any, line: bytes, field: str, reason: str) -> None:
    good = b'{"type": "RECORD", "stream": "contacts", "record": {"email": "b@x.io"}}'
    messages, bad, bad_records = records_read([good, line, good], decode)
    assert len(messages) == 2 and not bad
    [(number, bad_record)] = bad_records
    assert (number, bad_record.stream, bad_record.field) == (2, "contacts", field)
    assert bad_record.reason.startswith(reason), bad_record.reason
    assert bad_record.record.get("email") in ("a@x.io", None)


def test_without_a_record_handler_a_bad_record_is_a_bad_line_with_the_field() -> None:
    assert one_bad(BAD_BYTE).startswith("field 'firstName' is not UTF-8 text (byte 0xE9)")


@pytest.mark.parametrize(("line", "reason"), [
    (b"\xff\xfe{}", "not UTF-8 text (byte 0xFF at position 1)"),
    (b'{"type": "STATE", "value": {"a": "\xff"}}',
     "not clean JSON: 'value.a' is not UTF-8 text (byte 0xFF)"),
    (b'{"type": "RECORD", "stream": "con\xfftacts", "record": {}}',
     "not clean JSON: 'stream' is not UTF-8 text (byte 0xFF)"),
    (b'{"type": "STATE", "value": {"at": Infinity}}',
     "not clean JSON: 'value.at' is Infinity, which is not a JSON number"),
    (b'{"type": "RECORD", "stream": "s", "record": {"a": "\xed\xa0\x80"}}',  # CESU surrogate
     "field 'a' is not UTF-8 text (byte 0xED)"),
])
def test_unclean_text_outside_a_record_costs_its_line_only(line: bytes, reason: str) -> None:
    for decode in (strict_loads, msgspec.json.Decoder().decode):
        assert one_bad(line, decode).startswith(reason)


def test_the_raw_text_of_a_bad_line_shows_stray_bytes_as_escapes() -> None:
    _messages, bad = read([b"\xff oops\r\n"])
    assert bad == [(1, "not UTF-8 text (byte 0xFF at position 1)", "\\xff oops")]


def test_strict_loads_is_json_loads_without_what_rfc_8259_refuses() -> None:
    assert strict_loads(b'{"name": "Zo\xc3\xab \\ud83d\\ude00", "n": 1e3}') == {
        "name": "Zoë 😀", "n": 1000.0}
    for line in ('{"a": NaN}', '{"a": "\\udfff"}', '{"a": "x\ud800"}', b'{"a": "\xff"}'):
        with pytest.raises(ValueError):
            strict_loads(line)


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


def test_the_writer_keeps_a_record_with_a_lone_surrogate_as_an_escape(tmp_path: Path) -> None:
    path = tmp_path / "rejects.jsonl"
    out = JsonLinesFile(path)
    out.write({"record": {"firstName": "A\udcffB", "lastName": "Zoë"}})
    out.close()
    text = path.read_text(encoding="utf-8")
    assert "\\udcff" in text
    assert json.loads(text) == {"record": {"firstName": "A\udcffB", "lastName": "Zoë"}}


def test_dispatch_counts_each_type_and_hands_types_without_a_callback_on() -> None:
    seen: list[str] = []
    unknown: list[dict[str, Any]] = []
    record = '{"type": "RECORD", "stream": "s", "record": {}}'
    stats = SingerLines().dispatch(
        [STATE, record, STATE, '{"type": "ACTIVATE_VERSION", "stream": "s", "version": 1}'],
        {"STATE": lambda m: seen.append("state")}, unknown.append)
    assert seen == ["state", "state"]
    assert [m["type"] for m in unknown] == ["RECORD", "ACTIVATE_VERSION"]
    assert stats == {"STATE": 2, "RECORD": 1, "ACTIVATE_VERSION": 1}
