"""``/import/bulk_import``: validation, per-minute limits and asynchronous processing."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date
from typing import Any

from activecampaign_sandbox.behaviour import AccountBehaviour
from activecampaign_sandbox.envelopes import Answer, one, to_int
from activecampaign_sandbox.limits import SlidingWindow
from activecampaign_sandbox.store import Obj, Params, Store

MAX_CONTACTS = 250
MAX_BYTES = 400_000
VALIDATION_MESSAGE = ("JSON payload did not pass validation. Please reference failureReasons "
                      "for details.")


def invalid(reasons: list[Obj]) -> Answer:
    return 400, {"success": 0, "message": VALIDATION_MESSAGE, "failureReasons": reasons}


class BulkImporter:
    """Queues import batches and applies them after ``delay`` seconds on a timer thread."""

    def __init__(self, store: Store, email_ok: Any, delay: float = 0.2,
                 per_minute: tuple[int, int] | None = (20, 100), *,
                 behaviour: AccountBehaviour | None = None) -> None:
        self.store = store
        self.behaviour = behaviour or AccountBehaviour()
        self._queue_free_at = 0.0  # when the queue has finished every batch so far
        self.email_ok = email_ok
        self.delay = delay
        single, multi = per_minute if per_minute else (None, None)
        self.single = SlidingWindow(single, 60.0)
        self.multi = SlidingWindow(multi, 60.0)
        self.batches: dict[str, Obj] = {}
        self.requests = 0
        self.contacts = 0
        self.timers: list[threading.Timer] = []

    def submit(self, body: Any, raw_size: int) -> Answer:
        if raw_size >= MAX_BYTES:
            return invalid([{"contact": None, "failureReason":
                             f"Payload is {raw_size} bytes; the limit is {MAX_BYTES} bytes."}])
        contacts = body.get("contacts") if isinstance(body, dict) else None
        if not isinstance(contacts, list) or not contacts:
            return invalid([{"contact": None,
                             "failureReason": "contacts must be a non-empty array."}])
        if len(contacts) > MAX_CONTACTS:
            return invalid([{"contact": MAX_CONTACTS, "failureReason":
                             f"A request may hold at most {MAX_CONTACTS} contacts; "
                             f"this one has {len(contacts)}."}])
        reasons = [{"contact": i, "failureReason": "Each contact needs an email."}
                   for i, c in enumerate(contacts)
                   if not isinstance(c, dict) or not isinstance(c.get("email"), str)]
        if reasons:
            return invalid(reasons)
        window = self.single if len(contacts) == 1 else self.multi
        if window.try_accept(time.monotonic()) is not None:
            # spec §11: this 400's failureReasons are strings, the validation 400's objects
            reason = ("Up to 20 single-contact imports may be requested per minute. Please "
                      "wait before trying again." if len(contacts) == 1 else
                      "Up to 100 imports may be requested per minute. Please wait before "
                      "trying again.")
            return 400, {"success": 0, "message": "Rate limit exceeded.",
                         "failureReasons": [reason]}
        batch_id = str(uuid.uuid4())
        self.batches[batch_id] = {"status": "processing", "contacts": contacts,
                                  "forDate": date.today().isoformat(), "count": len(contacts),
                                  "success": [], "failure": []}
        self.requests += 1
        self.contacts += len(contacts)
        wait = self.delay
        queue = self.behaviour.import_queue_seconds
        if queue > 0:  # one batch at a time: this one waits for those queued before it
            now = time.monotonic()
            self._queue_free_at = max(now + self.delay, self._queue_free_at) + queue
            wait = self._queue_free_at - now
        timer = threading.Timer(wait, self._process, args=(batch_id,))
        timer.daemon = True
        self.timers = [t for t in self.timers if t.is_alive()] + [timer]
        timer.start()
        return 200, {"success": 1, "queued_contacts": len(contacts), "batchId": batch_id,
                     "message": "Contact import queued"}

    def info(self, params: Params) -> Answer:
        batch_id = one(params, "batchId")
        if not batch_id:
            return 400, {"message": "batchId is required"}
        batch = self.batches.get(batch_id)
        if batch is None:
            return 404, {"message": f"No Result found for batch with id {batch_id}"}
        if batch["status"] != "completed":
            return 200, {"status": "processing"}
        return 200, {"status": "completed", "success": batch["success"],
                     "failure": batch["failure"]}

    def overview(self) -> Answer:
        groups: dict[tuple[str, str], Obj] = {}
        for batch in self.batches.values():
            key = ("outstanding" if batch["status"] != "completed" else "recentlyCompleted",
                   batch["forDate"])
            entry = groups.setdefault(key, {"forDate": batch["forDate"], "batches": 0,
                                            "contacts": 0})
            entry["batches"] += 1
            entry["contacts"] += batch["count"]
        return 200, {"outstanding": [v for (k, _), v in groups.items() if k == "outstanding"],
                     "recentlyCompleted": [v for (k, _), v in groups.items()
                                           if k == "recentlyCompleted"]}

    def stop(self) -> None:
        for timer in self.timers:
            timer.cancel()

    # ---- processing ------------------------------------------------------------------------
    def _process(self, batch_id: str) -> None:
        store = self.store
        with store.lock:
            batch = self.batches[batch_id]
            ts = store.clock()  # one batch, one udate (as on real imports)
            for item in batch["contacts"]:
                email = item["email"].strip()
                if not self.email_ok(email):
                    batch["failure"].append(item["email"])
                    continue
                batch["success"].append(self._apply(item, email, ts))
            batch["status"] = "completed"
            batch["contacts"] = []
            store.dirty()

    def _apply(self, item: Obj, email: str, ts: float) -> str:
        store = self.store
        contact = store.contact_by_email(email)
        changes = {api: str(item[key]) for key, api in (("first_name", "firstName"),
                                                        ("last_name", "lastName"),
                                                        ("phone", "phone"))
                   if key in item and item[key] is not None}
        if contact is None:
            contact = store.new_contact(email, changes.get("firstName", ""),
                                        changes.get("lastName", ""), changes.get("phone", ""),
                                        ts, ts)
        elif changes:
            store.update_contact(int(contact["id"]), changes, ts)
        cid = int(contact["id"])
        account_name = item.get("customer_acct_name")
        if isinstance(account_name, str) and account_name.strip():
            account = store.account_by_name(account_name) or store.new_account(
                account_name.strip(), ts=ts)
            links = store["accountContacts"].where("contact", cid)
            if not links or store["accountContacts"].rows[links[0]]["account"] != account["id"]:
                store.link_account(cid, int(account["id"]), ts=ts, touch=False)
        for name in item.get("tags") or []:
            if isinstance(name, str) and name.strip():
                tag = store.tag_by_name(name) or store.new_tag(name.strip(), ts=ts)
                store.add_tag(cid, int(tag["id"]), ts, touch=False)
        for field in item.get("fields") or []:
            fid = to_int(field.get("id")) if isinstance(field, dict) else None
            if fid is not None and store["fields"].get(fid) is not None:
                store.set_field_value(cid, fid, field.get("value"), ts, touch=False)
        for key, status in (("subscribe", 1), ("unsubscribe", 2)):
            for sub in item.get(key) or []:
                lid = to_int(sub.get("listid")) if isinstance(sub, dict) else None
                if lid is None or store["lists"].get(lid) is None:
                    continue
                link = store.link_of("contactLists", cid, "list", lid)
                if status == 1 and link is not None and \
                        store["contactLists"].rows[link]["status"] == "2":
                    continue  # never re-subscribes who unsubscribed (spec §11)
                store.subscribe(cid, lid, status, ts, touch=False)
        store.touch_contacts([cid], ts)
        return str(cid)
