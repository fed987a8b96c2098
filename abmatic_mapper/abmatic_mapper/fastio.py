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
    """Reads Singer lines (bytes or str) with msgspec."""

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
            snippet = line[:200] if isinstance(line, (bytes, str)) else line
            msg = f"Unable to parse line as JSON: {snippet!r}"
            raise InvalidInputLine(msg) from exc
        if not isinstance(value, dict):
            msg = f"A Singer message must be a JSON object: {line[:200]!r}"
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
        for line in filein:
            if not line.strip():
                continue
            self._current_message = line  # type: ignore[assignment]
            message = decode(line)  # type: ignore[arg-type]
            kind = message.get("type")
            if kind == "RECORD":
                record_cb(message)
                n_records += 1
                continue
            if kind is None:
                msg = f"Line is missing required type key(s): {str(line)[:200]}"
                raise InvalidInputLine(msg)
            callback = lookup.get(kind)
            if callback is None:
                self._process_unknown_message(message)
            else:
                callback(message)
            stats[kind] += 1
        stats["RECORD"] += n_records
        return stats


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
