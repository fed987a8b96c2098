"""Contact custom fields: fields, their options and relations, field values."""

from __future__ import annotations

from activecampaign_sandbox.clock import iso, naive_local
from activecampaign_sandbox.envelopes import Answer, paging, to_int, unprocessable
from activecampaign_sandbox.routes.base import FIELD_TYPES, Request, Routes, body_obj, route, text
from activecampaign_sandbox.seed import new_field, new_field_option, perstag_of
from activecampaign_sandbox.store import Obj


class FieldRoutes(Routes):
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

    @route("GET", "/fields")
    def fields_list(self, req: Request) -> Answer:
        ids = self.store.query_table("fields", self.equal_filters(
            "fields", req.params, {"perstag": "perstag"}))
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

    @route("POST", "/fields")
    def fields_create(self, req: Request) -> Answer:
        data = body_obj(req, "field") or {}
        title = self.required(data, "title", "Field title is required")
        kind = self.required(data, "type", "Field type is required")
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

    @route("GET", "/fields/{id}")
    def fields_get(self, req: Request, oid: str) -> Answer:
        obj = self.find("fields", oid)
        options, rels = self._field_related(req, [obj["id"]])
        return 200, {"field": self._field_out(req, obj), "fieldOptions": options,
                     "fieldRels": rels}

    @route("PUT", "/fields/{id}")
    def fields_update(self, req: Request, oid: str) -> Answer:
        obj = self.find("fields", oid)
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

    @route("POST", "/fieldRels")
    def field_rels_create(self, req: Request) -> Answer:
        data = body_obj(req, "fieldRel") or {}
        fid = to_int(data.get("field"))
        if fid is None:
            return unprocessable("field_missing", "Field is required", "field")
        self.find("fields", fid)
        obj = self.store["fieldRels"].insert({"field": str(fid),
                                              "relid": text(data.get("relid", 0)),
                                              "dorder": text(data.get("dorder", 0)),
                                              "cdate": iso(self.store.clock())})
        self.store.dirty()
        return 201, {"fieldRel": self.out(req, "fieldRels", obj)}

    @route("POST", "/fieldOption/bulk")
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

    @route("GET", "/fieldValues")
    def field_values_list(self, req: Request) -> Answer:
        ids = self.store.query_table("fieldValues", self.equal_filters(
            "fieldValues", req.params, {"fieldid": "field", "contact": "contact", "val": "value"}))
        items, meta = self.page(req, "fieldValues", ids)
        return 200, {"fieldValues": items, "meta": meta}

    @route("POST", "/fieldValues")
    def field_values_create(self, req: Request) -> Answer:
        data = body_obj(req, "fieldValue") or {}
        self.required_ids(data, ("contact", "field"))
        cid, fid = int(data["contact"]), int(data["field"])
        self.find("contacts", cid)
        self.find("fields", fid)
        obj = self.store.set_field_value(cid, fid, data.get("value"))
        contact = self.out(req, "contacts", self.store["contacts"].rows[cid])
        return 200, {"contacts": [contact], "fieldValue": self.out(req, "fieldValues", obj)}

    @route("PUT", "/fieldValues/{id}")
    def field_values_update(self, req: Request, oid: str) -> Answer:
        obj = self.find("fieldValues", oid)
        data = body_obj(req, "fieldValue") or {}
        updated = self.store.set_field_value(int(obj["contact"]), int(obj["field"]),
                                             data.get("value", obj["value"]))
        contact = self.out(req, "contacts", self.store["contacts"].rows[int(obj["contact"])])
        return 200, {"contacts": [contact], "fieldValue": self.out(req, "fieldValues", updated)}

    @route("DELETE", "/fieldValues/{id}")
    def field_values_delete(self, req: Request, oid: str) -> Answer:
        obj = self.find("fieldValues", oid)
        self.store["fieldValues"].delete(int(oid))
        self.store.touch_contacts([obj["contact"]])
        return 200, {}
