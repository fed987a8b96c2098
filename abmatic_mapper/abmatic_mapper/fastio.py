"""Fast Singer I/O: msgspec line parsing and a buffered byte writer.

The SDK's default reader/writer validate nothing either, but build a ``Message`` object and
flush stdout per message; at mapper volumes that dominates. This reader hands each parsed
message to the SDK's callbacks and keeps the raw line (STATE passes through byte for byte);
the writer buffers encoded lines and writes to whatever ``sys.stdout`` is at flush time (so
``contextlib.redirect_stdout`` works, as in the SDK's ``sync_end_to_end``).
"""

from __future__ import annotations

import sys
import typing as t
from collections import Counter

import msgspec
from singer_sdk.singerlib.encoding.base import GenericSingerReader, GenericSingerWriter
from singer_sdk.singerlib.exceptions import InvalidInputLine

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder(enc_hook=str)
encode = _encoder.encode
_FLUSH_AT = 1 << 16


class FastReader(GenericSingerReader[bytes]):
    """Reads Singer lines (bytes or str) with msgspec, counting lines.

    With ``on_bad_line`` set (line number, reason, raw line), a line that is not a Singer
    message is handed to it and reading goes on; without it, such a line raises.
    """

    def __init__(self) -> None:
        super().__init__()
        self.line_number = 0
        self.on_bad_line: t.Callable[[int, str, bytes | str], None] | None = None

    @property
    def default_input(self) -> t.IO[bytes]:
        return sys.stdin.buffer

    @property
    def current_line(self) -> bytes | str | None:
        return self._current_message

    def deserialize_json(self, line: bytes) -> dict:
        try:
            value = _decoder.decode(line)
        except msgspec.DecodeError as exc:
            msg = f"not valid JSON ({exc})"
            raise InvalidInputLine(msg) from exc
        if not isinstance(value, dict):
            msg = "not a JSON object (a Singer message is an object)"
            raise InvalidInputLine(msg)
        return value

    def process_lines(
        self,
        file_input: t.IO[bytes] | None,
        callbacks: dict[str, t.Callable[[dict], None]],
    ) -> t.Counter[str]:
        stats: Counter[str] = Counter()
        filein: t.Iterable[bytes | str] = file_input or self.default_input
        decode = self.deserialize_json
        lookup = {str(k.value if hasattr(k, "value") else k): v for k, v in callbacks.items()}
        record_cb = lookup["RECORD"]
        n_records = 0
        number = self.line_number
        for line in filein:
            number += 1
            self.line_number = number
            if not line.strip():
                continue
            self._current_message = line  # type: ignore[assignment]
            try:
                message = decode(line)  # type: ignore[arg-type]
            except InvalidInputLine as exc:
                self._bad(str(exc), line)
                continue
            kind = message.get("type")
            if kind == "RECORD":
                if "record" not in message or "stream" not in message:
                    self._bad('a RECORD without "stream" or "record"', line)
                    continue
                record_cb(message)
                n_records += 1
                continue
            if kind is None:
                self._bad('missing "type" (SCHEMA, RECORD, STATE, ...)', line)
                continue
            callback = lookup.get(kind)
            if callback is None:
                self._process_unknown_message(message)
            else:
                callback(message)
            stats[kind] += 1
        stats["RECORD"] += n_records
        return stats

    def _bad(self, reason: str, line: bytes | str) -> None:
        if self.on_bad_line is None:
            raise InvalidInputLine(f"Input line {self.line_number} is not a Singer message: "
                                   f"{reason}")
        self.on_bad_line(self.line_number, reason, line)


class FastWriter(GenericSingerWriter[bytes, t.Any]):
    """Buffers encoded Singer lines; ``flush`` hands them to the current stdout."""

    def __init__(self) -> None:
        super().__init__()
        self._buf = bytearray()

    def serialize_message(self, message: t.Any) -> bytes:
        payload = message.to_dict() if hasattr(message, "to_dict") else message
        return encode(payload) + b"\n"

    def write_message(self, message: t.Any) -> None:
        self.write_line(self.serialize_message(message))

    def write_line(self, line: bytes) -> None:
        buf = self._buf
        buf += line
        if len(buf) >= _FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        out = sys.stdout
        if self._buf:
            data = bytes(self._buf)
            self._buf.clear()
            binary = getattr(out, "buffer", None)
            if binary is not None:
                out.flush()
                binary.write(data)
            else:
                out.write(data.decode("utf-8"))
        out.flush()
