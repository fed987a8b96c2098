"""Run bookkeeping: the bounded de-duplication buffer, counters and the rejects file."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from activecampaign_client.jsonl import JsonLinesFile

COUNTERS = ("in", "out", "rejected", "merged", "reconciled", "skipped_create_off",
            "skipped_update_off")


class RunStats:
    def __init__(self) -> None:
        self.streams: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))

    def add(self, stream: str, counter: str, n: int = 1) -> None:
        self.streams[stream][counter] += n

    def summary_lines(self) -> list[str]:
        lines = []
        for stream, counts in self.streams.items():
            parts = " ".join(f"{k}={v}" for k, v in counts.items() if v or k in ("in", "out"))
            lines.append(f"{stream}: {parts}")
        return lines


class DedupeBuffer:
    """One record per key, at most ``max_keys`` keys before ``emit`` drains it.

    A duplicate key is merged into the buffered record: per field the last non-null value wins
    (a later null does not erase an earlier value of the same run).
    """

    def __init__(self, max_keys: int, emit: Callable[[dict[str, Any]], None]) -> None:
        self.max_keys = max_keys
        self._emit = emit
        self._records: dict[Any, dict[str, Any]] = {}

    def add(self, key: Any, record: dict[str, Any]) -> bool:
        """Buffer ``record``; True when it replaced a buffered record with the same key."""
        records = self._records
        previous = records.get(key)
        if previous is not None:
            previous.update({k: v for k, v in record.items() if v is not None})
            return True
        records[key] = record
        if len(records) >= self.max_keys:
            self.flush()
        return False

    def flush(self) -> int:
        records = self._records
        if not records:
            return 0
        self._records = {}
        emit = self._emit
        for record in records.values():
            emit(record)
        return len(records)

    def __len__(self) -> int:
        return len(self._records)


class RejectsFile:
    """JSON lines of rejected records; the file is created on the first reject.

    The mapper's entries name the direction and the key field (no personal data in logs);
    the target's carry the outcome and the x-sync its replay needs; both keep ``record``
    (replayed) or ``raw`` (an unreadable line, skipped by replay). See the READMEs.
    """

    def __init__(self, path: str, direction: str) -> None:
        self.path = path
        self.direction = direction
        self.file = JsonLinesFile(path)

    @property
    def count(self) -> int:
        return self.file.lines

    def write(
        self,
        stream: str,
        record_id: Any,
        key_field: str,
        reason: str,
        record: dict[str, Any],
        line_number: int | None = None,
    ) -> None:
        line: dict[str, Any] = {
            "rejected_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "direction": self.direction,
            "stream": stream,
            "id": record_id,
            "field": key_field,
            "reason": reason,
            "record": record,
        }
        if line_number is not None:
            line["line"] = line_number
        self._write(line)

    def write_unreadable(self, line_number: int, reason: str, raw: str) -> None:
        """An input line that is not a Singer message, kept as text (replay skips it)."""
        self._write({
            "rejected_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "direction": self.direction,
            "stream": None,
            "line": line_number,
            "reason": reason,
            "raw": raw[:100_000],
        })

    def _write(self, line: dict[str, Any]) -> None:
        self.file.write(line)

    def close(self) -> None:
        self.file.close()
