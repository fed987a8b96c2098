"""Account and deal custom fields: meta (definitions) and data (values), bulk writes."""

from __future__ import annotations

from activecampaign_client.objects import OBJECTS
from activecampaign_sandbox.clock import naive_local
from activecampaign_sandbox.envelopes import Answer, not_found_errors, to_int, unprocessable
from activecampaign_sandbox.routes.base import FIELD_TYPES, Handler, Request, Routes, body_obj
from activecampaign_sandbox.seed import new_custom_meta
from activecampaign_sandbox.store import Obj


class CustomFieldRoutes(Routes):
    def register_custom_fields(self) -> None:
        a = self.add
        for kind in ("account", "deal"):
            meta, data = f"{kind}CustomFieldMeta", f"{kind}CustomFieldData"
            a("POST", f"/{meta}", self.custom_meta_create(kind))
            a("PUT", f"/{meta}/{{id}}", self.custom_meta_update(kind))
            a("DELETE", f"/{meta}/{{id}}", self.custom_delete(
                meta, f"{kind.capitalize()}CustomFieldMeta deleted."))
            a("POST", f"/{data}", self.custom_data_create(kind))
            a("POST", f"/{data}/bulkCreate", self.custom_data_bulk_create(kind))
            a("PATCH", f"/{data}/bulkUpdate", self.custom_data_bulk_update(kind))
            a("PUT", f"/{data}/{{id}}", self.custom_data_update(kind))
            a("DELETE", f"/{data}/{{id}}", self.custom_delete(
                data, f"{kind.capitalize()}CustomFieldData deleted."))

    # ---- account / deal custom fields ----------------------------------------------------
    def custom_delete(self, kind: str, message: str) -> Handler:
        def handler(req: Request, oid: str) -> Answer:
            self.find(kind, oid)
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
            label = self.required(data, "fieldLabel", "fieldLabel is required")
            ftype = self.required(data, "fieldType", "fieldType is required")
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
            obj = self.find(table, oid)
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
        def handler(req: Request, oid: str) -> Answer:
            table = f"{kind}CustomFieldData"
            singular = OBJECTS[table].singular_key
            obj = self.find(table, oid)
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
