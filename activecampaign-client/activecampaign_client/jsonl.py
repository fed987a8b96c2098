"""JSON lines, read and written once for every plugin.

``SingerLines`` reads Singer input (the mapper's and the target's): it counts lines, keeps the
current raw line (a STATE can pass through byte for byte) and hands a line that is not a
Singer message to ``on_bad_line`` (line number, reason, raw line) instead of stopping the run.
``JsonLinesFile`` appends JSON objects to a file created on the first write (rejects files,
the activity log): a clean run leaves no file behind.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, AnyStr, Generic

BadLineHandler = Callable[[int, str, Any], None]

NOT_AN_OBJECT = "not a JSON object (a Singer message is an object)"
NO_TYPE = 'missing "type" (SCHEMA, RECORD, STATE, ...)'
RECORD_SHAPE = 'a RECORD without "stream" or "record"'


class SingerLines(Generic[AnyStr]):
    """Singer messages from JSON lines (``str`` or ``bytes``), each a ``dict`` with a type.

    ``decode`` turns one line into a value and raises ``ValueError`` when it is not JSON
    (``json.loads``, a msgspec decoder). Without ``on_bad_line``, a bad line raises
    ``invalid_line``.
    """

    invalid_line: type[Exception] = ValueError
    check_records = False  # a RECORD without "stream" or "record" is a bad line too

    def __init__(self, decode: Callable[[AnyStr], Any] = json.loads) -> None:
        super().__init__()
        self.decode: Callable[[AnyStr], Any] = decode
        self.line_number = 0
        self.on_bad_line: BadLineHandler | None = None
        self.current_line: AnyStr | None = None

    def messages(self, lines: Iterable[AnyStr]) -> Iterator[dict[str, Any]]:
        decode = self.decode
        number = self.line_number
        for line in lines:
            number += 1
            self.line_number = number
            if not line.strip():
                continue
            self.current_line = line
            try:
                message = decode(line)
            except ValueError as exc:
                self.bad_line(f"not valid JSON ({exc})", line)
                continue
            if not isinstance(message, dict):
                self.bad_line(NOT_AN_OBJECT, line)
                continue
            kind = message.get("type")
            if kind is None:
                self.bad_line(NO_TYPE, line)
                continue
            if (kind == "RECORD" and self.check_records
                    and ("record" not in message or "stream" not in message)):
                self.bad_line(RECORD_SHAPE, line)
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

    def bad_line(self, reason: str, line: AnyStr) -> None:
        if self.on_bad_line is None:
            raise self.invalid_line(
                f"Input line {self.line_number} is not a Singer message: {reason}")
        self.on_bad_line(self.line_number, reason, line)


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
        with self._lock:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self.path.open("a", encoding="utf-8")
            self._fh.write(json.dumps(obj, default=str, ensure_ascii=False) + "\n")
            self.lines += 1

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
