"""The /api/3 routes: validation, envelopes and status codes over the Store.

Handlers run with ``store.lock`` held (the server takes it) and return ``(status, body)``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from activecampaign_sandbox.behaviour import AccountBehaviour
from activecampaign_sandbox.clock import iso, naive_local, parse_filter_time, parse_iso
from activecampaign_sandbox.envelopes import (
    DEFAULT_LIMIT,
    Answer,
    duplicate_email,
    not_found,
    not_found_errors,
    one,
    paging,
    to_int,
    unprocessable,
    with_links,
)
from activecampaign_sandbox.seed import (
    new_contact_automation,
    new_custom_meta,
    new_deal,
    new_field,
    new_field_option,
    new_group,
    new_list,
    new_stage,
    perstag_of,
)
from activecampaign_sandbox.store import Obj, Params, Store

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
FIELD_TYPES = {"text", "textarea", "date", "datetime", "dropdown", "listbox", "radio",
               "checkbox", "hidden", "number", "multiselect", "currency"}
CONTACT_SUBLISTS = ("fieldValues", "contactLists", "contactTags", "contactAutomations",
                    "accountContacts", "deals")
LIST_INCLUDES = ("fieldValues", "contactLists", "contactTags", "accountContacts")
SUBLIST_MAX_LIMIT = 1000
SEGMENT_CACHE_S = 3600.0
OFFSET_RE = re.compile(r"\s*(Z|[+-]\d{2}:?\d{2})$")


@dataclass
class Request:
    method: str
    path: str
    params: Params
    body: Any
    base: str
    raw_body_size: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[..., Answer]


def is_valid_email(value: str) -> bool:
    return bool(EMAIL_RE.match(value))


def body_obj(req: Request, key: str) -> Obj | None:
    """The object under the singular wrapper key, or None when the body has none."""
    if isinstance(req.body, dict) and isinstance(req.body.get(key), dict):
        return req.body[key]
    return None


def text(value: Any) -> str:
    return "" if value is None else str(value)


class Api:
    """Routes of the ActiveCampaign v3 API, matched by method and path template."""

    def __init__(self, store: Store, behaviour: AccountBehaviour | None = None) -> None:
        self.store = store
        self.behaviour = behaviour or AccountBehaviour()
        # segment id -> [evaluation start (store clock), calls still answered "not ready"]
        self.segment_runs: dict[int, list[float]] = {}
        self.routes: list[tuple[str, tuple[str, ...], str, Handler]] = []
        self.extra_handlers: dict[str, Handler] = {}
        self._register()

    # ---- routing ------------------------------------------------------------------------
    def add(self, method: str, template: str, handler: Handler) -> None:
        parts = tuple(p for p in template.split("/") if p)
        self.routes.append((method, parts, template, handler))

    def match(self, method: str, path: str) -> tuple[str, Handler, list[str]] | None:
        parts = [p for p in path.split("/") if p]
        for r_method, r_parts, template, handler in self.routes:
            if r_method != method or len(r_parts) != len(parts):
                continue
            args = []
            for want, got in zip(r_parts, parts, strict=True):
                if want == "{id}":
                    args.append(got)
                elif want != got:
                    break
            else:
                return template, handler, args
        return None

    def _register(self) -> None:
        a = self.add
        a("GET", "/", lambda req: (200, {}))
        a("GET", "/users/me", self.users_me)
        a("GET", "/users", self.simple_list("users"))
        a("GET", "/users/{id}", self.simple_get("users", "user", "User"))
        a("GET", "/contacts", self.contacts_list)
        a("POST", "/contacts", self.contacts_create)
        a("POST", "/contact/sync", self.contacts_sync)
        a("GET", "/contacts/{id}", self.contacts_get)
        a("PUT", "/contacts/{id}", self.contacts_update)
        a("DELETE", "/contacts/{id}", self.contacts_delete)
        for sub in CONTACT_SUBLISTS:
            a("GET", f"/contacts/{{id}}/{sub}", self.contact_sublist(sub))
        a("GET", "/fields", self.fields_list)
        a("POST", "/fields", self.fields_create)
        a("GET", "/fields/{id}", self.fields_get)
        a("PUT", "/fields/{id}", self.fields_update)
        a("DELETE", "/fields/{id}", self.fields_delete)
        a("POST", "/fieldRels", self.field_rels_create)
        a("POST", "/fieldOption/bulk", self.field_options_bulk)
        a("GET", "/fieldValues", self.field_values_list)
        a("POST", "/fieldValues", self.field_values_create)
        a("GET", "/fieldValues/{id}", self.simple_get("fieldValues", "fieldValue", "FieldValue"))
        a("PUT", "/fieldValues/{id}", self.field_values_update)
        a("DELETE", "/fieldValues/{id}", self.field_values_delete)
        a("GET", "/accounts", self.accounts_list)
        a("POST", "/accounts", self.accounts_create)
        a("GET", "/accounts/{id}", self.accounts_get)
        a("PUT", "/accounts/{id}", self.accounts_update)
        a("DELETE", "/accounts/{id}", self.accounts_delete)
        a("GET", "/accountContacts", self.filtered_list(
            "accountContacts", {"contact": "contact", "account": "account"}))
        a("POST", "/accountContacts", self.account_contacts_create)
        a("GET", "/accountContacts/{id}", self.simple_get(
            "accountContacts", "accountContact", "CustomerAccountSubscriber"))
        a("PUT", "/accountContacts/{id}", self.account_contacts_update)
        a("DELETE", "/accountContacts/{id}", self.account_contacts_delete)
        for kind in ("account", "deal"):
            meta, data = f"{kind}CustomFieldMeta", f"{kind}CustomFieldData"
            owner_filter = "customerAccountId" if kind == "account" else "dealId"
            owner_key = "accountId" if kind == "account" else "dealId"
            a("GET", f"/{meta}", self.filtered_list(meta, {}, has_meta=False))
            a("POST", f"/{meta}", self.custom_meta_create(kind))
            a("GET", f"/{meta}/{{id}}", self.custom_get(meta, f"{kind}CustomFieldMetum"))
            a("PUT", f"/{meta}/{{id}}", self.custom_meta_update(kind))
            a("DELETE", f"/{meta}/{{id}}", self.custom_delete(
                meta, f"{kind.capitalize()}CustomFieldMeta deleted."))
            a("GET", f"/{data}", self.filtered_list(data, {owner_filter: owner_key},
                                                    has_meta=False))
            a("POST", f"/{data}", self.custom_data_create(kind))
            a("POST", f"/{data}/bulkCreate", self.custom_data_bulk_create(kind))
            a("PATCH", f"/{data}/bulkUpdate", self.custom_data_bulk_update(kind))
            a("GET", f"/{data}/{{id}}", self.custom_get(data, f"{kind}CustomFieldDatum"))
            a("PUT", f"/{data}/{{id}}", self.custom_data_update(kind))
            a("DELETE", f"/{data}/{{id}}", self.custom_delete(
                data, f"{kind.capitalize()}CustomFieldData deleted."))
        a("GET", "/deals", self.deals_list)
        a("POST", "/deals", self.deals_create)
        a("GET", "/deals/{id}", self.simple_get("deals", "deal", "Deal"))
        a("PUT", "/deals/{id}", self.deals_update)
        a("DELETE", "/deals/{id}", self.simple_delete("deals", "Deal"))
        a("GET", "/dealGroups", self.deal_groups_list)
        a("POST", "/dealGroups", self.deal_groups_create)
        a("GET", "/dealGroups/{id}", self.simple_get("dealGroups", "dealGroup", "Pipeline"))
        a("PUT", "/dealGroups/{id}", self.simple_update("dealGroups", "dealGroup", "Pipeline",
                                                        ("title", "currency", "allgroups",
                                                         "allusers", "autoassign")))
        a("DELETE", "/dealGroups/{id}", self.simple_delete("dealGroups", "Pipeline"))
        a("GET", "/dealStages", self.filtered_list(
            "dealStages", {"d_groupid": "group", "title": "title"}))
        a("POST", "/dealStages", self.deal_stages_create)
        a("GET", "/dealStages/{id}", self.simple_get("dealStages", "dealStage", "DealStage"))
        a("PUT", "/dealStages/{id}", self.simple_update("dealStages", "dealStage", "DealStage",
                                                        ("title", "color", "order", "width")))
        a("DELETE", "/dealStages/{id}", self.simple_delete("dealStages", "DealStage"))
        a("GET", "/lists", self.filtered_list("lists", {"name": "name"}))
        a("POST", "/lists", self.lists_create)
        a("GET", "/lists/{id}", self.simple_get("lists", "list", "List"))
        a("PUT", "/lists/{id}", self.simple_update("lists", "list", "List",
                                                   ("name", "stringid", "sender_url",
                                                    "sender_reminder")))
        a("DELETE", "/lists/{id}", self.simple_delete("lists", "List"))
        a("GET", "/contactLists", self.filtered_list(
            "contactLists", {"contact": "contact", "list": "list"}))
        a("POST", "/contactLists", self.contact_lists_create)
        a("GET", "/contactLists/{id}", self.simple_get("contactLists", "contactList",
                                                       "SubscriberList"))
        a("GET", "/tags", self.tags_list)
        a("POST", "/tags", self.tags_create)
        a("GET", "/tags/{id}", self.simple_get("tags", "tag", "Tag"))
        a("PUT", "/tags/{id}", self.tags_update)
        a("DELETE", "/tags/{id}", self.simple_delete("tags", "Tag"))
        a("GET", "/contactTags", self.filtered_list(
            "contactTags", {"contact": "contact", "tag": "tag"}))
        a("POST", "/contactTags", self.contact_tags_create)
        a("GET", "/contactTags/{id}", self.simple_get("contactTags", "contactTag",
                                                      "SubscriberTag"))
        a("DELETE", "/contactTags/{id}", self.contact_link_delete("contactTags",
                                                                  "SubscriberTag"))
        a("GET", "/segments", self.simple_list("segments"))
        a("GET", "/segments/{id}", self.simple_get("segments", "segment", "Segment"))
        a("GET", "/automations", self.automations_list)
        a("GET", "/automations/{id}", self.simple_get("automations", "automation", "Series"))
        a("GET", "/contactAutomations", self.filtered_list(
            "contactAutomations", {"contact": "contact", "seriesid": "seriesid",
                                   "automation": "seriesid"}))
        a("POST", "/contactAutomations", self.contact_automations_create)
        a("GET", "/contactAutomations/{id}", self.simple_get(
            "contactAutomations", "contactAutomation", "SubscriberSeries"))
        a("DELETE", "/contactAutomations/{id}", self.contact_link_delete(
            "contactAutomations", "SubscriberSeries"))

    # ---- generic pieces -------------------------------------------------------------------
    def out(self, req: Request, kind: str, obj: Obj) -> Obj:
        return with_links(req.base, kind, obj)

    def page(self, req: Request, kind: str, ids: list[int], *, has_meta: bool = True,
             total_is_int: bool = False) -> tuple[list[Obj], Obj]:
        limit, offset = paging(req.params)
        if kind.endswith(("CustomFieldMeta", "CustomFieldData")):
            # these document no offset (spec §11): AccountBehaviour.custom_field_paging
            mode = self.behaviour.custom_field_paging
            if mode == "all":
                limit, offset = len(ids), 0
            elif mode == "first":
                offset = 0
        rows = self.store[kind].rows
        items = [self.out(req, kind, rows[i]) for i in ids[offset:offset + limit]]
        meta: Obj = {"total": len(ids) if total_is_int else str(len(ids))}
        return items, meta if has_meta else {}

    def filtered_list(self, kind: str, filter_map: dict[str, str],
                      has_meta: bool = True) -> Handler:
        def handler(req: Request) -> Answer:
            filters = {}
            for param, field_name in filter_map.items():
                value = one(req.params, f"filters[{param}]")
                if value not in (None, ""):
                    filters[field_name] = self._filter_value(kind, field_name, value)
            ids = self.store.query_table(kind, filters)
            items, meta = self.page(req, kind, ids, has_meta=has_meta)
            body: Obj = {kind: items}
            if has_meta:
                body["meta"] = meta
            return 200, body
        return handler

    @staticmethod
    def _filter_value(kind: str, field_name: str, value: str) -> str:
        if field_name in ("accountId", "dealId"):
            number = to_int(value)
            return str(number) if number is not None else value
        return value

    def simple_list(self, kind: str) -> Handler:
        return self.filtered_list(kind, {})

    def simple_get(self, kind: str, singular: str, model: str) -> Handler:
        def handler(req: Request, oid: str) -> Answer:
            obj = self.store[kind].get(oid)
            if obj is None:
                return not_found(model, oid)
            return 200, {singular: self.out(req, kind, obj)}
        return handler

    def simple_update(self, kind: str, singular: str, model: str,
                      writable: tuple[str, ...]) -> Handler:
        def handler(req: Request, oid: str) -> Answer:
            obj = self.store[kind].get(oid)
            if obj is None:
                return not_found(model, oid)
            data = body_obj(req, singular) or {}
            changes = {k: text(v) for k, v in data.items() if k in writable}
            ts = self.store.clock()
            for stamp in ("udate", "mdate"):
                if stamp in obj:
                    changes[stamp] = iso(ts)
            if "updated_timestamp" in obj:
                changes["updated_timestamp"] = naive_local(ts)
            self.store[kind].update(int(oid), changes)
            self.store.dirty()
            return 200, {singular: self.out(req, kind, obj)}
        return handler

    def simple_delete(self, kind: str, model: str) -> Handler:
        def handler(req: Request, oid: str) -> Answer:
            if self.store[kind].get(oid) is None:
                return not_found(model, oid)
            self._cascade_delete(kind, int(oid))
            return 200, {}
        return handler

    def _cascade_delete(self, kind: str, oid: int) -> None:
        store = self.store
        store[kind].delete(oid)
        children = {"lists": [("contactLists", "list")], "tags": [("contactTags", "tag")],
                    "deals": [("dealCustomFieldData", "dealId")],
                    "dealGroups": [("dealStages", "group")],
                    "fields": [("fieldValues", "field"), ("fieldOptions", "field"),
                               ("fieldRels", "field")]}
        for child, key in children.get(kind, []):
            for cid in store[child].where(key, oid):
                store[child].delete(cid)
        store.dirty()

    def contact_link_delete(self, kind: str, model: str) -> Handler:
        def handler(req: Request, oid: str) -> Answer:
            obj = self.store[kind].get(oid)
            if obj is None:
                return not_found(model, oid)
            self.store[kind].delete(int(oid))
            self.store.touch_contacts([obj["contact"]])
            return 200, {}
        return handler

    # ---- users ---------------------------------------------------------------------------
    def users_me(self, req: Request) -> Answer:
        user = self.store["users"].rows[self.store["users"].ids[0]]
        return 200, {"user": self.out(req, "users", user)}

    # ---- contacts ------------------------------------------------------------------------
    def dated(self, params: Params) -> Params:
        """``filters[created_*|updated_*]`` as this account reads them (timezone and
        granularity [U], spec §2/§9): AccountBehaviour.date_filters."""
        mode = self.behaviour.date_filters
        if mode == "exact":
            return params
        out = dict(params)
        for key, values in params.items():
            if key.startswith("filters[") and key.endswith(("_after]", "_before]")) and values:
                value = values[-1].strip()
                wall = OFFSET_RE.sub("", value) if len(value) > 10 else value  # offset ignored
                out[key] = [wall[:10] if mode == "account-day" else wall]
        return out

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

    def contacts_list(self, req: Request) -> Answer:
        params = self.dated(req.params)
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
            body[inc] = self._sideload(req, inc, page_ids)
        body["meta"] = {"total": str(len(ordered)), "page_input": page_input}
        return 200, body

    @staticmethod
    def _includes(params: Params) -> list[str]:
        raw = ",".join(params.get("include", []))
        wanted = [p.strip() for p in raw.split(",") if p.strip()]
        return [w for w in LIST_INCLUDES if w in wanted]

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

    def contacts_get(self, req: Request, oid: str) -> Answer:
        obj = self.store["contacts"].get(oid)
        if obj is None:
            return not_found("Subscriber", oid)
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

    def contacts_create(self, req: Request) -> Answer:
        data = body_obj(req, "contact")
        if data is None:
            return unprocessable("field_missing", "Contact Email Address is not provided",
                                 "email")
        problem = self._contact_input(data, creating=True)
        if problem:
            return problem
        if self.store.contact_by_email(text(data["email"])) is not None:
            return duplicate_email()
        cid = self._apply_contact(None, data, self.store.clock())
        return self._contact_answer(req, cid, 201)

    def contacts_sync(self, req: Request) -> Answer:
        data = body_obj(req, "contact")
        if data is None:
            return unprocessable("field_missing", "Contact Email Address is not provided",
                                 "email")
        problem = self._contact_input(data, creating=True)
        if problem:
            return problem
        existing = self.store.contact_by_email(text(data["email"]))
        ts = self.store.clock()
        if existing is None:
            return self._contact_answer(req, self._apply_contact(None, data, ts), 201)
        # Matching is case-insensitive; the stored spelling of the email is kept [U].
        data = {k: v for k, v in data.items() if k != "email"}
        cid = self._apply_contact(int(existing["id"]), data, ts)
        return self._contact_answer(req, cid, 200)

    def contacts_update(self, req: Request, oid: str) -> Answer:
        obj = self.store["contacts"].get(oid)
        if obj is None:
            return not_found("Subscriber", oid)
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

    def contacts_delete(self, req: Request, oid: str) -> Answer:
        cid = to_int(oid)
        if cid is None or not self.store.delete_contact(cid):
            return 404, {"message": f"No result found for contact with id {oid}"}
        return 200, {}

    def contact_sublist(self, sub: str) -> Handler:
        def handler(req: Request, oid: str) -> Answer:
            obj = self.store["contacts"].get(oid)
            if obj is None:
                return not_found("Subscriber", oid)
            table = self.store[sub]
            # Sub-lists page too (spec §11; AC's own link asks limit=1000): default 20,
            # at most 1000 [U]; no meta.
            _, offset = paging(req.params)
            limit = min(to_int(one(req.params, "limit")) or DEFAULT_LIMIT, SUBLIST_MAX_LIMIT)
            limit = limit if limit > 0 else DEFAULT_LIMIT
            ids = table.where("contact", int(obj["id"]))[offset:offset + limit]
            return 200, {sub: [self.out(req, sub, table.rows[o]) for o in ids]}
        return handler

    # ---- contact custom fields -----------------------------------------------------------
    def _field_out(self, req: Request, obj: Obj) -> Obj:
        fid = obj["id"]
        out = self.out(req, "fields", obj)
        out["options"] = [self.store["fieldOptions"].rows[o]["id"]
                          for o in self.store["fieldOptions"].where("field", fid)]
        out["relations"] = [self.store["fieldRels"].rows[o]["id"]
                            for o in self.store["fieldRels"].where("field", fid)]
        return out

    def _field_related(self, req: Request, fids: list[str]) -> tuple[list[Obj], list[Obj]]:
        options, rels = [], []
        for fid in fids:
            options += [self.out(req, "fieldOptions", self.store["fieldOptions"].rows[o])
                        for o in self.store["fieldOptions"].where("field", fid)]
            rels += [self.out(req, "fieldRels", self.store["fieldRels"].rows[o])
                     for o in self.store["fieldRels"].where("field", fid)]
        return options, rels

    def fields_list(self, req: Request) -> Answer:
        filters = {}
        perstag = one(req.params, "filters[perstag]")
        if perstag:
            filters["perstag"] = perstag
        ids = self.store.query_table("fields", filters)
        limit, offset = paging(req.params)
        rows = self.store["fields"].rows
        fields = [self._field_out(req, rows[i]) for i in ids[offset:offset + limit]]
        options, rels = self._field_related(req, [f["id"] for f in fields])
        return 200, {"fieldOptions": options, "fieldRels": rels, "fields": fields,
                     "meta": {"total": str(len(ids))}}

    def _field_title_taken(self, title: str, except_id: str | None = None) -> bool:
        wanted = title.strip().lower()
        return any(f["title"].strip().lower() == wanted and f["id"] != except_id
                   for f in self.store["fields"].rows.values())

    def fields_create(self, req: Request) -> Answer:
        data = body_obj(req, "field") or {}
        title = text(data.get("title")).strip()
        kind = text(data.get("type")).strip()
        if not title:
            return unprocessable("field_missing", "Field title is required", "title")
        if not kind:
            return unprocessable("field_missing", "Field type is required", "type")
        if kind not in FIELD_TYPES:
            return unprocessable("field_invalid", "Field type is invalid", "type")
        if self._field_title_taken(title):
            return unprocessable("duplicate", "A field with this title already exists",
                                 "title")
        ts = self.store.clock()
        extra: Obj = {k: text(data[k]) for k in ("descript", "defval", "visible", "ordernum",
                                            "isrequired", "show_in_list") if k in data}
        obj = self.store["fields"].insert(new_field(title, kind, ts, **extra))
        if data.get("perstag"):
            obj["perstag"] = perstag_of(text(data["perstag"]))
        self.store.dirty()
        return 201, {"field": self._field_out(req, obj)}

    def fields_get(self, req: Request, oid: str) -> Answer:
        obj = self.store["fields"].get(oid)
        if obj is None:
            return not_found("Field", oid)
        options, rels = self._field_related(req, [obj["id"]])
        return 200, {"field": self._field_out(req, obj), "fieldOptions": options,
                     "fieldRels": rels}

    def fields_update(self, req: Request, oid: str) -> Answer:
        obj = self.store["fields"].get(oid)
        if obj is None:
            return not_found("Field", oid)
        data = body_obj(req, "field") or {}
        if "title" in data and self._field_title_taken(text(data["title"]), obj["id"]):
            return unprocessable("duplicate", "A field with this title already exists",
                                 "title")
        if "type" in data and text(data["type"]) not in FIELD_TYPES:
            return unprocessable("field_invalid", "Field type is invalid", "type")
        changes = {k: text(v) for k, v in data.items()
                   if k in ("title", "type", "descript", "perstag", "defval", "visible",
                            "ordernum", "isrequired", "show_in_list")}
        ts = self.store.clock()
        changes.update(udate=iso(ts), updated_timestamp=naive_local(ts))
        self.store["fields"].update(int(oid), changes)
        self.store.dirty()
        return 200, {"field": self._field_out(req, obj)}

    def fields_delete(self, req: Request, oid: str) -> Answer:
        if self.store["fields"].get(oid) is None:
            return not_found("Field", oid)
        self._cascade_delete("fields", int(oid))
        return 200, {}

    def field_rels_create(self, req: Request) -> Answer:
        data = body_obj(req, "fieldRel") or {}
        fid = to_int(data.get("field"))
        if fid is None:
            return unprocessable("field_missing", "Field is required", "field")
        if self.store["fields"].get(fid) is None:
            return not_found("Field", fid)
        obj = self.store["fieldRels"].insert({"field": str(fid),
                                              "relid": text(data.get("relid", 0)),
                                              "dorder": text(data.get("dorder", 0)),
                                              "cdate": iso(self.store.clock())})
        self.store.dirty()
        return 201, {"fieldRel": self.out(req, "fieldRels", obj)}

    def field_options_bulk(self, req: Request) -> Answer:
        items = req.body.get("fieldOptions") if isinstance(req.body, dict) else None
        if not isinstance(items, list) or not items:
            return 422, {"errors": "fieldOptions must be a non-empty array"}
        for item in items:
            fid = to_int(item.get("field")) if isinstance(item, dict) else None
            if fid is None or self.store["fields"].get(fid) is None:
                return 422, {"errors": f"Field {item.get('field') if isinstance(item, dict) else ''} does not exist"}  # noqa: E501
        ts = self.store.clock()
        created = []
        for pos, item in enumerate(items, start=1):
            label = text(item.get("label") or item.get("value"))
            created.append(self.store["fieldOptions"].insert(new_field_option(
                int(item["field"]), label, text(item.get("value", label)),
                to_int(item.get("orderid")) or pos, ts, text(item.get("isdefault", 0)))))
        self.store.dirty()
        return 201, {"fieldOptions": [self.out(req, "fieldOptions", o) for o in created]}

    def field_values_list(self, req: Request) -> Answer:
        filters = {}
        for param, field_name in (("fieldid", "field"), ("contact", "contact"),
                                  ("val", "value")):
            value = one(req.params, f"filters[{param}]")
            if value not in (None, ""):
                filters[field_name] = value
        ids = self.store.query_table("fieldValues", filters)
        items, meta = self.page(req, "fieldValues", ids)
        return 200, {"fieldValues": items, "meta": meta}

    def field_values_create(self, req: Request) -> Answer:
        data = body_obj(req, "fieldValue") or {}
        for attr in ("contact", "field"):
            if to_int(data.get(attr)) is None:
                return unprocessable("field_missing", f"{attr} is required", attr)
        cid, fid = int(data["contact"]), int(data["field"])
        if self.store["contacts"].get(cid) is None:
            return not_found("Subscriber", cid)
        if self.store["fields"].get(fid) is None:
            return not_found("Field", fid)
        obj = self.store.set_field_value(cid, fid, data.get("value"))
        contact = self.out(req, "contacts", self.store["contacts"].rows[cid])
        return 200, {"contacts": [contact], "fieldValue": self.out(req, "fieldValues", obj)}

    def field_values_update(self, req: Request, oid: str) -> Answer:
        obj = self.store["fieldValues"].get(oid)
        if obj is None:
            return not_found("FieldValue", oid)
        data = body_obj(req, "fieldValue") or {}
        updated = self.store.set_field_value(int(obj["contact"]), int(obj["field"]),
                                             data.get("value", obj["value"]))
        contact = self.out(req, "contacts", self.store["contacts"].rows[int(obj["contact"])])
        return 200, {"contacts": [contact], "fieldValue": self.out(req, "fieldValues", updated)}

    def field_values_delete(self, req: Request, oid: str) -> Answer:
        obj = self.store["fieldValues"].get(oid)
        if obj is None:
            return not_found("FieldValue", oid)
        self.store["fieldValues"].delete(int(oid))
        self.store.touch_contacts([obj["contact"]])
        return 200, {}

    # ---- accounts ------------------------------------------------------------------------
    def _account_out(self, req: Request, obj: Obj, counts: bool) -> Obj:
        out = self.out(req, "accounts", obj)
        if counts:
            aid = obj["id"]
            out["contactCount"] = str(len(self.store["accountContacts"].index["account"]
                                          .get(aid, ())))
            out["dealCount"] = str(len(self.store["deals"].index["account"].get(aid, ())))
        return out

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

    def _currency_problem(self, kind: str, item: Any, where: str = "") -> Answer | None:
        """A currency field's value needs fieldCurrency and is whole cents (spec §5.4, §11);
        other field types are not checked here."""
        if not isinstance(item, dict):
            return None
        meta = self.store[f"{kind}CustomFieldMeta"].get(to_int(item.get("customFieldId")))
        value = item.get("fieldValue")
        if meta is None or meta.get("fieldType") != "currency" or value in (None, ""):
            return None
        if not text(item.get("fieldCurrency")).strip():
            return unprocessable("field_missing", "fieldCurrency is required for a currency "
                                 "field", f"{where}fieldCurrency")
        if not re.fullmatch(r"-?\d+", text(value).strip()):
            return unprocessable("field_invalid", "A currency field value needs to be in cents",
                                 f"{where}fieldValue")
        return None

    def accounts_create(self, req: Request) -> Answer:
        data = body_obj(req, "account") or {}
        name = text(data.get("name")).strip()
        if not name:
            return unprocessable("field_missing", "Account name is required", "name")
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

    def accounts_get(self, req: Request, oid: str) -> Answer:
        obj = self.store["accounts"].get(oid)
        if obj is None:
            return not_found("Account", oid)
        return 200, {"account": self._account_out(req, obj, True)}

    def accounts_update(self, req: Request, oid: str) -> Answer:
        obj = self.store["accounts"].get(oid)
        if obj is None:
            return not_found("Account", oid)
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

    def accounts_delete(self, req: Request, oid: str) -> Answer:
        if self.store["accounts"].get(oid) is None:
            return not_found("Account", oid)
        aid = int(oid)
        links = self.store["accountContacts"]
        for link in links.where("account", aid):
            cid = int(links.rows[link]["contact"])
            links.delete(link)
            self.store.unlink_account(cid)
            self.store.touch_contacts([cid])
        for datum in self.store["accountCustomFieldData"].where("accountId", aid):
            self.store["accountCustomFieldData"].delete(datum)
        self.store["accounts"].delete(aid)
        self.store.dirty()
        return 200, {}

    def account_contacts_create(self, req: Request) -> Answer:
        data = body_obj(req, "accountContact") or {}
        for attr in ("account", "contact"):
            if to_int(data.get(attr)) is None:
                return unprocessable("field_missing", f"{attr.capitalize()} is required", attr)
        aid, cid = int(data["account"]), int(data["contact"])
        if self.store["accounts"].get(aid) is None:
            return unprocessable("field_invalid", "Account does not exist", "account")
        if self.store["contacts"].get(cid) is None:
            return unprocessable("field_invalid", "Contact does not exist", "contact")
        if self.store["accountContacts"].where("contact", cid):
            return unprocessable("field_invalid",
                                 "The contact is already associated with an account", "contact")
        obj = self.store.link_account(cid, aid, text(data.get("jobTitle")))
        return 201, {"accountContact": self.out(req, "accountContacts", obj)}

    def account_contacts_update(self, req: Request, oid: str) -> Answer:
        obj = self.store["accountContacts"].get(oid)
        if obj is None:
            return not_found("CustomerAccountSubscriber", oid)
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
        self.store.touch_contacts([obj["contact"]], ts)
        return 200, {"accountContact": self.out(req, "accountContacts", obj)}

    def account_contacts_delete(self, req: Request, oid: str) -> Answer:
        obj = self.store["accountContacts"].get(oid)
        if obj is None:
            return not_found("CustomerAccountSubscriber", oid)
        self.store["accountContacts"].delete(int(oid))
        self.store.unlink_account(int(obj["contact"]))
        self.store.touch_contacts([obj["contact"]])
        return 200, {}

    # ---- account / deal custom fields ----------------------------------------------------
    def custom_get(self, kind: str, singular: str) -> Handler:
        def handler(req: Request, oid: str) -> Answer:
            obj = self.store[kind].get(oid)
            if obj is None:
                return not_found_errors()
            return 200, {singular: self.out(req, kind, obj)}
        return handler

    def custom_delete(self, kind: str, message: str) -> Handler:
        def handler(req: Request, oid: str) -> Answer:
            if self.store[kind].get(oid) is None:
                return not_found_errors()
            self.store[kind].delete(int(oid))
            if kind.endswith("Meta"):
                data = self.store[kind.replace("Meta", "Data")]
                for datum in data.where("customFieldId", int(oid)):
                    data.delete(datum)
            self.store.dirty()
            return 200, {"message": message}
        return handler

    def custom_meta_create(self, kind: str) -> Handler:
        table, singular = f"{kind}CustomFieldMeta", f"{kind}CustomFieldMetum"

        def handler(req: Request) -> Answer:
            data = body_obj(req, singular) or {}
            label = text(data.get("fieldLabel")).strip()
            ftype = text(data.get("fieldType")).strip()
            if not label:
                return unprocessable("field_missing", "fieldLabel is required", "fieldLabel")
            if not ftype:
                return unprocessable("field_missing", "fieldType is required", "fieldType")
            if ftype not in FIELD_TYPES:
                return unprocessable("field_invalid", "fieldType is invalid", "fieldType")
            ts = self.store.clock()
            options = data.get("fieldOptions")
            obj = new_custom_meta(label, ftype, ts, to_int(data.get("displayOrder")) or
                                  len(self.store[table]) + 1,
                                  options if isinstance(options, list) else None,
                                  data.get("fieldDefaultCurrency"))
            obj["fieldDefault"] = data.get("fieldDefault")
            for flag in ("isFormVisible", "isRequired"):
                if flag in data:
                    obj[flag] = 1 if to_int(data[flag]) else 0
            created = self.store[table].insert(obj)
            self.store.dirty()
            return 200, {singular: self.out(req, table, created)}
        return handler

    def custom_meta_update(self, kind: str) -> Handler:
        table, singular = f"{kind}CustomFieldMeta", f"{kind}CustomFieldMetum"

        def handler(req: Request, oid: str) -> Answer:
            obj = self.store[table].get(oid)
            if obj is None:
                return not_found_errors()
            data = body_obj(req, singular) or {}
            changes: Obj = {}
            for key in ("fieldLabel", "fieldOptions", "fieldDefault", "fieldDefaultCurrency"):
                if key in data:
                    changes[key] = data[key]
            for key in ("isFormVisible", "isRequired", "displayOrder"):
                if key in data and to_int(data[key]) is not None:
                    changes[key] = to_int(data[key])
            changes["updatedTimestamp"] = naive_local(self.store.clock())
            self.store[table].update(int(oid), changes)
            self.store.dirty()
            return 200, {singular: self.out(req, table, obj)}
        return handler

    def _owner_exists(self, kind: str, owner_id: int | None) -> bool:
        table = "accounts" if kind == "account" else "deals"
        return owner_id is not None and self.store[table].get(owner_id) is not None

    def custom_data_create(self, kind: str) -> Handler:
        table, singular = f"{kind}CustomFieldData", f"{kind}CustomFieldDatum"
        owner_in = "customerAccountId" if kind == "account" else "dealId"

        def handler(req: Request) -> Answer:
            data = body_obj(req, singular) or {}
            owner_id = to_int(data.get(owner_in, data.get("accountId")))
            fid = to_int(data.get("customFieldId"))
            if not self._owner_exists(kind, owner_id):
                return not_found_errors(f"{kind.capitalize()} not found")
            if fid is None or self.store[f"{kind}CustomFieldMeta"].get(fid) is None:
                return not_found_errors("Custom field not found")
            problem = self._currency_problem(kind, data)
            if problem:
                return problem
            obj = self.store.set_custom_datum(kind, owner_id or 0, fid, data.get("fieldValue"),
                                              data.get("fieldCurrency"))
            return 200, {singular: self.out(req, table, obj)}
        return handler

    def custom_data_bulk_create(self, kind: str) -> Handler:
        owner_keys = ("accountId", "customerAccountId") if kind == "account" else ("dealId",)

        def handler(req: Request) -> Answer:
            items = req.body
            if not isinstance(items, list) or not items:
                return 422, {"errors": [{"status": 422, "title": "Unprocessable Entity",
                                         "detail": "The body must be a JSON array"}]}
            resolved = []
            for item in items:
                owner_id = None
                if isinstance(item, dict):
                    owner_id = next((to_int(item[k]) for k in owner_keys if k in item), None)
                fid = to_int(item.get("customFieldId")) if isinstance(item, dict) else None
                if not self._owner_exists(kind, owner_id) or fid is None or \
                        self.store[f"{kind}CustomFieldMeta"].get(fid) is None:
                    return 422, {"errors": [{"status": 422, "title": "Unprocessable Entity",
                                             "detail": "Unknown owner or custom field"}]}
                problem = self._currency_problem(kind, item)
                if problem:
                    return problem
                resolved.append((owner_id, fid, item))
            ts = self.store.clock()
            for owner_id, fid, item in resolved:
                self.store.set_custom_datum(kind, owner_id or 0, fid, item.get("fieldValue"),
                                            item.get("fieldCurrency"), ts)
            return 200, {"message": "the bulk insert was successful"}
        return handler

    def custom_data_bulk_update(self, kind: str) -> Handler:
        table = f"{kind}CustomFieldData"

        def handler(req: Request) -> Answer:
            items = req.body
            if not isinstance(items, list) or not items or any(
                    not isinstance(i, dict) or self.store[table].get(i.get("id")) is None
                    for i in items):
                return 422, {"errors": [{"status": 422, "title": "Unprocessable Entity",
                                         "detail": "Every item needs the id of a datum"}]}
            for item in items:
                problem = self._currency_problem(kind, {
                    "customFieldId": self.store[table].rows[int(item["id"])]["customFieldId"],
                    **item})
                if problem:
                    return problem
            ts = self.store.clock()
            for item in items:
                obj = self.store[table].rows[int(item["id"])]
                owner = obj["accountId"] if kind == "account" else obj["dealId"]
                self.store.set_custom_datum(kind, owner, obj["customFieldId"],
                                            item.get("fieldValue", obj["fieldValue"]),
                                            item.get("fieldCurrency"), ts)
            return 200, {"message": "the bulk update was successful"}
        return handler

    def custom_data_update(self, kind: str) -> Handler:
        table, singular = f"{kind}CustomFieldData", f"{kind}CustomFieldDatum"

        def handler(req: Request, oid: str) -> Answer:
            obj = self.store[table].get(oid)
            if obj is None:
                return not_found_errors()
            data = body_obj(req, singular) or {}
            problem = self._currency_problem(kind, {
                "customFieldId": obj["customFieldId"], **data})
            if problem:
                return problem
            owner = obj["accountId"] if kind == "account" else obj["dealId"]
            updated = self.store.set_custom_datum(kind, owner, obj["customFieldId"],
                                                  data.get("fieldValue", obj["fieldValue"]),
                                                  data.get("fieldCurrency"))
            return 200, {singular: self.out(req, table, updated)}
        return handler

    # ---- deals ---------------------------------------------------------------------------
    def deals_list(self, req: Request) -> Answer:
        params = self.dated(req.params)
        filters = {}
        for param in ("stage", "group", "status", "owner", "contact", "account"):
            value = one(params, f"filters[{param}]")
            if value not in (None, ""):
                filters[param] = value
        bounds = []
        for name, stamp, after in (("created_after", "cdate", True),
                                   ("created_before", "cdate", False),
                                   ("updated_after", "mdate", True),
                                   ("updated_before", "mdate", False)):
            raw = one(params, f"filters[{name}]")
            bound = parse_filter_time(raw) if raw else None
            if bound is not None:
                bounds.append((stamp, after, bound))
        search = (one(params, "filters[search]") or one(params, "filters[title]") or
                  "").lower()

        def predicate(obj: Obj) -> bool:
            for stamp, after, bound in bounds:
                value = parse_iso(obj[stamp])
                if (value < bound) if after else (value > bound):
                    return False
            return not search or search in obj["title"].lower()

        use_predicate = bool(bounds or search)
        ids = self.store.query_table("deals", filters, predicate if use_predicate else None,
                                     (tuple(bounds), search))
        items, meta = self.page(req, "deals", ids, total_is_int=True)
        rows = self.store["deals"].rows
        currencies: dict[str, Obj] = {}
        for i in ids:
            deal = rows[i]
            cur = currencies.setdefault(deal["currency"].upper(), {
                "currency": deal["currency"], "total": 0, "value": 0})
            cur["total"] += 1
            cur["value"] += to_int(deal["value"]) or 0
        for cur in currencies.values():
            cur["total"], cur["value"] = str(cur["total"]), str(cur["value"])
        meta["currencies"] = currencies
        return 200, {"deals": items, "meta": meta}

    def _deal_refs(self, data: Obj, current: Obj | None) -> Answer | tuple[str, str]:
        """The (group, stage) of a deal body, or a 422."""
        stage_id = to_int(data.get("stage"))
        group_id = to_int(data.get("group"))
        if stage_id is not None:
            stage = self.store["dealStages"].get(stage_id)
            if stage is None:
                return unprocessable("field_invalid", "Stage does not exist", "stage")
            return stage["group"], stage["id"]
        if group_id is not None:
            if self.store["dealGroups"].get(group_id) is None:
                return unprocessable("field_invalid", "Pipeline does not exist", "group")
            stages = self.store["dealStages"].where("group", group_id)
            if not stages:
                return unprocessable("field_invalid", "Pipeline has no stages", "group")
            return str(group_id), str(stages[0])
        if current is not None:
            return current["group"], current["stage"]
        return unprocessable("field_missing", "Deal stage or pipeline is required", "stage")

    def _deal_echo(self, req: Request, obj: Obj) -> Obj:
        """POST /deals echoes numbers as JSON ints."""
        out = self.out(req, "deals", obj)
        for key in ("contact", "account", "group", "stage", "owner", "value", "percent",
                    "status"):
            if out.get(key) is not None and to_int(out[key]) is not None:
                out[key] = to_int(out[key])
        return out

    def deals_create(self, req: Request) -> Answer:
        data = body_obj(req, "deal") or {}
        title = text(data.get("title")).strip()
        if not title:
            return unprocessable("field_missing", "Deal title is required", "title")
        if to_int(data.get("value")) is None:
            return unprocessable("field_missing", "Deal value is required", "value")
        cid, aid = to_int(data.get("contact")), to_int(data.get("account"))
        if cid is None and aid is None:
            return unprocessable("field_missing", "A deal needs a contact or an account",
                                 "contact")
        if cid is not None and self.store["contacts"].get(cid) is None:
            return unprocessable("field_invalid", "Contact does not exist", "contact")
        if aid is not None and self.store["accounts"].get(aid) is None:
            return unprocessable("field_invalid", "Account does not exist", "account")
        refs = self._deal_refs(data, None)
        if isinstance(refs[0], int):
            return refs
        group, stage = refs
        status = text(data.get("status", "0"))
        if status not in ("0", "1", "2"):
            return unprocessable("field_invalid", "Deal status is invalid", "status")
        ts = self.store.clock()
        obj = self.store["deals"].insert(new_deal(
            title, ts, contact=str(cid) if cid else None, account=str(aid) if aid else None,
            customerAccount=str(aid) if aid else None, group=group, stage=stage,
            value=str(to_int(data["value"])), currency=text(data.get("currency") or "usd")
            .lower(), status=status, owner=text(data.get("owner") or "1"),
            percent=text(data.get("percent") or "0"),
            description=text(data.get("description")),
            edate=naive_local(ts) if status != "0" else None))
        for item in data.get("fields") or []:
            fid = to_int(item.get("customFieldId")) if isinstance(item, dict) else None
            if fid is not None and self.store["dealCustomFieldMeta"].get(fid) is not None:
                self.store.set_custom_datum("deal", int(obj["id"]), fid,
                                            item.get("fieldValue"), item.get("fieldCurrency"),
                                            ts)
        self.store.dirty()
        contacts = [self.out(req, "contacts", self.store["contacts"].rows[cid])] if cid else []
        stage_obj = self.store["dealStages"].rows[int(stage)]
        return 201, {"contacts": contacts, "deal": self._deal_echo(req, obj),
                     "dealStages": [self.out(req, "dealStages", stage_obj)]}

    def deals_update(self, req: Request, oid: str) -> Answer:
        obj = self.store["deals"].get(oid)
        if obj is None:
            return not_found("Deal", oid)
        data = body_obj(req, "deal") or {}
        refs = self._deal_refs(data, obj)
        if isinstance(refs[0], int):
            return refs
        ts = self.store.clock()
        changes: Obj = {"group": refs[0], "stage": refs[1], "mdate": iso(ts)}
        for key in ("title", "description", "owner", "percent", "contact", "account"):
            if key in data and data[key] is not None:
                changes[key] = text(data[key])
        if "value" in data and to_int(data["value"]) is not None:
            changes["value"] = str(to_int(data["value"]))
        if data.get("currency"):
            changes["currency"] = text(data["currency"]).lower()
        if "status" in data:
            status = text(data["status"])
            if status not in ("0", "1", "2"):
                return unprocessable("field_invalid", "Deal status is invalid", "status")
            changes["status"] = status
            changes["edate"] = naive_local(ts) if status != "0" else None
        self.store["deals"].update(int(oid), changes)
        self.store.dirty()
        return 200, {"deal": self.out(req, "deals", obj)}

    def deal_groups_list(self, req: Request) -> Answer:
        filters = {}
        title = one(req.params, "filters[title]")
        if title:
            filters["title"] = title
        ids = self.store.query_table("dealGroups", filters)
        items, meta = self.page(req, "dealGroups", ids)
        stages = [self.out(req, "dealStages", self.store["dealStages"].rows[s])
                  for g in items for s in self.store["dealStages"].where("group", g["id"])]
        return 200, {"dealGroups": items, "dealStages": stages, "meta": meta}

    def deal_groups_create(self, req: Request) -> Answer:
        data = body_obj(req, "dealGroup") or {}
        title = text(data.get("title")).strip()
        if not title:
            return unprocessable("field_missing", "Pipeline title is required", "title")
        ts = self.store.clock()
        group = self.store["dealGroups"].insert(new_group(title, ts))
        group["currency"] = text(data.get("currency") or "usd").lower()
        stages = [self.store["dealStages"].insert(new_stage(t, int(group["id"]), i, ts))
                  for i, t in enumerate(["To Contact", "In Contact", "Follow Up"], start=1)]
        group["stages"] = [s["id"] for s in stages]
        self.store.dirty()
        return 200, {"dealGroup": self.out(req, "dealGroups", group),
                     "dealStages": [self.out(req, "dealStages", s) for s in stages]}

    def deal_stages_create(self, req: Request) -> Answer:
        data = body_obj(req, "dealStage") or {}
        title = text(data.get("title")).strip()
        gid = to_int(data.get("group"))
        if not title:
            return unprocessable("field_missing", "Stage title is required", "title")
        group = self.store["dealGroups"].get(gid) if gid is not None else None
        if group is None:
            return unprocessable("field_invalid", "Pipeline does not exist", "group")
        order = len(group["stages"]) + 1
        stage = self.store["dealStages"].insert(new_stage(title, int(group["id"]), order,
                                                          self.store.clock()))
        group["stages"] = [*group["stages"], stage["id"]]
        self.store.dirty()
        return 200, {"dealStage": self.out(req, "dealStages", stage)}

    # ---- lists, tags, automations ----------------------------------------------------------
    def lists_create(self, req: Request) -> Answer:
        data = body_obj(req, "list") or {}
        name = text(data.get("name")).strip()
        if not name:
            return unprocessable("field_missing", "List name is required", "name")
        if not text(data.get("sender_reminder")).strip():
            return unprocessable("field_missing", "sender_reminder is required",
                                 "sender_reminder")
        obj = new_list(name, self.store.clock())
        for key in ("stringid", "sender_url", "sender_reminder"):
            if key in data:
                obj[key] = text(data[key])
        created = self.store["lists"].insert(obj)
        self.store.dirty()
        return 200, {"list": self.out(req, "lists", created)}

    def contact_lists_create(self, req: Request) -> Answer:
        data = body_obj(req, "contactList") or {}
        for attr in ("list", "contact", "status"):
            if to_int(data.get(attr)) is None:
                return unprocessable("field_missing", f"{attr} is required", attr)
        lid, cid, status = int(data["list"]), int(data["contact"]), int(data["status"])
        if self.store["contacts"].get(cid) is None:
            return not_found("Subscriber", cid)
        if self.store["lists"].get(lid) is None:
            return not_found("List", lid)
        if status not in (1, 2):
            return unprocessable("field_invalid", "Status must be 1 or 2", "status")
        obj = self.store.subscribe(cid, lid, status)
        if data.get("sourceid") is not None:
            obj["sourceid"] = text(data["sourceid"])
        contact = self.out(req, "contacts", self.store["contacts"].rows[cid])
        return 200, {"contacts": [contact], "contactList": self.out(req, "contactLists", obj)}

    def tags_list(self, req: Request) -> Answer:
        search = one(req.params, "search")
        mode, needle = "contains", search
        for op in ("eq", "neq", "contains", "starts_with"):
            value = one(req.params, f"filters[search][{op}]")
            if value is not None:
                mode, needle = op, value
        needle = (needle or "").lower()

        def predicate(obj: Obj) -> bool:
            tag = obj["tag"].lower()
            return {"eq": tag == needle, "neq": tag != needle, "contains": needle in tag,
                    "starts_with": tag.startswith(needle)}[mode]

        ids = self.store.query_table("tags", {}, predicate if needle else None,
                                     (mode, needle))
        items, meta = self.page(req, "tags", ids)
        return 200, {"tags": items, "meta": meta}

    def tags_create(self, req: Request) -> Answer:
        data = body_obj(req, "tag") or {}
        name = text(data.get("tag")).strip()
        if not name:
            return 422, {"errors": [{"status": 422, "title": "Missing attribute",
                                     "source": {"pointer": "/data/attributes/tag"}}]}
        if self.store.tag_by_name(name) is not None:
            return unprocessable("duplicate", "Tag already exists", "tag")
        obj = self.store.new_tag(name, text(data.get("description")))
        obj["tagType"] = text(data.get("tagType") or "contact")
        return 201, {"tag": self.out(req, "tags", obj)}

    def tags_update(self, req: Request, oid: str) -> Answer:
        obj = self.store["tags"].get(oid)
        if obj is None:
            return not_found("Tag", oid)
        data = body_obj(req, "tag") or {}
        if "tag" in data:
            other = self.store.tag_by_name(text(data["tag"]))
            if other is not None and other is not obj:
                return unprocessable("duplicate", "Tag already exists", "tag")
        self.store["tags"].update(int(oid), {k: text(v) for k, v in data.items()
                                             if k in ("tag", "tagType", "description")})
        self.store.dirty()
        return 200, {"tag": self.out(req, "tags", obj)}

    def contact_tags_create(self, req: Request) -> Answer:
        data = body_obj(req, "contactTag") or {}
        for attr in ("contact", "tag"):
            if to_int(data.get(attr)) is None:
                return 422, {"errors": [{"status": 422, "title": "Missing attribute",
                                         "source": {"pointer": f"/data/attributes/{attr}"}}]}
        cid, tid = int(data["contact"]), int(data["tag"])
        if self.store["contacts"].get(cid) is None:
            return not_found_errors("Contact not found")
        if self.store["tags"].get(tid) is None:
            return not_found_errors("Tag not found")
        obj, _created = self.store.add_tag(cid, tid)
        return 201, {"contactTag": self.out(req, "contactTags", obj)}

    def automations_list(self, req: Request) -> Answer:
        ids = self.store.query_table("automations", {})
        items, meta = self.page(req, "automations", ids)
        meta["starts"] = []
        return 200, {"automations": items, "meta": meta}

    def contact_automations_create(self, req: Request) -> Answer:
        data = body_obj(req, "contactAutomation") or {}
        cid, aid = to_int(data.get("contact")), to_int(data.get("automation"))
        automation = self.store["automations"].get(aid) if aid is not None else None
        if automation is None or cid is None or self.store["contacts"].get(cid) is None:
            return 403, {"message": "Could not create SubscriberSeries"}
        if str(automation.get("status")) != "1":  # not active: refused for good (spec §11)
            return 403, {"message": "Could not create SubscriberSeries"}
        ts = self.store.clock()
        obj = self.store["contactAutomations"].insert(new_contact_automation(cid, aid or 0, ts))
        automation["entered"] = str(int(automation["entered"]) + 1)
        self.store.touch_contacts([cid], ts)
        contact = self.out(req, "contacts", self.store["contacts"].rows[cid])
        return 201, {"contacts": [contact],
                     "contactAutomation": self.out(req, "contactAutomations", obj)}
