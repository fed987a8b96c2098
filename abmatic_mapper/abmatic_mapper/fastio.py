"""Fast Singer I/O: msgspec line parsing and a buffered byte writer.

The SDK's default reader/writer validate nothing either, but build a ``Message`` object and
flush stdout per message; at mapper volumes that dominates. This reader (the client's
``SingerLines`` with msgspec) hands each parsed message to the SDK's callbacks and keeps the
raw line (STATE passes through byte for byte);
the writer buffers encoded lines and writes to whatever ``sys.stdout`` is at flush time (so
``contextlib.redirect_stdout`` works, as in the SDK's ``sync_end_to_end``).
"""

from __future__ import annotations

import sys
import typing as t

import msgspec
import singer_sdk.singerlib as singer
from singer_sdk.singerlib.encoding.base import (
    GenericSingerReader,
    GenericSingerWriter,
    SingerMessageType,
)
from singer_sdk.singerlib.exceptions import InvalidInputLine

from activecampaign_client.jsonl import NOT_AN_OBJECT, SingerLines

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder(enc_hook=str)
encode = _encoder.encode
_FLUSH_AT = 1 << 16


class FastReader(SingerLines[bytes], GenericSingerReader[bytes]):
    """The client's Singer line reader with msgspec, on bytes. msgspec refuses what strict
    JSON refuses (bytes that are not UTF-8, lone surrogates, NaN), so the fast path checks
    nothing more; a refused line alone is then diagnosed by the client's reader."""

    invalid_line = InvalidInputLine

    def __init__(self) -> None:
        SingerLines.__init__(self, _decoder.decode)

    @property
    def default_input(self) -> t.IO[bytes]:
        return sys.stdin.buffer

    def deserialize_json(self, line: bytes) -> dict:
        value = self.decode(line)
        if not isinstance(value, dict):
            raise InvalidInputLine(NOT_AN_OBJECT)
        return value

    def process_lines(
        self,
        file_input: t.IO[bytes] | None,
        callbacks: dict[str, t.Callable[[dict], None]],
    ) -> t.Counter[str]:
        # --input opens a text file: read its bytes, so decoding stays per line
        source = getattr(file_input, "buffer", file_input) or self.default_input
        return self.dispatch(source, callbacks, self._process_unknown_message)


class EncodedMessage(singer.Message):
    """A Singer message the mapper has already encoded as one JSON line (no dict -> Message ->
    dict round trip per record); ``to_dict`` decodes it for callers of the SDK hooks.
    ``flush``: hand the output to stdout after this line (a STATE)."""

    __slots__ = ("flush", "line")

    def __init__(self, kind: SingerMessageType, line: bytes, flush: bool = False) -> None:
        self.type = kind
        self.line = line
        self.flush = flush

    def to_dict(self) -> dict[str, t.Any]:
        return t.cast("dict[str, t.Any]", _decoder.decode(self.line))


class FastWriter(GenericSingerWriter[bytes, t.Any]):
    """Buffers encoded Singer lines; ``flush`` hands them to the current stdout."""

    def __init__(self) -> None:
        super().__init__()
        self._buf = bytearray()

    def serialize_message(self, message: t.Any) -> bytes:
        if isinstance(message, EncodedMessage):
            return message.line
        payload = message.to_dict() if hasattr(message, "to_dict") else message
        return encode(payload) + b"\n"

    def write_message(self, message: t.Any) -> None:
        if type(message) is EncodedMessage:
            buf = self._buf
            buf += message.line
            if message.flush or len(buf) >= _FLUSH_AT:
                self.flush()
        else:
            self.write_line(self.serialize_message(message))

    def write_messages(self, messages: t.Iterable[EncodedMessage]) -> None:
        buf = self._buf
        for message in messages:
            buf += message.line
            if len(buf) >= _FLUSH_AT:
                self.flush()

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
