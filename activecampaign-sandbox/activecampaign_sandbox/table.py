"""One in-memory collection: id -> object, ids ascending, equality indexes on fields.

Ids stay ascending so paging is a slice and ``id_greater`` is a bisect.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

Obj = dict[str, Any]


class Table:
    """One collection: id -> object, ids ascending, optional equality indexes on fields."""

    def __init__(self, name: str, indexed: Iterable[str] = ()) -> None:
        self.name = name
        self.rows: dict[int, Obj] = {}
        self.ids: list[int] = []
        self.next_id = 1
        self.index: dict[str, dict[str, set[int]]] = {f: {} for f in indexed}

    def __len__(self) -> int:
        return len(self.rows)

    def insert(self, obj: Obj) -> Obj:
        oid = self.next_id
        self.next_id += 1
        obj["id"] = str(oid)
        self.rows[oid] = obj
        self.ids.append(oid)
        for field, idx in self.index.items():
            idx.setdefault(str(obj.get(field)), set()).add(oid)
        return obj

    def get(self, oid: Any) -> Obj | None:
        try:
            return self.rows.get(int(oid))
        except (TypeError, ValueError):
            return None

    def update(self, oid: int, changes: Obj) -> Obj:
        obj = self.rows[oid]
        for field, idx in self.index.items():
            if field in changes and str(changes[field]) != str(obj.get(field)):
                idx.get(str(obj.get(field)), set()).discard(oid)
                idx.setdefault(str(changes[field]), set()).add(oid)
        obj.update(changes)
        return obj

    def delete(self, oid: int) -> Obj | None:
        obj = self.rows.pop(oid, None)
        if obj is None:
            return None
        pos = bisect.bisect_left(self.ids, oid)
        if pos < len(self.ids) and self.ids[pos] == oid:
            del self.ids[pos]
        for field, idx in self.index.items():
            idx.get(str(obj.get(field)), set()).discard(oid)
        return obj

    def where(self, field: str, value: Any) -> list[int]:
        """Ids (ascending) of the objects whose ``field`` equals ``value`` (compared as text)."""
        if field in self.index:
            return sorted(self.index[field].get(str(value), ()))
        text = str(value)
        return [oid for oid in self.ids if str(self.rows[oid].get(field)) == text]

    def first_where(self, field: str, value: Any) -> Obj | None:
        found = self.where(field, value)
        return self.rows[found[0]] if found else None
