"""Join indexes for the one-pass import (account links, list/tag memberships, contact emails).

Each index keeps up to ``memory_keys`` keys in a dict; past that it moves everything to a
temporary SQLite file and keeps only small write batches in memory, so memory stays flat
however many contacts the tap sends.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from typing import Any

_BATCH = 5_000


class JoinIndex:
    """key -> value (last wins), or key -> list of values when ``multi``."""

    def __init__(self, name: str, memory_keys: int, multi: bool = False) -> None:
        self.name = name
        self.memory_keys = memory_keys
        self.multi = multi
        self._mem: dict[str, Any] = {}
        self._db: sqlite3.Connection | None = None
        self._path: str | None = None
        self._pending: list[tuple[str, str]] = []

    @property
    def spilled(self) -> bool:
        return self._db is not None

    def __len__(self) -> int:
        if self._db is None:
            return len(self._mem)
        self._flush()
        row = self._db.execute("SELECT COUNT(DISTINCT k) FROM kv").fetchone()
        return int(row[0])

    def add(self, key: Any, value: Any) -> None:
        if key is None:
            return
        key = str(key)
        if self._db is None:
            if self.multi:
                self._mem.setdefault(key, []).append(value)
            else:
                self._mem[key] = value
            if len(self._mem) > self.memory_keys:
                self._spill()
            return
        self._pending.append((key, json.dumps(value)))
        if len(self._pending) >= _BATCH:
            self._flush()

    def get(self, key: Any) -> Any:
        if key is None:
            return None
        key = str(key)
        if self._db is None:
            return self._mem.get(key)
        self._flush()
        if self.multi:
            rows = self._db.execute("SELECT v FROM kv WHERE k = ? ORDER BY rowid", (key,))
            values = [json.loads(v) for (v,) in rows]
            return values or None
        row = self._db.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def _spill(self) -> None:
        fd, self._path = tempfile.mkstemp(prefix=f"abmatic-mapper-{self.name}-", suffix=".db")
        os.close(fd)
        self._db = sqlite3.connect(self._path)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        if self.multi:
            self._db.execute("CREATE TABLE kv (k TEXT NOT NULL, v TEXT)")
            self._db.execute("CREATE INDEX kv_k ON kv (k)")
            for key, values in self._mem.items():
                self._pending.extend((key, json.dumps(v)) for v in values)
        else:
            self._db.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)")
            self._pending.extend((k, json.dumps(v)) for k, v in self._mem.items())
        self._mem = {}
        self._flush()

    def _flush(self) -> None:
        if not self._pending or self._db is None:
            return
        verb = "INSERT" if self.multi else "INSERT OR REPLACE"
        self._db.executemany(f"{verb} INTO kv (k, v) VALUES (?, ?)", self._pending)
        self._db.commit()
        self._pending = []

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._path and os.path.exists(self._path):
            os.unlink(self._path)
        self._path = None
        self._mem = {}
        self._pending = []
