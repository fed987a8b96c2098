"""The contacts' current state, read the cheapest way: one keyset scan per run (kept as the
run's index and updated with every write) or one ``GET /contacts?email=`` per record.

The keyset scan keeps its own loop (``id_greater``, not offset) under ``PageGuard``.
"""

from __future__ import annotations

import functools
import math
import typing as t

from activecampaign_client.objects import OBJECTS
from activecampaign_client.paging import PAGE_SIZE, PageGuard, PagingError, total_of
from activecampaign_client.sync_rules import is_empty
from target_activecampaign.current import (
    STANDARD_CONTACT_FIELDS,
    CurrentContact,
    contacts_from_page,
)
from target_activecampaign.outcomes import PushAborted
from target_activecampaign.related import missing_sideloads

if t.TYPE_CHECKING:
    from target_activecampaign.context import RunContext
    from target_activecampaign.objects.contacts import ContactPlan


PAGE = PAGE_SIZE
CONTACTS = OBJECTS["contacts"]


class ContactIndex:
    """Current contacts by normalized email, for the run."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.index: dict[str, CurrentContact] | None = None
        self.includes: set[str] = set()
        self.contact_total = functools.lru_cache(maxsize=None)(self._read_total)

    def _read_total(self) -> int:
        """How many contacts the account holds (read once: it sets the read strategy)."""
        body = self.ctx.session.get(CONTACTS.path, {"limit": 1})
        try:
            return int((body.get("meta") or {}).get("total") or 0)
        except (TypeError, ValueError):
            return 10**9

    def current_contacts(self, emails: list[str], includes: set[str], *, fresh: bool = False,
                         ) -> dict[str, CurrentContact]:
        """Current AC state for ``emails``: one keyset scan per run when that costs fewer
        requests than one ``GET /contacts?email=`` per record, else per-record look-ups."""
        if not emails:
            return {}
        if not fresh and self.index is not None and includes <= self.includes:
            return {e: self.index[e] for e in emails if e in self.index}
        strategy = self.ctx.read_strategy
        if strategy == "auto":
            scan_cost = math.ceil(self.contact_total() / PAGE) + 1
            strategy = "scan" if scan_cost <= len(emails) else "lookup"
        self.ctx.read_mode_used.add(strategy)
        if strategy == "scan":
            self.scan_contacts(includes | self.includes)
            assert self.index is not None
            return {e: self.index[e] for e in emails if e in self.index}
        found: dict[str, CurrentContact] = {}
        missing: set[str] = set()
        for email in emails:
            body = self.ctx.session.get(CONTACTS.path, {"email": email, "include": ",".join(
                sorted(includes))})
            for cur in contacts_from_page(body):
                if cur.email == email:
                    found[email] = cur
                    missing |= missing_sideloads(body, includes)
                    break
        if missing:
            self.ctx.related.fill(list(found.values()), missing)
        return found

    def scan_contacts(self, includes: set[str], after_id: int = 0,
                      ) -> list[CurrentContact]:
        """Keyset scan ``orders[id]=ASC&id_greater=`` in pages of 100.

        From id 0 it (re)builds the run's index of every contact; from a later id (the new
        contacts of a bulk import) it extends the index only when one exists.
        """
        if after_id == 0:
            self.index = {}
            self.includes = set(includes)
        seen: list[CurrentContact] = []
        missing: set[str] = set()
        last = after_id
        guard = PageGuard("GET /contacts (id_greater)")
        while guard.more:
            body = self.ctx.session.get(CONTACTS.path, {
                "orders[id]": "ASC", "id_greater": last, "limit": PAGE,
                "include": ",".join(sorted(includes))})
            raw = body.get(CONTACTS.list_key) or []
            # keyset: meta.total counts what is left, so the offset passed is 0
            if raw and not guard.page(raw, total_of(body), 0):
                raise PagingError(
                    "GET /contacts answered the same page for a higher id_greater (the "
                    "account ignores keyset paging); set read_strategy: lookup.")
            if not raw:
                guard.more = False
            page = contacts_from_page(body)
            if self.index is not None:
                for cur in page:
                    self.index[cur.email] = cur
            seen.extend(page)
            if raw:
                missing |= missing_sideloads(body, includes)
                last = max(int(c["id"]) for c in raw)
        if missing:  # once for the whole scan: the table costs the same for 1 page or 50
            self.ctx.related.fill(seen, missing)
        return seen

    def max_contact_id(self) -> int:
        body = self.ctx.session.get(CONTACTS.path, {"orders[id]": "DESC", "limit": 1})
        ids = [int(c["id"]) for c in body.get(CONTACTS.list_key) or []]
        return max(ids, default=0)

    def resolve_id(self, current: CurrentContact) -> str:
        """The id of a contact this run created through the importer without reading it back."""
        if not current.id:
            body = self.ctx.session.get(CONTACTS.path, {"email": current.email})
            found = [c for c in contacts_from_page(body) if c.email == current.email]
            if not found:
                raise PushAborted(f"Contact {current.email} vanished from ActiveCampaign.")
            current.id = found[0].id
        return current.id

    def read_automations(self, current: CurrentContact) -> None:
        self.resolve_id(current)
        items = self.ctx.get_all("contactAutomations",
                                path=f"contacts/{current.id}/contactAutomations")
        current.automation_ids = {str(a.get("automation") or a.get("seriesid")) for a in items}

    def apply(self, plan: ContactPlan, contact_id: str | None) -> None:
        """Keep the run's index equal to what AC now holds, so a later batch diffs correctly."""
        if self.index is None or contact_id is None:
            return
        cur = plan.current or self.index.get(plan.email) or CurrentContact(
            id=contact_id, email=plan.email, tag_ids=set(), list_status={})
        if contact_id and not cur.id:
            cur.id = contact_id
        if plan.action == "create":
            for key in STANDARD_CONTACT_FIELDS:
                if not is_empty(plan.record.get(key)):
                    setattr(cur, key, str(plan.record[key]).strip())
        for key, value in plan.standard.items():
            setattr(cur, key, value or None)
        for fid, value in plan.field_values.items():
            if value:
                cur.field_values[fid] = value
            else:
                cur.field_values.pop(fid, None)
        if plan.account is not None and cur.account_id is None:
            cur.account_id, cur.job_title = plan.account.id, plan.job_title
        if plan.update_job_title:
            cur.job_title = plan.job_title
        if cur.tag_ids is not None:
            for name in plan.tags_to_add:
                tag_id = self.ctx.tags().find(name)
                if tag_id:
                    cur.tag_ids.add(tag_id)
        if cur.list_status is not None:
            for list_id in plan.lists_to_add:
                cur.list_status[list_id] = "1"
        if cur.automation_ids is not None:
            cur.automation_ids.update(plan.automations)
        self.index[plan.email] = cur

