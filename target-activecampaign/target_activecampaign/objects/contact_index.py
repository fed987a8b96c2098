"""The contacts' current state for the batch being pushed, read the cheapest way: one keyset
scan of the account or one ``GET /contacts?email=`` per record.

Memory follows the records pushed, not the account: a scan keeps only the rows whose email is
in the batch, and remembers which emails exist in ``KnownEmails`` (8 bytes a contact), so a
later batch reads only those of its emails that exist (a new contact costs no read). A
contact's state is dropped once written; a later batch that pushes it again reads it again.

The keyset scan keeps its own loop (``id_greater``, not offset) under ``PageGuard``.
"""

from __future__ import annotations

import functools
import math
import typing as t
from array import array
from bisect import bisect_left

from activecampaign_client import normalize_email
from activecampaign_client.objects import OBJECTS
from activecampaign_client.paging import PAGE_SIZE, PageGuard, PagingError, total_of
from target_activecampaign.current import CurrentContact, contacts_from_page
from target_activecampaign.outcomes import PushAborted
from target_activecampaign.related import missing_sideloads

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from target_activecampaign.context import RunContext
    from target_activecampaign.objects.contacts import ContactPlan


PAGE = PAGE_SIZE
CONTACTS = OBJECTS["contacts"]


class KnownEmails:
    """The normalized emails ActiveCampaign holds, at 8 bytes each: their ``hash()`` in sorted
    blocks searched by bisect (a set of strings costs ~100 bytes a contact). Two emails with
    the same hash make a new contact look existing: that costs one read, never a wrong write."""

    BLOCK = 32_768

    def __init__(self) -> None:
        self._blocks: list[array[int]] = []
        self._open: set[int] = set()  # the newest hashes, sorted into a block when full
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, email: object) -> bool:
        h = hash(email)
        if h in self._open:
            return True
        for block in self._blocks:
            i = bisect_left(block, h)
            if i < len(block) and block[i] == h:
                return True
        return False

    def add(self, email: str, *, check: bool = True) -> None:
        """Note that ``email`` exists (``check=False``: the caller knows it is not noted)."""
        if check and email in self:
            return
        self._open.add(hash(email))
        self._count += 1
        if len(self._open) >= self.BLOCK:
            self._blocks.append(array("q", sorted(self._open)))
            self._open = set()


class ContactIndex:
    """The current contacts of the batch being pushed, by normalized email."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.index: dict[str, CurrentContact] = {}  # the batch's contacts that exist
        self.batch: set[str] = set()  # the emails of the batch being pushed
        self.known: KnownEmails | None = None  # from the first full scan on
        self.max_id = 0  # the highest contact id seen by scans and writes
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
        """Current AC state for ``emails``: a keyset scan when that costs fewer requests than
        one ``GET /contacts?email=`` per email, else per-email look-ups. A new batch drops
        the previous batch's rows; once a scan has listed every email (``known``), only the
        emails that exist are read (``fresh``: read them all, e.g. after a queued import)."""
        if not emails:
            return {}
        wanted = set(emails)
        if not fresh:
            self.batch, self.index = wanted, {}
            if self.known is not None:
                wanted = {e for e in wanted if e in self.known}
                if not wanted:
                    return {}
        strategy = self.ctx.read_strategy
        if strategy == "auto" or (strategy == "scan" and self.known is not None):
            # after the first scan, ``scan`` too reads the emails that exist the cheaper way
            size = len(self.known) if self.known is not None else self.contact_total()
            strategy = "scan" if math.ceil(size / PAGE) + 1 <= len(wanted) else "lookup"
        self.ctx.read_mode_used.add(strategy)
        if strategy == "scan":
            found = {c.email: c for c in self.scan_contacts(includes, wanted=wanted)}
        else:
            found = self._look_up([e for e in emails if e in wanted], includes)
        self._note(found.values())
        if not fresh:
            self.index = found
        return found

    def _look_up(self, emails: list[str], includes: set[str]) -> dict[str, CurrentContact]:
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

    def _note(self, contacts: Iterable[CurrentContact]) -> None:
        """Contacts seen to exist: in ``known`` (when kept) and ``max_id``."""
        for cur in contacts:
            if self.known is not None:
                self.known.add(cur.email)
            if cur.id.isdigit():
                self.max_id = max(self.max_id, int(cur.id))

    def scan_contacts(self, includes: set[str], after_id: int = 0,
                      wanted: set[str] | None = None) -> list[CurrentContact]:
        """Keyset scan ``orders[id]=ASC&id_greater=`` in pages of 100, keeping only the
        contacts whose email is in ``wanted`` (by default the batch's emails).

        From id 0 it renews ``known`` with every email it sees; from a later id (the new
        contacts of a bulk import) it adds them to ``known`` when that exists.
        """
        keep = self.batch if wanted is None else wanted
        full = after_id == 0
        known = KnownEmails() if full else self.known
        kept: list[CurrentContact] = []
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
                continue
            missing |= missing_sideloads(body, includes)
            last = max(int(c["id"]) for c in raw)
            self.max_id = max(self.max_id, last)
            emails = [normalize_email(c.get("email")) for c in raw]
            if known is not None:
                for email in emails:
                    if email:
                        known.add(email, check=not full)
            mine = [c for c, email in zip(raw, emails, strict=True) if email in keep]
            if mine:  # the page's sideloads stay: apply_related ignores other contacts' rows
                kept.extend(contacts_from_page({**body, CONTACTS.list_key: mine}))
        if full:
            self.known = known
        if missing:  # once for the whole scan: the table costs the same for 1 page or 50
            self.ctx.related.fill(kept, missing)
        return kept

    def max_contact_id(self) -> int:
        body = self.ctx.session.get(CONTACTS.path, {"orders[id]": "DESC", "limit": 1})
        ids = [int(c["id"]) for c in body.get(CONTACTS.list_key) or []]
        return max(ids, default=0)

    def highest_id(self) -> int:
        """The highest contact id before a bulk import adds more: kept since a full scan
        (no request), else read."""
        return self.max_id if self.known is not None else self.max_contact_id()

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
        """A contact was written: its state is dropped (a later batch that pushes it again
        reads it again, as ``known`` now holds it)."""
        if contact_id is None:
            return
        self.index.pop(plan.email, None)
        if self.known is not None:
            self.known.add(plan.email)
        if contact_id.isdigit():
            self.max_id = max(self.max_id, int(contact_id))
