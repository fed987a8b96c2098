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
from collections.abc import Callable, Mapping
from typing import Any, cast

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


class ContactJoins:
    """What an imported contact is joined with, by ActiveCampaign id: its account link (and
    that account's name and domain), its lists and tags (named from the ``lists``/``tags``
    streams), and which contacts this run brought (emails, for deals; rejected ids)."""

    def __init__(self, memory_keys: int,
                 store_accounts: Callable[[], Mapping[str, Mapping[str, Any]]]) -> None:
        self.accounts = JoinIndex("accounts", memory_keys)  # account id -> [name, domain]
        self.links = JoinIndex("account_contacts", memory_keys)  # contact -> [account, job]
        self.lists = JoinIndex("contact_lists", memory_keys, multi=True)
        self.tags = JoinIndex("contact_tags", memory_keys, multi=True)
        self.emails = JoinIndex("contact_emails", memory_keys)  # contact id -> email
        self.list_names: dict[str, str] = {}
        self.tag_names: dict[str, str] = {}
        self.rejected: set[str] = set()  # contacts of this run rejected by the mapper
        self._store_accounts = store_accounts
        self._store_by_id: dict[str, list[Any]] | None = None

    def add_link(self, rec: Mapping[str, Any]) -> None:
        job = rec.get("jobTitle")
        job_title = (job.strip() or None) if isinstance(job, str) else None
        self.links.add(rec.get("contact"), [rec.get("account"), job_title])

    def add_list(self, rec: Mapping[str, Any]) -> None:
        if rec.get("status") in (1, "1"):  # subscribed; 2 = unsubscribed
            self.lists.add(rec.get("contact"), str(rec.get("list")))

    def add_tag(self, rec: Mapping[str, Any]) -> None:
        self.tags.add(rec.get("contact"), str(rec.get("tag")))

    def account(self, account_id: Any) -> list[Any] | None:
        """[name, domain] of an account read in this run, else as the store holds it (an
        incremental run may bring only the accounts that changed)."""
        found = self.accounts.get(account_id)
        if found is not None or account_id is None:
            return cast("list[Any] | None", found)
        if self._store_by_id is None:
            self._store_by_id = {
                str(row["activecampaign_id"]): [row.get("company_name"),
                                                row.get("website_domain")]
                for row in self._store_accounts().values()
                if row.get("activecampaign_id") is not None
            }
        return self._store_by_id.get(str(account_id))

    @staticmethod
    def names(index: JoinIndex, names: dict[str, str], contact_id: Any) -> list[str]:
        out: list[str] = []
        for i in index.get(contact_id) or ():
            name = names.get(i, i)
            if name not in out:
                out.append(name)
        return out

    def seen(self, contact_id: str) -> bool:
        """Whether the tap sent this contact in this run (mapped or rejected)."""
        return self.emails.get(contact_id) is not None or contact_id in self.rejected

    def close(self) -> None:
        for index in (self.accounts, self.links, self.lists, self.tags, self.emails):
            index.close()
