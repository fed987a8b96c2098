"""Accounts and their contact links (accountContacts)."""

from __future__ import annotations

from typing import Any

from activecampaign_sandbox.clock import iso
from activecampaign_sandbox.envelopes import Answer, one, paging, to_int, unprocessable
from activecampaign_sandbox.routes.base import Request, Routes, body_obj, route, text
from activecampaign_sandbox.store import Obj


class AccountRoutes(Routes):
    # ---- accounts ------------------------------------------------------------------------
    def _account_out(self, req: Request, obj: Obj, counts: bool) -> Obj:
        out = self.out(req, "accounts", obj)
        if counts:
            aid = obj["id"]
            out["contactCount"] = str(len(self.store["accountContacts"].index["account"]
                                          .get(aid, ())))
            out["dealCount"] = str(len(self.store["deals"].index["account"].get(aid, ())))
        return out

    @route("GET", "/accounts")
    def accounts_list(self, req: Request) -> Answer:
        search = (one(req.params, "search") or "").strip().lower()
        predicate = (lambda o: search in o["name"].lower()) if search else None
        ids = self.store.query_table("accounts", {}, predicate, ("search", search))
        limit, offset = paging(req.params)
        counts = (one(req.params, "count_deals") or "").lower() in ("true", "1")
        rows = self.store["accounts"].rows
        items = [self._account_out(req, rows[i], counts) for i in ids[offset:offset + limit]]
        return 200, {"accounts": items, "meta": {"total": str(len(ids))}}

    def _account_fields(self, aid: int, fields: Any, ts: float) -> list[Obj]:
        out = []
        for item in fields or []:
            fid = to_int(item.get("customFieldId"))
            if fid is None:
                continue
            datum = self.store.set_custom_datum("account", aid, fid, item.get("fieldValue"),
                                                item.get("fieldCurrency"), ts)
            out.append({"customFieldId": fid, "fieldValue": datum["fieldValue"],
                        "accountId": str(aid)})
        return out

    def _check_account_fields(self, fields: Any) -> Answer | None:
        if fields is None:
            return None
        meta = self.store["accountCustomFieldMeta"]
        if not isinstance(fields, list) or any(
                not isinstance(f, dict) or meta.get(f.get("customFieldId")) is None
                for f in fields):
            return unprocessable("field_invalid", "Invalid custom field", "fields")
        for i, item in enumerate(fields):
            problem = self._currency_problem("account", item, f"fields/{i}/")
            if problem:
                return problem
        return None

    @route("POST", "/accounts")
    def accounts_create(self, req: Request) -> Answer:
        data = body_obj(req, "account") or {}
        name = self.required(data, "name", "Account name is required")
        if self.store.account_by_name(name) is not None:
            return unprocessable("duplicate", "Account name already exists", "name")
        problem = self._check_account_fields(data.get("fields"))
        if problem:
            return problem
        ts = self.store.clock()
        obj = self.store.new_account(name, text(data.get("accountUrl")), ts,
                                     text(data.get("owner") or "1"))
        fields = self._account_fields(int(obj["id"]), data.get("fields"), ts)
        out = self._account_out(req, obj, False)
        out["fields"] = fields
        return 201, {"account": out}

    @route("GET", "/accounts/{id}")
    def accounts_get(self, req: Request, oid: str) -> Answer:
        obj = self.find("accounts", oid)
        return 200, {"account": self._account_out(req, obj, True)}

    @route("PUT", "/accounts/{id}")
    def accounts_update(self, req: Request, oid: str) -> Answer:
        obj = self.find("accounts", oid)
        data = body_obj(req, "account") or {}
        if "name" in data:
            name = text(data["name"]).strip()
            if not name:
                return unprocessable("field_missing", "Account name is required", "name")
            other = self.store.account_by_name(name)
            if other is not None and other is not obj:
                return unprocessable("duplicate", "Account name already exists", "name")
        problem = self._check_account_fields(data.get("fields"))
        if problem:
            return problem
        ts = self.store.clock()
        changes: Obj = {k: text(data[k]).strip() if k == "name" else text(data[k])
                   for k in ("name", "accountUrl", "owner") if k in data}
        changes["updatedTimestamp"] = iso(ts)
        self.store["accounts"].update(int(oid), changes)
        if "name" in changes:
            for link in self.store["accountContacts"].where("account", oid):
                cid = int(self.store["accountContacts"].rows[link]["contact"])
                self.store["contacts"].update(cid, {"orgname": changes["name"]})
        fields = self._account_fields(int(oid), data.get("fields"), ts)
        self.store.dirty()
        out = self._account_out(req, obj, False)
        out["fields"] = fields
        return 200, {"account": out}

    @route("DELETE", "/accounts/{id}")
    def accounts_delete(self, req: Request, oid: str) -> Answer:
        self.find("accounts", oid)
        aid = int(oid)
        links = self.store["accountContacts"]
        for link in links.where("account", aid):
            cid = int(links.rows[link]["contact"])
            links.delete(link)
            self.store.unlink_account(cid)
            self.membership_changed(cid)
        for datum in self.store["accountCustomFieldData"].where("accountId", aid):
            self.store["accountCustomFieldData"].delete(datum)
        self.store["accounts"].delete(aid)
        self.store.dirty()
        return 200, {}

    @route("POST", "/accountContacts")
    def account_contacts_create(self, req: Request) -> Answer:
        data = body_obj(req, "accountContact") or {}
        self.required_ids(data, ("account", "contact"), capitalized=True)
        aid, cid = int(data["account"]), int(data["contact"])
        if self.store["accounts"].get(aid) is None:
            return unprocessable("field_invalid", "Account does not exist", "account")
        if self.store["contacts"].get(cid) is None:
            return unprocessable("field_invalid", "Contact does not exist", "contact")
        if self.store["accountContacts"].where("contact", cid):
            return unprocessable("field_invalid",
                                 "The contact is already associated with an account", "contact")
        obj = self.store.link_account(cid, aid, text(data.get("jobTitle")), touch=False)
        self.membership_changed(cid)
        return 201, {"accountContact": self.out(req, "accountContacts", obj)}

    @route("PUT", "/accountContacts/{id}")
    def account_contacts_update(self, req: Request, oid: str) -> Answer:
        obj = self.find("accountContacts", oid)
        data = body_obj(req, "accountContact") or {}
        ts = self.store.clock()
        changes: Obj = {"updatedTimestamp": iso(ts)}
        if "jobTitle" in data:
            changes["jobTitle"] = text(data["jobTitle"])
        new_account = to_int(data.get("account"))
        if new_account is not None and str(new_account) != obj["account"]:
            account = self.store["accounts"].get(new_account)
            if account is None:
                return unprocessable("field_invalid", "Account does not exist", "account")
            changes["account"] = str(new_account)
            self.store["contacts"].update(int(obj["contact"]), {
                "orgid": str(new_account), "orgname": account["name"],
                "organization": str(new_account)})
        self.store["accountContacts"].update(int(oid), changes)
        self.membership_changed(obj["contact"], ts)
        self.store.dirty()
        return 200, {"accountContact": self.out(req, "accountContacts", obj)}

    @route("DELETE", "/accountContacts/{id}")
    def account_contacts_delete(self, req: Request, oid: str) -> Answer:
        obj = self.find("accountContacts", oid)
        self.store["accountContacts"].delete(int(oid))
        self.store.unlink_account(int(obj["contact"]))
        self.membership_changed(obj["contact"])
        return 200, {}
