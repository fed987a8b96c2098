"""Contacts: lists with filters, sideloads and segments, sync, sub-lists; users/me."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

from activecampaign_sandbox.envelopes import (
    DEFAULT_LIMIT,
    Answer,
    duplicate_email,
    one,
    paging,
    to_int,
    unprocessable,
)
from activecampaign_sandbox.routes.base import (
    Answered,
    Handler,
    Request,
    Routes,
    body_obj,
    is_valid_email,
    route,
    text,
)
from activecampaign_sandbox.store import Obj, Params

CONTACT_SUBLISTS = ("fieldValues", "contactLists", "contactTags", "contactAutomations",
                    "accountContacts", "deals")
LIST_INCLUDES = ("fieldValues", "contactLists", "contactTags", "accountContacts")
# include=accountContacts.account: the linked accounts too, as a top-level "accounts" array
# (with the accountContacts rows they hang off; spec §11).
ACCOUNT_INCLUDE = "accountContacts.account"
SUBLIST_MAX_LIMIT = 1000
SEGMENT_CACHE_S = 3600.0


class ContactRoutes(Routes):
    def register_contacts(self) -> None:
        a = self.add
        a("GET", "/", lambda req: (200, {}))
        for sub in CONTACT_SUBLISTS:
            a("GET", f"/contacts/{{id}}/{sub}", self.contact_sublist(sub))

    # ---- users ---------------------------------------------------------------------------
    @route("GET", "/users/me")
    def users_me(self, req: Request) -> Answer:
        user = self.store["users"].rows[self.store["users"].ids[0]]
        return 200, {"user": self.out(req, "users", user)}

    # ---- contacts ------------------------------------------------------------------------
    def segment_pending(self, params: Params) -> Obj | None:
        """The segment whose evaluation is still running for this call, else None (spec §11).

        The first call for a segment, any with ``forceQuery=1`` and the first after the
        cached result expired (1 h) start an evaluation; its first
        ``segment_ready_after`` calls answer without members."""
        sid = to_int(one(params, "segmentid"))
        segment = self.store["segments"].get(sid) if sid else None
        if segment is None or sid is None:
            return None
        now = self.store.clock()
        run = self.segment_runs.get(sid)
        if run is None or one(params, "forceQuery") == "1" or now - run[0] >= SEGMENT_CACHE_S:
            run = self.segment_runs[sid] = [now, float(self.behaviour.segment_ready_after)]
        if run[1] <= 0:
            return None
        run[1] -= 1
        return segment

    @route("GET", "/contacts")
    def contacts_list(self, req: Request) -> Answer:
        params = self.dated(req.params)
        if not self.behaviour.ids_filter:  # ignored like an unknown param (spec §2)
            params = {k: v for k, v in params.items() if k not in ("ids[]", "ids")}
        store = self.store
        pending = self.segment_pending(params)
        if pending is not None:  # evaluation started: segment information, no members
            limit, offset = paging(params)
            return 200, {"scoreValues": [], "contacts": [],
                         "segment": self.out(req, "segments", pending),
                         "meta": {"total": "0", "page_input": {
                             "segmentid": int(pending["id"]), "limit": limit,
                             "offset": offset, "forceQuery": to_int(one(params, "forceQuery"))
                             or 0, "cacheid": ""}}}
        ids = store.query_contacts(params)
        lo, hi = 0, len(ids)
        greater = to_int(one(params, "id_greater"))
        less = to_int(one(params, "id_less"))
        if greater is not None:
            lo = bisect.bisect_right(ids, greater)
        if less is not None:
            hi = max(lo, bisect.bisect_left(ids, less))
        ordered = ids if (lo, hi) == (0, len(ids)) else ids[lo:hi]
        ordered = self._order_contacts(params, ordered)
        limit, offset = paging(params)
        rows = store["contacts"].rows
        page_ids = ordered[offset:offset + limit]
        contacts = [self.out(req, "contacts", rows[c]) for c in page_ids]
        page_input = {"segmentid": to_int(one(params, "segmentid")),
                      "formid": to_int(one(params, "formid")) or 0,
                      "listid": to_int(one(params, "listid")) or 0,
                      "tagid": to_int(one(params, "tagid")) or 0, "limit": limit,
                      "offset": offset, "search": one(params, "search"), "sort": None,
                      "seriesid": to_int(one(params, "seriesid")) or 0, "waitid": 0,
                      "status": to_int(one(params, "status")) if one(params, "status")
                      else -1, "forceQuery": to_int(one(params, "forceQuery")) or 0,
                      "cacheid": "", "email": one(params, "email")}
        body: Obj = {"scoreValues": [], "contacts": contacts}
        # An account that ignores include= answers without the arrays (spec §11).
        for inc in self._includes(params) if self.behaviour.sideloads else []:
            if inc == ACCOUNT_INCLUDE:
                body["accounts"] = self._sideload_accounts(req, page_ids)
            else:
                body[inc] = self._sideload(req, inc, page_ids)
        body["meta"] = {"total": str(len(ordered)), "page_input": page_input}
        return 200, body

    @staticmethod
    def _includes(params: Params) -> list[str]:
        raw = ",".join(params.get("include", []))
        wanted = [p.strip() for p in raw.split(",") if p.strip()]
        if ACCOUNT_INCLUDE in wanted:
            wanted.append("accountContacts")
        return [w for w in (*LIST_INCLUDES, ACCOUNT_INCLUDE) if w in wanted]

    def _sideload_accounts(self, req: Request, contact_ids: list[int]) -> list[Obj]:
        """The accounts the page's contacts are linked to, each once."""
        links, accounts = self.store["accountContacts"], self.store["accounts"]
        seen: set[str] = set()
        out = []
        for cid in contact_ids:
            for oid in sorted(links.index["contact"].get(str(cid), ())):
                aid = links.rows[oid]["account"]
                account = accounts.get(aid)
                if account is not None and aid not in seen:
                    seen.add(aid)
                    out.append(self.out(req, "accounts", account))
        return out

    def _sideload(self, req: Request, kind: str, contact_ids: list[int]) -> list[Obj]:
        table = self.store[kind]
        idx = table.index["contact"]
        out = []
        for cid in contact_ids:
            for oid in sorted(idx.get(str(cid), ())):
                out.append(self.out(req, kind, table.rows[oid]))
        return out

    def _order_contacts(self, params: Params, ids: list[int]) -> list[int]:
        orders = [(k[7:-1], (v[-1] or "ASC").upper()) for k, v in params.items()
                  if k.startswith("orders[") and k.endswith("]")]
        if not orders:
            return ids
        rows = self.store["contacts"].rows
        times = self.store.contact_times
        keys: dict[str, Callable[[int], Any]] = {
            "id": lambda c: c, "cdate": lambda c: (times[c][0], c),
            "email": lambda c: rows[c]["email"].lower(),
            "first_name": lambda c: rows[c]["firstName"].lower(),
            "last_name": lambda c: rows[c]["lastName"].lower(),
            "name": lambda c: (rows[c]["firstName"] + " " + rows[c]["lastName"]).lower()}
        out = ids
        for name, direction in reversed(orders):
            key = keys.get(name)
            if key is None:
                continue  # unknown order fields are ignored
            if name == "id" and out is ids:
                out = list(reversed(ids)) if direction == "DESC" else ids
            else:
                out = sorted(out, key=key, reverse=direction == "DESC")
        return out

    def _contact_full(self, req: Request, cid: int) -> Obj:
        obj = self.out(req, "contacts", self.store["contacts"].rows[cid])
        for sub in ("accountContacts", "contactAutomations", "contactLists", "fieldValues",
                    "deals"):
            obj[sub] = [self.store[sub].rows[o]["id"]
                        for o in self.store[sub].where("contact", cid)]
        obj["geoIps"] = []
        return obj

    @route("GET", "/contacts/{id}")
    def contacts_get(self, req: Request, oid: str) -> Answer:
        obj = self.find("contacts", oid)
        cid = int(obj["id"])
        body: Obj = {}
        for sub in ("contactAutomations", "contactLists", "deals", "fieldValues",
                    "accountContacts", "contactTags"):
            body[sub] = [self.out(req, sub, self.store[sub].rows[o])
                         for o in self.store[sub].where("contact", cid)]
        body["geoIps"] = []
        body["geoAddresses"] = []
        body["contact"] = self._contact_full(req, cid)
        return 200, body

    def _contact_input(self, data: Obj, *, creating: bool) -> Answer | None:
        if creating or "email" in data:
            email = text(data.get("email")).strip()
            if not email:
                return unprocessable("field_missing", "Contact Email Address is not provided",
                                     "email")
            if not is_valid_email(email):
                return unprocessable("field_invalid", "Email address is invalid", "email")
        values = data.get("fieldValues")
        if values is not None and not isinstance(values, list):
            return unprocessable("field_invalid", "fieldValues must be an array", "fieldValues")
        return None

    def _apply_contact(self, cid: int | None, data: Obj, ts: float) -> int:
        store = self.store
        changes: Obj = {k: text(data[k]) for k in ("email", "firstName", "lastName", "phone")
                   if k in data and data[k] is not None}
        if "email" in changes:
            changes["email"] = changes["email"].strip()
        if cid is None:
            email = changes.pop("email")
            obj = store.new_contact(email, changes.get("firstName", ""),
                                    changes.get("lastName", ""), changes.get("phone", ""),
                                    ts, ts)
            cid = int(obj["id"])
        else:
            store.update_contact(cid, changes, ts)
        for item in data.get("fieldValues") or []:
            if not isinstance(item, dict):
                continue
            fid = to_int(item.get("field"))
            if fid is None or store["fields"].get(fid) is None:
                continue  # unknown custom fields are skipped [U]
            store.set_field_value(cid, fid, item.get("value"), ts)
        return cid

    def _contact_answer(self, req: Request, cid: int, status: int) -> Answer:
        values = [self.out(req, "fieldValues", self.store["fieldValues"].rows[o])
                  for o in self.store["fieldValues"].where("contact", cid)]
        contact = self._contact_full(req, cid)
        return status, {"fieldValues": values, "contact": contact}

    def _new_contact_body(self, req: Request) -> Obj:
        """The contact of a create or sync body, or ``Answered`` with its 422."""
        data = body_obj(req, "contact")
        if data is None:
            raise Answered(unprocessable("field_missing",
                                         "Contact Email Address is not provided", "email"))
        problem = self._contact_input(data, creating=True)
        if problem:
            raise Answered(problem)
        return data

    @route("POST", "/contacts")
    def contacts_create(self, req: Request) -> Answer:
        data = self._new_contact_body(req)
        if self.store.contact_by_email(text(data["email"])) is not None:
            return duplicate_email()
        cid = self._apply_contact(None, data, self.store.clock())
        return self._contact_answer(req, cid, 201)

    @route("POST", "/contact/sync")
    def contacts_sync(self, req: Request) -> Answer:
        data = self._new_contact_body(req)
        existing = self.store.contact_by_email(text(data["email"]))
        ts = self.store.clock()
        if existing is None:
            return self._contact_answer(req, self._apply_contact(None, data, ts), 201)
        # Matching is case-insensitive; the stored spelling of the email is kept [U].
        data = {k: v for k, v in data.items() if k != "email"}
        cid = self._apply_contact(int(existing["id"]), data, ts)
        return self._contact_answer(req, cid, 200)

    @route("PUT", "/contacts/{id}")
    def contacts_update(self, req: Request, oid: str) -> Answer:
        obj = self.find("contacts", oid)
        data = body_obj(req, "contact") or {}
        problem = self._contact_input(data, creating=False)
        if problem:
            return problem
        if "email" in data:
            other = self.store.contact_by_email(text(data["email"]))
            if other is not None and other is not obj:
                return duplicate_email()
        cid = self._apply_contact(int(obj["id"]), data, self.store.clock())
        return self._contact_answer(req, cid, 200)

    @route("DELETE", "/contacts/{id}")
    def contacts_delete(self, req: Request, oid: str) -> Answer:
        cid = to_int(oid)
        if cid is None or not self.store.delete_contact(cid):
            return 404, {"message": f"No result found for contact with id {oid}"}
        return 200, {}

    def contact_sublist(self, sub: str) -> Handler:
        def handler(req: Request, oid: str) -> Answer:
            obj = self.find("contacts", oid)
            table = self.store[sub]
            # Sub-lists page too (spec §11; AC's own link asks limit=1000): default 20,
            # at most 1000 [U]; no meta.
            _, offset = paging(req.params)
            limit = min(to_int(one(req.params, "limit")) or DEFAULT_LIMIT, SUBLIST_MAX_LIMIT)
            limit = limit if limit > 0 else DEFAULT_LIMIT
            ids = table.where("contact", int(obj["id"]))[offset:offset + limit]
            return 200, {sub: [self.out(req, sub, table.rows[o]) for o in ids]}
        return handler
