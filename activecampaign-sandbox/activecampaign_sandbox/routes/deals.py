"""Deals (filters, currencies), pipelines (dealGroups) and stages."""

from __future__ import annotations

from activecampaign_sandbox.clock import iso, naive_local, parse_filter_time, parse_iso
from activecampaign_sandbox.envelopes import Answer, one, to_int, unprocessable
from activecampaign_sandbox.routes.base import Request, Routes, body_obj, route, text
from activecampaign_sandbox.seed import new_deal, new_group, new_stage
from activecampaign_sandbox.store import Obj


class DealRoutes(Routes):
    # ---- deals ---------------------------------------------------------------------------
    @route("GET", "/deals")
    def deals_list(self, req: Request) -> Answer:
        params = self.dated(req.params)
        filters = self.equal_filters("deals", params, {p: p for p in (
            "stage", "group", "status", "owner", "contact", "account")})
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

    @route("POST", "/deals")
    def deals_create(self, req: Request) -> Answer:
        data = body_obj(req, "deal") or {}
        title = self.required(data, "title", "Deal title is required")
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

    @route("PUT", "/deals/{id}")
    def deals_update(self, req: Request, oid: str) -> Answer:
        obj = self.find("deals", oid)
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

    @route("GET", "/dealGroups")
    def deal_groups_list(self, req: Request) -> Answer:
        ids = self.store.query_table("dealGroups", self.equal_filters(
            "dealGroups", req.params, {"title": "title"}))
        items, meta = self.page(req, "dealGroups", ids)
        stages = [self.out(req, "dealStages", self.store["dealStages"].rows[s])
                  for g in items for s in self.store["dealStages"].where("group", g["id"])]
        return 200, {"dealGroups": items, "dealStages": stages, "meta": meta}

    @route("POST", "/dealGroups")
    def deal_groups_create(self, req: Request) -> Answer:
        data = body_obj(req, "dealGroup") or {}
        title = self.required(data, "title", "Pipeline title is required")
        ts = self.store.clock()
        group = self.store["dealGroups"].insert(new_group(title, ts))
        group["currency"] = text(data.get("currency") or "usd").lower()
        stages = [self.store["dealStages"].insert(new_stage(t, int(group["id"]), i, ts))
                  for i, t in enumerate(["To Contact", "In Contact", "Follow Up"], start=1)]
        group["stages"] = [s["id"] for s in stages]
        self.store.dirty()
        return 200, {"dealGroup": self.out(req, "dealGroups", group),
                     "dealStages": [self.out(req, "dealStages", s) for s in stages]}

    @route("POST", "/dealStages")
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
