"""The in-memory account: tables of API-shaped objects, indexes, and the write helpers.

Objects are stored exactly as the API shows them (string ids, string counters, formatted
timestamps) minus ``links``, which the API layer adds on the way out. Every table keeps its ids
ascending so paging is a slice and ``id_greater`` is a bisect. Callers hold ``store.lock`` for
any read or write; every write bumps ``version``, which invalidates the query cache.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from typing import Any

from activecampaign_sandbox.clock import (
    ZERO_DATE,
    ZERO_DATETIME,
    iso,
    naive_local,
    now_ts,
    parse_iso,
)
from activecampaign_sandbox.contact_query import CONTACT_FILTERS, match_contacts
from activecampaign_sandbox.table import Obj, Table

Params = dict[str, list[str]]


TABLE_INDEXES: dict[str, tuple[str, ...]] = {
    "users": (),
    "contacts": (),
    "fields": (),
    "fieldOptions": ("field",),
    "fieldRels": ("field",),
    "fieldValues": ("contact", "field"),
    "accounts": (),
    "accountContacts": ("contact", "account"),
    "accountCustomFieldMeta": (),
    "accountCustomFieldData": ("accountId",),
    "dealCustomFieldMeta": (),
    "dealCustomFieldData": ("dealId",),
    "deals": ("contact", "account", "stage", "group"),
    "dealGroups": (),
    "dealStages": ("group",),
    "lists": (),
    "contactLists": ("contact", "list"),
    "tags": (),
    "contactTags": ("contact", "tag"),
    "segments": (),
    "automations": (),
    "contactAutomations": ("contact", "seriesid"),
}

SegmentRule = Callable[["Store", int], bool]


def multi_value(value: Any) -> str:
    """Multi-value custom fields are stored as ``||a||b||``."""
    if isinstance(value, list):
        return "||" + "||".join(str(v) for v in value) + "||" if value else ""
    return "" if value is None else str(value)


def email_hash(email: str) -> str:
    return hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()


class Store:
    """All objects of one sandbox account."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.version = 0
        self.tables: dict[str, Table] = {n: Table(n, idx) for n, idx in TABLE_INDEXES.items()}
        # contact id -> [cdate, udate] as epoch seconds, for the date filters.
        self.contact_times: dict[int, list[float]] = {}
        self.email_index: dict[str, int] = {}
        self.segment_rules: dict[int, SegmentRule] = {}
        self._cache: dict[tuple[Any, ...], list[int]] = {}
        self._cache_version = -1
        self.clock: Callable[[], float] = now_ts

    # ---- basics -------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Table:
        return self.tables[name]

    def dirty(self) -> None:
        self.version += 1

    def cached(self, key: tuple[Any, ...], compute: Callable[[], list[int]]) -> list[int]:
        if self._cache_version != self.version:
            self._cache.clear()
            self._cache_version = self.version
        hit = self._cache.get(key)
        if hit is None:
            hit = compute()
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def objects(self, name: str) -> list[Obj]:
        table = self.tables[name]
        return [table.rows[i] for i in table.ids]

    # ---- contacts -----------------------------------------------------------------------
    def contact_by_email(self, email: str) -> Obj | None:
        cid = self.email_index.get(email.strip().lower())
        return self.tables["contacts"].rows.get(cid) if cid is not None else None

    def new_contact(self, email: str, first: str = "", last: str = "", phone: str = "",
                    cts: float | None = None, uts: float | None = None, **extra: Any) -> Obj:
        cts = self.clock() if cts is None else cts
        uts = cts if uts is None else uts
        local, _, domain = email.partition("@")
        obj: Obj = {
            "cdate": iso(cts), "email": email, "phone": phone, "firstName": first,
            "lastName": last, "orgid": "0", "orgname": "", "segmentio_id": "",
            "bounced_hard": "0", "bounced_soft": "0", "bounced_date": ZERO_DATE, "ip": "0",
            "ua": "", "hash": email_hash(email), "socialdata_lastcheck": ZERO_DATETIME,
            "email_local": local, "email_domain": domain, "sentcnt": "0",
            "rating_tstamp": ZERO_DATE, "gravatar": "1", "deleted": "0", "anonymized": "0",
            "adate": ZERO_DATETIME, "udate": iso(uts), "edate": ZERO_DATETIME,
            # *_utc_timestamp carry the account's wall time, not UTC (spec §11)
            "deleted_at": ZERO_DATETIME, "created_utc_timestamp": naive_local(cts),
            "updated_utc_timestamp": naive_local(uts), "created_timestamp": naive_local(cts),
            "updated_timestamp": naive_local(uts), "created_by": "0", "updated_by": "0",
            "mpp_tracking": "0", "email_empty": not email, "scoreValues": [],
            "organization": None,
        }
        obj.update(extra)
        self.tables["contacts"].insert(obj)
        cid = int(obj["id"])
        self.contact_times[cid] = [cts, uts]
        if email:
            self.email_index[email.lower()] = cid
        self.dirty()
        return obj

    def touch_contacts(self, ids: Iterable[Any], ts: float | None = None) -> None:
        """Bump ``udate`` (and the updated timestamps) of contacts, as any write does."""
        ts = self.clock() if ts is None else ts
        contacts = self.tables["contacts"]
        u_iso, u_local = iso(ts), naive_local(ts)
        for raw in ids:
            obj = contacts.get(raw)
            if obj is None:
                continue
            obj["udate"] = u_iso
            obj["updated_timestamp"] = u_local
            obj["updated_utc_timestamp"] = u_local  # account wall time (spec §11)
            self.contact_times[int(obj["id"])][1] = ts
        self.dirty()

    def update_contact(self, cid: int, changes: Obj, ts: float | None = None) -> Obj:
        contacts = self.tables["contacts"]
        obj = contacts.rows[cid]
        if "email" in changes and changes["email"] != obj["email"]:
            self.email_index.pop(obj["email"].lower(), None)
            email = changes["email"]
            local, _, domain = email.partition("@")
            changes = {**changes, "email_local": local, "email_domain": domain,
                       "hash": email_hash(email), "email_empty": not email}
            if email:
                self.email_index[email.lower()] = cid
        contacts.update(cid, changes)
        self.touch_contacts([cid], ts)
        return obj

    def delete_contact(self, cid: int) -> bool:
        obj = self.tables["contacts"].delete(cid)
        if obj is None:
            return False
        self.email_index.pop(obj["email"].lower(), None)
        self.contact_times.pop(cid, None)
        for name in ("fieldValues", "contactLists", "contactTags", "accountContacts",
                     "contactAutomations"):
            table = self.tables[name]
            for oid in table.where("contact", cid):
                table.delete(oid)
        self.dirty()
        return True

    # ---- contact relations ---------------------------------------------------------------
    def link_of(self, name: str, cid: int, key: str, value: Any) -> int | None:
        """The id of the contact's first ``name`` row whose ``key`` is ``value``, else None."""
        table = self.tables[name]
        return next((oid for oid in table.where("contact", cid)
                     if table.rows[oid][key] == str(value)), None)

    def set_field_value(self, cid: int, fid: int, value: Any, ts: float | None = None,
                        touch: bool = True) -> Obj:
        """Create or replace the contact's value of a custom field (upsert)."""
        ts = self.clock() if ts is None else ts
        table = self.tables["fieldValues"]
        text = multi_value(value)
        existing = self.link_of("fieldValues", cid, "field", fid)
        if existing is not None:
            obj = table.update(existing, {"value": text, "udate": iso(ts)})
        else:
            obj = table.insert({"contact": str(cid), "field": str(fid), "value": text,
                                "cdate": iso(ts), "udate": iso(ts), "created_by": None,
                                "updated_by": None, "owner": str(cid)})
        if touch:
            self.touch_contacts([cid], ts)
        self.dirty()
        return obj

    def subscribe(self, cid: int, lid: int, status: int, ts: float | None = None,
                  touch: bool = True) -> Obj:
        """Create or update the contact's membership of a list (1 active, 2 unsubscribed)."""
        ts = self.clock() if ts is None else ts
        table = self.tables["contactLists"]
        existing = self.link_of("contactLists", cid, "list", lid)
        stamp = {"status": str(status), "udate": iso(ts), "updated_timestamp": naive_local(ts)}
        if status == 2:
            stamp["unsubreason"] = ""
        if existing is not None:
            obj = table.update(existing, stamp)
        else:
            obj = table.insert({
                "contact": str(cid), "list": str(lid), "form": None, "seriesid": "0",
                "sdate": iso(ts), "udate": iso(ts), "status": str(status), "responder": "1",
                "sync": "0", "unsubreason": None, "campaign": None, "message": None,
                "first_name": "", "last_name": "", "ip4Sub": "0", "sourceid": "0",
                "autosyncLog": None, "ip4_last": "0", "ip4Unsub": "0",
                "unsubscribeAutomation": None, "created_timestamp": naive_local(ts),
                "updated_timestamp": naive_local(ts), "created_by": None, "updated_by": None,
                "automation": None,
            })
        if touch:
            self.touch_contacts([cid], ts)
        self.dirty()
        return obj

    def add_tag(self, cid: int, tid: int, ts: float | None = None,
                touch: bool = True) -> tuple[Obj, bool]:
        """The contact's tag link, and whether it was created (re-adding returns the link)."""
        ts = self.clock() if ts is None else ts
        table = self.tables["contactTags"]
        for oid in table.where("contact", cid):
            if table.rows[oid]["tag"] == str(tid):
                return table.rows[oid], False
        obj = table.insert({"contact": str(cid), "tag": str(tid), "cdate": iso(ts),
                            "created_timestamp": naive_local(ts),
                            "updated_timestamp": naive_local(ts), "created_by": None,
                            "updated_by": None})
        if touch:
            self.touch_contacts([cid], ts)
        self.dirty()
        return obj, True

    def link_account(self, cid: int, aid: int, job_title: str = "",
                     ts: float | None = None, touch: bool = True) -> Obj:
        """Link a contact to an account (replacing any previous link)."""
        ts = self.clock() if ts is None else ts
        table = self.tables["accountContacts"]
        for oid in table.where("contact", cid):
            table.delete(oid)
        obj = table.insert({"account": str(aid), "contact": str(cid), "jobTitle": job_title,
                            "createdTimestamp": iso(ts), "updatedTimestamp": iso(ts)})
        account = self.tables["accounts"].rows[aid]
        self.tables["contacts"].update(cid, {"orgid": str(aid), "orgname": account["name"],
                                             "organization": str(aid)})
        if touch:
            self.touch_contacts([cid], ts)
        self.dirty()
        return obj

    def unlink_account(self, cid: int) -> None:
        contacts = self.tables["contacts"]
        if cid in contacts.rows:
            contacts.update(cid, {"orgid": "0", "orgname": "", "organization": None})
        self.dirty()

    # ---- accounts, tags -------------------------------------------------------------------
    def by_name(self, name: str, table: str, key: str) -> Obj | None:
        """The first object whose ``key`` equals ``name``, case-insensitively."""
        wanted = name.strip().lower()
        return next((o for o in self.tables[table].rows.values() if o[key].lower() == wanted),
                    None)

    def account_by_name(self, name: str) -> Obj | None:
        return self.by_name(name, "accounts", "name")

    def new_account(self, name: str, url: str = "", ts: float | None = None,
                    owner: str = "1") -> Obj:
        ts = self.clock() if ts is None else ts
        obj = self.tables["accounts"].insert({
            "name": name, "accountUrl": url, "owner": owner, "createdTimestamp": iso(ts),
            "updatedTimestamp": iso(ts), "contactCount": "0", "dealCount": "0"})
        self.dirty()
        return obj

    def tag_by_name(self, name: str) -> Obj | None:
        return self.by_name(name, "tags", "tag")

    def new_tag(self, name: str, description: str = "", ts: float | None = None) -> Obj:
        ts = self.clock() if ts is None else ts
        obj = self.tables["tags"].insert({"tagType": "contact", "tag": name,
                                          "description": description, "cdate": iso(ts)})
        self.dirty()
        return obj

    def set_custom_datum(self, kind: str, owner_id: int, field_id: int, value: Any,
                         currency: str | None = None, ts: float | None = None) -> Obj:
        """Upsert an account ("account") or deal ("deal") custom field value."""
        ts = self.clock() if ts is None else ts
        table = self.tables[f"{kind}CustomFieldData"]
        owner_key = "accountId" if kind == "account" else "dealId"
        text = multi_value(value)
        for oid in table.where(owner_key, owner_id):
            if table.rows[oid]["customFieldId"] == field_id:
                changes: Obj = {"fieldValue": text, "updatedTimestamp": naive_local(ts)}
                if currency is not None:
                    changes["fieldCurrency"] = currency
                obj = table.update(oid, changes)
                break
        else:
            obj = table.insert({
                f"{kind}CustomFieldMetumId": field_id, owner_key: owner_id,
                "customFieldId": field_id, "createdTimestamp": naive_local(ts),
                "updatedTimestamp": naive_local(ts), "fieldValue": text,
                "fieldCurrency": currency})
        self.touch_owner(kind, owner_id, ts)
        return obj

    def touch_owner(self, kind: str, owner_id: int, ts: float | None = None) -> None:
        ts = self.clock() if ts is None else ts
        if kind == "account":
            obj = self.tables["accounts"].get(owner_id)
            if obj is not None:
                obj["updatedTimestamp"] = iso(ts)
        else:
            obj = self.tables["deals"].get(owner_id)
            if obj is not None:
                obj["mdate"] = iso(ts)
        self.dirty()

    # ---- contact queries -------------------------------------------------------------------
    def contacts_in_segment(self, sid: int) -> list[int]:
        rule = self.segment_rules.get(sid)
        if rule is None:
            return []
        return self.cached(("segment", sid),
                           lambda: [c for c in self.tables["contacts"].ids if rule(self, c)])

    def query_contacts(self, params: Params) -> list[int]:
        """Ids (ascending) of the contacts matching the filters of ``GET /contacts``."""
        key = tuple(sorted((k, tuple(v)) for k, v in params.items() if k in CONTACT_FILTERS))
        contacts = self.tables["contacts"]
        if not key:
            return contacts.ids
        return self.cached(("contacts", *key), lambda: match_contacts(self, params))

    # ---- generic queries ---------------------------------------------------------------------
    def query_table(self, name: str, filters: dict[str, str],
                    predicate: Callable[[Obj], bool] | None = None,
                    predicate_key: tuple[Any, ...] = ()) -> list[int]:
        """Ids (ascending) of objects whose fields equal ``filters`` and pass ``predicate``."""
        table = self.tables[name]
        if not filters and predicate is None:
            return table.ids

        def compute() -> list[int]:
            pool: list[int] | None = None
            rest = dict(filters)
            for field in list(rest):
                if field in table.index:
                    found = set(table.index[field].get(str(rest.pop(field)), ()))
                    pool = sorted(found) if pool is None else [i for i in pool if i in found]
            ids = table.ids if pool is None else pool
            out = []
            for oid in ids:
                obj = table.rows[oid]
                if all(str(obj.get(f)) == v for f, v in rest.items()) and (
                        predicate is None or predicate(obj)):
                    out.append(oid)
            return out

        return self.cached((name, tuple(sorted(filters.items())), *predicate_key), compute)


__all__ = ["Obj", "Params", "Store", "Table", "multi_value", "parse_iso"]
