"""JSON lines, read and written once for every plugin.

``SingerLines`` reads Singer input (the mapper's and the target's): it counts lines, keeps the
current raw line (a STATE can pass through byte for byte) and hands a line that is not a
Singer message to ``on_bad_line`` (line number, reason, raw text) instead of stopping the run.
A line is decoded on its own, so one bad byte costs that line only. Beyond JSON itself a line
must be RFC 8259 JSON of Unicode text (no ``NaN``/``Infinity``, no lone surrogate, UTF-8 bytes),
nested at most ``MAX_DEPTH`` levels, and shaped like its message type (a RECORD's ``record`` an
object, its ``stream`` a name, types upper-case). A RECORD whose only fault is such a value
inside ``record`` goes to ``on_bad_record`` (a ``BadRecord`` naming the field) when set: the
plugin rejects that record like any other bad record.
``JsonLinesFile`` appends JSON objects to a file created on the first write (rejects files,
the activity log): a clean run leaves no file behind.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, AnyStr, Generic

BadLineHandler = Callable[[int, str, str], None]

MAX_DEPTH = 100  # Singer messages nest a few levels; deeper input would exhaust the stack later
SINGER_TYPES = ("RECORD", "SCHEMA", "STATE", "ACTIVATE_VERSION", "BATCH")
_WITH_STREAM = ("RECORD", "SCHEMA", "ACTIVATE_VERSION", "BATCH")
_REQUIRED = {"RECORD": ("record", dict), "SCHEMA": ("schema", dict), "STATE": ("value", None),
             "ACTIVATE_VERSION": ("version", None)}

NOT_AN_OBJECT = "not a JSON object (a Singer message is an object)"
NO_TYPE = 'missing "type" (SCHEMA, RECORD, STATE, ...)'
_LONGEST_SHALLOW = 2 * MAX_DEPTH  # a shorter line cannot hold MAX_DEPTH + 1 levels
TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep (objects and lists inside each other)"
_MAYBE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True)
class BadRecord:
    """A RECORD that is a Singer message but holds a value that is not clean JSON text."""

    stream: str
    record: dict[str, Any]
    field: str  # dotted path inside the record, e.g. "firstName" or "fields.Industry"
    reason: str  # names the field: "field 'firstName' is not UTF-8 text (byte 0xFF) ..."


BadRecordHandler = Callable[[int, BadRecord], None]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (RFC 8259)")


def strict_loads(line: str | bytes, parse_float: Callable[[str], Any] | None = None) -> Any:
    """``json.loads`` of one line, refusing what RFC 8259 refuses and ``json`` lets through:
    bytes that are not UTF-8, ``NaN``/``Infinity`` tokens and lone surrogates (ValueError)."""
    text = line.decode("utf-8") if isinstance(line, bytes) else line  # strict: no surrogates
    value = json.loads(text, parse_float=parse_float, parse_constant=_refuse_constant)
    # A lone surrogate comes from a \\uD8xx escape (or a str already holding one): look only then.
    if ((_MAYBE_SURROGATE.search(text) or (not isinstance(line, bytes) and not text.isascii()))
            and _first_unclean(value, "", False) is not None):
        raise ValueError("a string holds a lone surrogate")
    return value


class SingerLines(Generic[AnyStr]):
    """Singer messages from JSON lines (``str`` or ``bytes``), each a ``dict`` with a type.

    ``decode`` turns one line into a value and raises ``ValueError`` (or ``RecursionError``)
    when it is not strict JSON (``strict_loads``, a msgspec decoder); the reason is then worked
    out on that line alone. Without ``on_bad_line``, a bad line raises ``invalid_line``.
    """

    invalid_line: type[Exception] = ValueError

    def __init__(self, decode: Callable[[AnyStr], Any] = strict_loads) -> None:
        super().__init__()
        self.decode: Callable[[AnyStr], Any] = decode
        self.line_number = 0
        self.on_bad_line: BadLineHandler | None = None
        self.on_bad_record: BadRecordHandler | None = None
        self.current_line: AnyStr | None = None

    def messages(self, lines: Iterable[AnyStr]) -> Iterator[dict[str, Any]]:
        decode = self.decode
        number = self.line_number
        for line in lines:
            number += 1
            self.line_number = number
            self.current_line = line
            try:
                message = decode(line)
            except (ValueError, RecursionError) as exc:
                if line.strip():  # a blank line is skipped (checked here: rare, and strip copies)
                    self._refused(line, exc)
                continue
            if type(message) is not dict:
                self.bad_line(NOT_AN_OBJECT, line)
                continue
            # the usual case costs three lookups; anything else gets the full shape check
            stream = message.get("stream")
            if (message.get("type") != "RECORD" or type(message.get("record")) is not dict
                    or type(stream) is not str or not stream):
                problem = shape_problem(message)
                if problem is not None:
                    self.bad_line(problem, line)
                    continue
            # Too deep needs more than MAX_DEPTH "{" or "[" (and as many closers): only a line
            # long enough is counted, and only one with that many is walked.
            if len(line) > _LONGEST_SHALLOW:
                if isinstance(line, bytes):
                    opened = line.count(b"{") + line.count(b"[")
                else:
                    opened = line.count("{") + line.count("[")
                if opened > MAX_DEPTH and nesting_depth(message) > MAX_DEPTH:
                    self.bad_line(TOO_DEEP, line)
                    continue
            yield message

    def dispatch(self, lines: Iterable[AnyStr], callbacks: Mapping[str, Callable[[dict], None]],
                 unknown: Callable[[dict], None]) -> Counter[str]:
        """Hand each message to the callback of its type (``unknown`` without one); the
        count of messages per type."""
        stats: Counter[str] = Counter()
        on_record = callbacks.get("RECORD")
        records = 0  # counted apart: the one type that comes by the million
        for message in self.messages(lines):
            kind = message["type"]
            if kind == "RECORD" and on_record is not None:
                on_record(message)
                records += 1
                continue
            callback = callbacks.get(kind)
            if callback is None:
                unknown(message)
            else:
                callback(message)
            stats[kind] += 1
        if records:
            stats["RECORD"] += records
        return stats

    def _refused(self, line: AnyStr, exc: BaseException) -> None:
        """The decoder refused ``line``: say why, naming the field when one value is at fault."""
        reason, bad_record = diagnose(line, exc)
        if bad_record is not None and self.on_bad_record is not None:
            self.on_bad_record(self.line_number, bad_record)
        else:
            self.bad_line(reason, line)

    def bad_line(self, reason: str, line: AnyStr) -> None:
        if self.on_bad_line is None:
            raise self.invalid_line(
                f"Input line {self.line_number} is not a Singer message: {reason}")
        self.on_bad_line(self.line_number, reason, raw_text(line))


def raw_text(line: str | bytes) -> str:
    """A line as text for logs and rejects files: bytes that are not UTF-8 shown as ``\\xff``."""
    text = line.decode("utf-8", "backslashreplace") if isinstance(line, bytes) else line
    return text.rstrip("\r\n")


def shape_problem(message: dict[str, Any]) -> str | None:
    """Why a decoded JSON object is not a Singer message of its type (None: it is one).
    A type Singer does not define is one too: the plugin could only fail on it."""
    kind = message.get("type")
    if kind is None:
        return NO_TYPE
    if not isinstance(kind, str):
        return f'a message whose "type" is {describe(kind)}, not a name (SCHEMA, RECORD, ...)'
    if kind not in SINGER_TYPES:
        upper = kind.strip().upper()
        if upper in SINGER_TYPES:
            return f'of type "{kind}": Singer message types are upper-case ("{upper}")'
        return f'of unknown type "{kind}" (Singer types: {", ".join(SINGER_TYPES)})'
    if kind in _WITH_STREAM:
        if "stream" not in message:
            return f'a {kind} without "stream"'
        stream = message["stream"]
        if not isinstance(stream, str) or not stream:
            return f'a {kind} whose "stream" is {describe(stream)}, not a stream name'
    key, wanted = _REQUIRED.get(kind, (None, None))
    if key is not None:
        if key not in message:
            return f'a {kind} without "{key}"'
        if wanted is dict and type(message[key]) is not dict:
            return f'a {kind} whose "{key}" is {describe(message[key])}, not an object'
    return None


def describe(value: Any) -> str:
    """A JSON value in a message: ``null``, ``a list [1, 2]``, ``a string "x"``."""
    if value is None:
        return "null"
    kind = ("a boolean" if isinstance(value, bool) else "a number"
            if isinstance(value, int | float) else "a list" if isinstance(value, list)
            else "a string" if isinstance(value, str) else "an object")
    text = json.dumps(value, default=str)
    return f"{kind} {text if len(text) <= 40 else text[:37] + '...'}"


def nesting_depth(value: Any) -> int:
    """Levels of objects and lists (``{}`` is 1), without recursion."""
    depth = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth = max(depth, level)
        if depth > MAX_DEPTH:
            return depth
        stack.extend((child, level + 1) for child in children)
    return depth


class _Token(float):
    """A ``NaN``/``Infinity``/``-Infinity`` token, kept as the float it names."""

    name: str

    def __new__(cls, name: str) -> _Token:
        token = super().__new__(cls, name)
        token.name = name
        return token


def diagnose(line: str | bytes, exc: BaseException) -> tuple[str, BadRecord | None]:
    """Why the decoder refused ``line``: the reason and, when the line is a RECORD whose only
    fault is one value inside ``record``, the ``BadRecord`` naming that field."""
    bad_bytes, first = False, ""
    if isinstance(line, bytes):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as err:
            bad_bytes = True
            first = f"byte 0x{line[err.start]:02X} at position {err.start + 1}"
            text = line.decode("utf-8", "surrogateescape")  # the byte becomes U+DCxx
    else:
        text = line
    try:
        value = json.loads(text, parse_constant=_Token)
    except RecursionError:
        return TOO_DEEP, None
    except ValueError as err:
        if bad_bytes:
            return f"not UTF-8 text ({first})", None
        return f"not valid JSON ({err})", None
    if not isinstance(value, dict):
        return NOT_AN_OBJECT, None
    problem = shape_problem(value)
    if problem is not None:
        return problem, None
    if nesting_depth(value) > MAX_DEPTH:
        return TOO_DEEP, None
    found = _first_unclean(value, "", bad_bytes)
    if found is None:  # the decoder's own limit (e.g. a number out of its range)
        return f"not valid JSON ({exc})", None
    path, what = found
    if value.get("type") == "RECORD" and path.startswith("record."):
        field = path[len("record."):]
        reason = f"field '{field}' {what}"
        return reason, BadRecord(value["stream"], value["record"], field, reason)
    return f"not clean JSON: '{path}' {what}", None


def _first_unclean(value: Any, path: str, bad_bytes: bool) -> tuple[str, str] | None:
    """(dotted path, what is wrong) of the first value that is not clean JSON text."""
    if isinstance(value, str):
        what = _unclean_text(value, bad_bytes)
        return (path, what) if what else None
    if isinstance(value, float):
        if isinstance(value, _Token):
            return path, f"is {value.name}, which is not a JSON number (RFC 8259); send null " \
                         "or a number"
        if not math.isfinite(value):
            return path, "is a number too large for a 64-bit float"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{_printable(key, bad_bytes)}" if path else _printable(key, bad_bytes)
            what = _unclean_text(key, bad_bytes)
            if what:
                return name, f"(a field name) {what}"
            found = _first_unclean(item, name, bad_bytes)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_unclean(item, f"{path}[{index}]", bad_bytes)
            if found:
                return found
    return None


def _unclean_text(text: str, bad_bytes: bool) -> str | None:
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        code = ord(text[err.start])
        if bad_bytes and 0xDC80 <= code <= 0xDCFF:  # a byte surrogateescape kept
            return f"is not UTF-8 text (byte 0x{code - 0xDC00:02X}); fix the encoding at " \
                   "the source (UTF-8)"
        return f"holds a lone surrogate (\\u{code:04x}), which is not Unicode text; fix the " \
               "value at the source"
    return None


def _printable(text: str, bad_bytes: bool) -> str:
    """A field name for messages: a stray byte as ``\\xe9``, a lone surrogate as ``\\ud800``."""
    if text.isascii():
        return text
    return "".join(f"\\x{ord(c) - 0xDC00:02x}" if bad_bytes and 0xDC80 <= ord(c) <= 0xDCFF
                   else f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


class JsonLinesFile:
    """Append-only JSON-lines file, opened on the first write; safe across threads."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self._fh: IO[str] | None = None
        self._lock = threading.Lock()
        self.lines = 0

    def write(self, obj: dict[str, Any]) -> None:
        if self.path is None:
            return
        text = json.dumps(obj, default=str, ensure_ascii=False)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate in a kept record: \\uXXXX escapes
                text = json.dumps(obj, default=str)
        with self._lock:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self.path.open("a", encoding="utf-8")
            self._fh.write(text + "\n")
            self.lines += 1

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
