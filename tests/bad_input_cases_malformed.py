"""Bad-input catalogue: malformed Singer input into the target and the mapper (issue 14).

What an upstream tap may emit: a RECORD whose ``record`` is null, a list, a string or a number,
a RECORD without ``record`` or ``stream``, a SCHEMA whose ``schema`` is not an object, a
lower-case type, nesting deep enough to exhaust the stack, a byte that is not UTF-8, a lone
surrogate (``"\\ud800"``), ``NaN`` / ``Infinity``. Each is fed between two good records, as
bytes on stdin, and must get the treatment of any bad input: a message with its input line,
the line (or the record) kept in the rejects file with the reason, the good records around it
written, STATE held back only when a line could not be handled, and no traceback.

A line that is not a usable Singer message fails the run at the end (exit 1, no STATE past it);
a RECORD whose only fault is one value (bad text, NaN) is a rejected record naming the field,
like a control character in a name: exit 0, STATE advances, the record sits in the rejects file.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from bad_input_helpers import (
    BIN,
    KEY,
    Env,
    Run,
    case,
    failed_cleanly,
    mapper_rejected,
    record,
    rejected,
    schema,
    written,
)

STATE_VALUE = {"bookmarks": {"contacts": {"replication_key_value": "2024-05-01"}}}
STATE = {"type": "STATE", "value": STATE_VALUE}
PUSH_SCHEMA = {"type": "SCHEMA", "stream": "contacts", "schema": {"type": "object"},
               "key_properties": ["work_email"]}
DEEP = 5000  # beyond Python's recursion limit
FAIRLY_DEEP = 150  # within it, beyond the readers' limit (100)


def feed(env: Env, plugin: str, data: bytes, **config: Any) -> Run:
    """``plugin --config config.json`` with ``data`` on stdin, as bytes (a byte that is not
    UTF-8 cannot travel in the str ``run_plugin`` takes); its defaults otherwise."""
    work = env.workdir
    work.mkdir(parents=True, exist_ok=True)
    cfg: dict[str, Any] = {"rejects_path": str(work / "rejects.jsonl")}
    if plugin == "target-activecampaign":
        cfg.update(api_url=env.base_url, api_key=KEY, requests_per_second=1000,
                   bulk_requests_per_minute=6000, bulk_poll_interval=0.05,
                   activity_log_path=str(work / "activity.jsonl"))
    else:
        cfg["direction"] = "push"
    cfg.update(config)
    (work / "config.json").write_text(json.dumps(cfg))
    proc = subprocess.run([str(BIN / plugin), "--config", str(work / "config.json")],
                          input=data, capture_output=True, cwd=work, timeout=90, check=False)
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(work.iterdir())
             if p.is_file() and p.name.endswith(".jsonl")}
    return Run(plugin, proc.returncode, proc.stdout.decode("utf-8", "backslashreplace"),
               proc.stderr.decode("utf-8", "backslashreplace"), work, files)


def as_line(message: dict[str, Any] | str | bytes) -> bytes:
    if isinstance(message, bytes):
        return message
    return message.encode() if isinstance(message, str) else json.dumps(message).encode()


def around(first: dict[str, Any], good: list[dict[str, Any]], *bad: str | bytes) -> bytes:
    """``first`` (a SCHEMA), good[0], the bad lines (input lines 3, 4, ...), good[1], STATE."""
    lines = [first, good[0], *bad, good[1], STATE]
    return b"".join(as_line(m) + b"\n" for m in lines)


def bad_record(stream: str, record_json: str) -> str:
    return '{"type": "RECORD", "stream": "' + stream + '", "record": ' + record_json + "}"


def nested(levels: int, key: str = "email", email: str = "deep@x.io") -> str:
    return bad_record("contacts", '{"' + key + '": "' + email + '", "fields": {"Notes": '
                      + "[" * levels + "]" * levels + "}}")


# ----------------------------------------------------------------------------- target
def target_around(env: Env, name: str, *bad: str | bytes) -> tuple[Run, str, str]:
    a, b = f"{name}-a@x.io", f"{name}-b@x.io"
    data = around(schema("contacts"), [record("contacts", {"email": a}),
                                       record("contacts", {"email": b})], *bad)
    return feed(env, "target-activecampaign", data), a, b


def target_lines_refused(env: Env, name: str, bad: list[str | bytes],
                         reasons: list[str]) -> Run:
    """Each bad line: its number and reason logged, kept as `unreadable` with its raw text;
    the good contacts around it created; no STATE; exit 1 at the end, no traceback."""
    run, a, b = target_around(env, name, *bad)
    failed_cleanly(run, *(f"Input line {n} is {reason}" for n, reason in
                          enumerate(reasons, start=3)))
    written(run, env, a, b)
    kept = [r for r in run.rejects if r["outcome"] == "unreadable"]
    assert [r["line"] for r in kept] == list(range(3, 3 + len(bad))), run.rejects
    for entry, reason, line in zip(kept, reasons, bad, strict=True):
        assert reason in entry["reason"], entry
        assert entry["raw"][:30] == as_line(line).decode("utf-8", "backslashreplace")[:30]
    logged = {a["key"] for a in run.activity if a.get("object") == "input"}
    assert logged == {f"input line {n}" for n in range(3, 3 + len(bad))}, run.activity
    assert run.stdout.strip() == "", run.stdout  # STATE held back: it covers the lost lines
    return run


def target_record_refused(env: Env, name: str, bad_line: str | bytes, email: str,
                          *fragments: str) -> Run:
    """The record is rejected naming its field (not created with garbage); the good contacts
    around it created; STATE emitted (every record was handled); exit 0, no traceback."""
    run, a, b = target_around(env, name, bad_line)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    rejected(run, email, "Input line 3: ", *fragments)
    written(run, env, a, b)
    assert email not in env.emails()
    assert run.messages == [STATE_VALUE], run.stdout
    return run


@case("target-malformed-record-null")
def _(env: Env) -> None:
    target_lines_refused(env, "tm1", [bad_record("contacts", "null")],
                         ['a RECORD whose "record" is null, not an object'])


@case("target-malformed-record-list")
def _(env: Env) -> None:
    target_lines_refused(env, "tm2", [bad_record("contacts", "[1]")],
                         ['a RECORD whose "record" is a list [1], not an object'])


@case("target-malformed-record-string")
def _(env: Env) -> None:
    target_lines_refused(env, "tm3", [bad_record("contacts", '"str"')],
                         ['a RECORD whose "record" is a string "str", not an object'])


@case("target-malformed-record-without-record")
def _(env: Env) -> None:
    run = target_lines_refused(env, "tm4", ['{"type": "RECORD", "stream": "contacts"}'],
                               ['a RECORD without "record"'])
    assert "Line is missing required" not in run.stderr  # the SDK's stop, without a line


@case("target-malformed-schema-null")
def _(env: Env) -> None:
    target_lines_refused(env, "tm5", ['{"type": "SCHEMA", "stream": "contacts", "schema": null}'],
                         ['a SCHEMA whose "schema" is null, not an object'])


@case("target-malformed-other-shapes")
def _(env: Env) -> None:
    target_lines_refused(
        env, "tm6",
        [bad_record("contacts", "42"), '{"type": "RECORD", "record": {"email": "tm6x@x.io"}}',
         '{"type": "RECORD", "stream": 7, "record": {"email": "tm6y@x.io"}}',
         '{"type": "SCHEMA", "stream": "contacts", "schema": ["email"]}'],
        ['a RECORD whose "record" is a number 42, not an object', 'a RECORD without "stream"',
         'a RECORD whose "stream" is a number 7, not a stream name',
         'a SCHEMA whose "schema" is a list ["email"], not an object'])


@case("target-malformed-nested-too-deep")
def _(env: Env) -> None:
    too_deep = "nested more than 100 levels deep"
    target_lines_refused(env, "tm7", [nested(DEEP), nested(FAIRLY_DEEP)], [too_deep, too_deep])
    assert "deep@x.io" not in env.emails()


@case("target-malformed-lower-case-type")
def _(env: Env) -> None:
    target_lines_refused(
        env, "tm8", ['{"type": "record", "stream": "contacts", "record": {"email": "tm8x@x.io"}}'],
        ['of type "record": Singer message types are upper-case ("RECORD")'])
    assert "tm8x@x.io" not in env.emails()  # not guessed


@case("target-invalid-utf8-byte-in-name")
def _(env: Env) -> None:
    line = b'{"type": "RECORD", "stream": "contacts", "record": {"email": "tm9x@x.io", ' \
           b'"firstName": "Jos\xe9"}}'  # Latin-1, not UTF-8
    run = target_record_refused(env, "tm9", line, "tm9x@x.io",
                                "field 'firstName' is not UTF-8 text (byte 0xE9)")
    assert run.rejects[0]["record"]["firstName"] == "Jos\udce9"  # the byte, kept


@case("target-lone-surrogate-in-name")
def _(env: Env) -> None:
    line = bad_record("contacts", '{"email": "tm10x@x.io", "lastName": "Smith\\ud800"}')
    run = target_record_refused(env, "tm10", line, "tm10x@x.io",
                                "field 'lastName' holds a lone surrogate (\\ud800)")
    assert run.rejects[0]["record"]["lastName"] == "Smith\ud800"


@case("target-nan-and-infinity-in-fields")
def _(env: Env) -> None:
    for n, (token, field, value) in enumerate((
            ("NaN", "firstName", '"firstName": NaN'), ("Infinity", "phone", '"phone": Infinity'),
            ("-Infinity", "fields.Lead Score", '"fields": {"Lead Score": -Infinity}'))):
        email = f"tm11x{n}@x.io"
        line = bad_record("contacts", f'{{"email": "{email}", {value}}}')
        target_record_refused(env, f"tm11-{n}", line, email,
                              f"field '{field}' is {token}, which is not a JSON number")
        assert not any(c.get("phone") in ("inf", "Infinity") for c in env.objects("contacts"))


@case("target-invalid-utf8-byte-outside-a-record")
def _(env: Env) -> None:
    bad_stream = b'{"type": "RECORD", "stream": "cont\xe9cts", "record": {}}'
    target_lines_refused(env, "tm12", [b"\xef\xbb\xbf\xff{}", bad_stream],
                         ["not UTF-8 text (byte 0xFF at position 4)",
                          "not clean JSON: 'stream' is not UTF-8 text (byte 0xE9)"])


# ----------------------------------------------------------------------------- mapper
def mapper_around(env: Env, name: str, *bad: str | bytes) -> tuple[Run, str, str]:
    a, b = f"{name}-a@x.io", f"{name}-b@x.io"
    data = around(PUSH_SCHEMA, [record("contacts", {"work_email": a}),
                                record("contacts", {"work_email": b})], *bad)
    return feed(env, "abmatic-mapper", data), a, b


def states(run: Run) -> list[dict[str, Any]]:
    return [m for m in run.messages if m.get("type") == "STATE"]


def mapper_lines_refused(env: Env, name: str, bad: list[str | bytes],
                         reasons: list[str]) -> Run:
    """Each bad line logged with its number and kept (`raw` + reason); the good records around
    it mapped; STATE held back; exit 1 at the end (as for any unreadable line), no traceback."""
    run, a, b = mapper_around(env, name, *bad)
    failed_cleanly(run, *(f"Input line {n} is {reason}" for n, reason in
                          enumerate(reasons, start=3)))
    assert [r["email"] for r in run.records("contacts")] == [a, b], run.stdout[-1000:]
    assert [r["line"] for r in run.rejects] == list(range(3, 3 + len(bad))), run.rejects
    for entry, reason in zip(run.rejects, reasons, strict=True):
        assert reason in entry["reason"] and entry["raw"], entry
    assert states(run) == []
    return run


def mapper_record_refused(env: Env, name: str, bad_line: str | bytes, field: str,
                          reason: str) -> Run:
    """The record is rejected naming its field; the good records around it mapped; STATE
    passes (the record was handled); exit 0."""
    run, a, b = mapper_around(env, name, bad_line)
    mapper_rejected(run, 3, field, reason)
    assert "Traceback" not in run.stderr
    assert [r["email"] for r in run.records("contacts")] == [a, b], run.stdout[-1000:]
    assert states(run) == [STATE]
    return run


@case("mapper-invalid-utf8-byte-in-a-value")
def _(env: Env) -> None:
    line = b'{"type": "RECORD", "stream": "contacts", "record": {"work_email": "mm1x@x.io", ' \
           b'"first_name": "Ren\xe9e"}}'
    run = mapper_record_refused(env, "mm1", line, "first_name",
                                "field 'first_name' is not UTF-8 text (byte 0xE9)")
    assert "mm1x@x.io" not in run.stdout


@case("mapper-invalid-utf8-bytes-between-records")
def _(env: Env) -> None:
    mapper_lines_refused(env, "mm2", [b"\x80\x81\x82",
                                      b'{"type": "STATE", "value": {"c\xff": 1}}'],
                         ["not UTF-8 text (byte 0x80 at position 1)",
                          "not clean JSON: 'value.c\\xff' (a field name) is not UTF-8 text"])


@case("mapper-malformed-nested-too-deep")
def _(env: Env) -> None:
    too_deep = "nested more than 100 levels deep"
    mapper_lines_refused(env, "mm3", [nested(DEEP, "work_email"), nested(FAIRLY_DEEP,
                                                                         "work_email")],
                         [too_deep, too_deep])


@case("mapper-malformed-record-null")
def _(env: Env) -> None:
    mapper_lines_refused(env, "mm4", [bad_record("contacts", "null")],
                         ['a RECORD whose "record" is null, not an object'])


@case("mapper-malformed-record-list")
def _(env: Env) -> None:
    mapper_lines_refused(env, "mm5", [bad_record("contacts", "[1, 2]")],
                         ['a RECORD whose "record" is a list [1, 2], not an object'])


@case("mapper-malformed-lower-case-type")
def _(env: Env) -> None:
    run = mapper_lines_refused(
        env, "mm6", ['{"type": "record", "stream": "contacts", "record": {"work_email": '
                     '"mm6x@x.io"}}'],
        ['of type "record": Singer message types are upper-case ("RECORD")'])
    assert "mm6x@x.io" not in run.stdout  # not guessed


@case("mapper-malformed-other-shapes")
def _(env: Env) -> None:
    mapper_lines_refused(
        env, "mm7",
        [bad_record("contacts", '"str"'), '{"type": "RECORD", "record": {"work_email": "x"}}',
         '{"type": "SCHEMA", "stream": "contacts", "schema": null}'],
        ['a RECORD whose "record" is a string "str", not an object',
         'a RECORD without "stream"', 'a SCHEMA whose "schema" is null, not an object'])


@case("mapper-lone-surrogate-in-name")
def _(env: Env) -> None:
    mapper_record_refused(env, "mm8",
                          bad_record("contacts", '{"work_email": "mm8x@x.io", '
                                                 '"last_name": "\\udc00Lee"}'),
                          "last_name", "field 'last_name' holds a lone surrogate (\\udc00)")


@case("mapper-nan-in-a-field")
def _(env: Env) -> None:
    mapper_record_refused(env, "mm9",
                          bad_record("contacts", '{"work_email": "mm9x@x.io", '
                                                 '"engagement_score": NaN}'),
                          "engagement_score", "field 'engagement_score' is NaN, which is not")
