"""Reading the Singer input: line numbers, unreadable lines and record-shape errors.

A broken line or a record that does not fit its schema is reported with its line number (and
the field), kept in the rejects file, and the rest of the input is still pushed; the run then
ends with a non-zero exit and without a STATE message, so nothing is lost. Input is read as
bytes and decoded line by line (a byte that is not UTF-8 costs its line, or its record).
"""

from __future__ import annotations

import json
import sys
import typing as t
from collections.abc import Callable
from decimal import Decimal
from functools import partial

from singer_sdk.io_base import SingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine

from activecampaign_client.jsonl import SingerLines, strict_loads

if t.TYPE_CHECKING:
    from jsonschema import ValidationError


class LineReader(SingerLines[bytes], SingerReader):
    """The SDK's reader with the client's line reader: lines counted, an unreadable line goes
    to ``on_bad_line`` (line number, reason, raw text) and a record holding a value that is not
    clean JSON text to ``on_bad_record``, instead of stopping the run with a traceback. Numbers
    keep the SDK's decoding (floats as Decimal); NaN and Infinity are refused (RFC 8259)."""

    invalid_line = InvalidInputLine

    def __init__(self) -> None:
        SingerLines.__init__(self, partial(strict_loads, parse_float=Decimal))

    @property
    def default_input(self) -> t.IO[bytes]:  # type: ignore[override]
        return sys.stdin.buffer

    def process_lines(
        self,
        file_input: t.IO[str] | t.IO[bytes] | None,
        callbacks: dict[str, Callable[[dict], None]],
    ) -> t.Counter[str]:
        # --input opens a text file: read its bytes, so decoding stays per line
        source = getattr(file_input, "buffer", file_input) or self.default_input
        return self.dispatch(t.cast(t.IO[bytes], source), callbacks, self._process_unknown_message)


def describe_invalid(error: ValidationError | None, fallback: str) -> tuple[str, str]:
    """(field, message) for a JSON Schema validation error of a pushed record."""
    if error is None:
        return "", fallback
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return missing, f"required field {missing!r} is missing"
    name = ".".join(path) or "(record)"
    expected = error.validator_value
    if error.validator == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else str(expected)
        got = type(error.instance).__name__
        return name, f"field {name!r} must be {wanted}, got {got} {_short(error.instance)}"
    return name, f"field {name!r}: {error.message[:200]}"


def _short(value: t.Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
