"""The activity log (JSON lines, one per record), the rejects file and the run summary."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from activecampaign_client.jsonl import JsonLinesFile
from activecampaign_client.redact import scrub, scrub_value

OUTCOMES = ("created", "updated", "unchanged", "skipped", "rejected", "failed")

MESSAGES = {
    "created": "Created new record",
    "updated": "Updated record",
    "unchanged": "Synced successfully",
    "duplicate": "Error: duplicate",
}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_redacted(file: JsonLinesFile, line: dict[str, Any]) -> dict[str, Any]:
    """Write one line with the API key redacted from every string in it (a message built
    from an error answer that echoed the request, or a record that quotes the key)."""
    line = scrub_value(line)
    file.write(line)
    return line


class ActivityLog:
    """The product's activity table: timestamp, type, object, key, message (+ changes)."""

    def __init__(self, path: str | None, *, dry_run: bool = False) -> None:
        self.file = JsonLinesFile(path)
        self.dry_run = dry_run
        self.counts: dict[str, Counter[str]] = {}
        self.warnings = 0

    def record(self, outcome: str, obj: str, key: str, message: str, *,
               changes: dict[str, Any] | None = None, event: str | None = None,
               level: str | None = None) -> dict[str, Any]:
        """Log one record's outcome; ``level`` defaults from the outcome."""
        if level is None:
            level = {"rejected": "error", "failed": "error", "skipped": "warning"}.get(
                outcome, "success")
        self.counts.setdefault(obj, Counter())[outcome] += 1
        line: dict[str, Any] = {"timestamp": now_iso(), "type": level, "object": obj,
                                "key": key, "outcome": outcome, "message": message}
        if self.dry_run:
            line["dry_run"] = True
        if changes:
            line["changes"] = changes
        if event:
            line["event"] = event
        return write_redacted(self.file, line)

    def warn(self, obj: str, key: str, message: str, event: str | None = None) -> None:
        """A warning about a record that is otherwise handled (not counted as an outcome)."""
        self.warnings += 1
        line: dict[str, Any] = {"timestamp": now_iso(), "type": "warning", "object": obj,
                                "key": key, "message": message}
        if event:
            line["event"] = event
        write_redacted(self.file, line)

    def summary_rows(self) -> list[dict[str, Any]]:
        rows = []
        for obj in sorted(self.counts):
            row: dict[str, Any] = {"object": obj}
            row.update({o: self.counts[obj].get(o, 0) for o in OUTCOMES})
            rows.append(row)
        return rows

    def summary_table(self) -> str:
        header = ["object", *OUTCOMES]
        rows = [[str(r[h]) for h in header] for r in self.summary_rows()] or \
            [["(none)", *["0"] * len(OUTCOMES)]]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        fmt = " | ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
        lines = [fmt.format(*header), "-+-".join("-" * w for w in widths)]
        lines += [fmt.format(*r) for r in rows]
        return "\n".join(lines)


class RejectsFile:
    """Records that were not written, with the reason: replay with ``python -m
    target_activecampaign.replay``."""

    def __init__(self, path: str | None) -> None:
        self.file = JsonLinesFile(path)

    def write(self, stream: str, record: dict[str, Any], reason: str, outcome: str,
              x_sync: dict[str, Any] | None, *, line: int | None = None) -> None:
        entry: dict[str, Any] = {"timestamp": now_iso(), "stream": stream, "outcome": outcome,
                                 "reason": reason, "record": record}
        if line is not None:
            entry["line"] = line
        if x_sync:
            entry["x-sync"] = x_sync
        write_redacted(self.file, entry)

    def write_unreadable(self, line: int, reason: str, raw: str) -> None:
        """An input line that is not a Singer message (kept as text; replay skips it)."""
        write_redacted(self.file, {"timestamp": now_iso(), "stream": None,
                                   "outcome": "unreadable", "reason": reason, "line": line,
                                   "raw": scrub(raw)[:100_000]})  # no half key left
