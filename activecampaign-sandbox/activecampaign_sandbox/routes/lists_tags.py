"""Lists and subscriptions, tags and contact tags, automations and enrolments."""

from __future__ import annotations

from activecampaign_sandbox.envelopes import Answer, not_found_errors, one, to_int, unprocessable
from activecampaign_sandbox.routes.base import Request, Routes, body_obj, route, text
from activecampaign_sandbox.seed import new_contact_automation, new_list
from activecampaign_sandbox.store import Obj


class ListTagRoutes(Routes):
    # ---- lists, tags, automations ----------------------------------------------------------
    @route("POST", "/lists")
    def lists_create(self, req: Request) -> Answer:
        data = body_obj(req, "list") or {}
        name = self.required(data, "name", "List name is required")
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

    @route("POST", "/contactLists")
    def contact_lists_create(self, req: Request) -> Answer:
        data = body_obj(req, "contactList") or {}
        self.required_ids(data, ("list", "contact", "status"))
        lid, cid, status = int(data["list"]), int(data["contact"]), int(data["status"])
        self.find("contacts", cid)
        self.find("lists", lid)
        if status not in (1, 2):
            return unprocessable("field_invalid", "Status must be 1 or 2", "status")
        obj = self.store.subscribe(cid, lid, status, touch=False)
        self.membership_changed(cid)
        if data.get("sourceid") is not None:
            obj["sourceid"] = text(data["sourceid"])
        contact = self.out(req, "contacts", self.store["contacts"].rows[cid])
        return 200, {"contacts": [contact], "contactList": self.out(req, "contactLists", obj)}

    @route("GET", "/tags")
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

    @route("POST", "/tags")
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

    @route("PUT", "/tags/{id}")
    def tags_update(self, req: Request, oid: str) -> Answer:
        obj = self.find("tags", oid)
        data = body_obj(req, "tag") or {}
        if "tag" in data:
            other = self.store.tag_by_name(text(data["tag"]))
            if other is not None and other is not obj:
                return unprocessable("duplicate", "Tag already exists", "tag")
        self.store["tags"].update(int(oid), {k: text(v) for k, v in data.items()
                                             if k in ("tag", "tagType", "description")})
        self.store.dirty()
        return 200, {"tag": self.out(req, "tags", obj)}

    @route("POST", "/contactTags")
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
        obj, _created = self.store.add_tag(cid, tid, touch=False)
        self.membership_changed(cid)
        return 201, {"contactTag": self.out(req, "contactTags", obj)}

    @route("GET", "/automations")
    def automations_list(self, req: Request) -> Answer:
        ids = self.store.query_table("automations", {})
        items, meta = self.page(req, "automations", ids)
        meta["starts"] = []
        return 200, {"automations": items, "meta": meta}

    @route("POST", "/contactAutomations")
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
        self.membership_changed(cid, ts)
        self.store.dirty()
        contact = self.out(req, "contacts", self.store["contacts"].rows[cid])
        return 201, {"contacts": [contact],
                     "contactAutomation": self.out(req, "contactAutomations", obj)}
