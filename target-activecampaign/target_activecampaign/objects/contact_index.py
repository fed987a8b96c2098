"""The contacts' current state for the batch being pushed, read the cheapest way: one keyset
scan of the account, one ``GET /contacts?email=`` per record, or (after a scan) the batch's
existing contacts by id, 100 per ``GET /contacts?ids[]=`` request.

Memory follows the records pushed, not the account: a scan keeps only the rows whose email is
in the batch, and remembers which emails exist, with their contact ids, in ``KnownEmails``
(16 bytes a contact), so a later batch reads only those of its emails that exist (a new
contact costs no read), by id. A contact's state is dropped once written; a later batch that
pushes it again reads it again.

An account that ignores ``ids[]`` (spec §2: unknown params are silently ignored) answers
contacts that were not asked for: that answer is dropped, a warning is written once, and the
run reads by email or by a new scan from then on.

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
    """The normalized emails ActiveCampaign holds and their contact ids, at 16 bytes each:
    each email's ``hash()`` in sorted blocks searched by bisect, with a parallel block of ids
    (a dict of strings costs ~150 bytes a contact). Id 0: exists, id not known (created by
    the importer). Two emails with the same hash share one entry: a new contact looks
    existing, or a read by id answers the other contact; the row's email tells them apart,
    so that costs one read, never a wrong write."""

    BLOCK = 32_768

    def __init__(self) -> None:
        self._hashes: list[array[int]] = []
        self._ids: list[array[int]] = []  # parallel to _hashes
        self._open: dict[int, int] = {}  # the newest hash -> id, sorted into a block when full
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, email: object) -> bool:
        return self.id_of(email) is not None

    def _find(self, h: int) -> tuple[int, int] | None:
        """(block, position) of hash ``h`` in the sorted blocks."""
        for b, block in enumerate(self._hashes):
            i = bisect_left(block, h)
            if i < len(block) and block[i] == h:
                return b, i
        return None

    def id_of(self, email: object) -> int | None:
        """The contact id noted for ``email`` (0: exists, id unknown); None: not noted."""
        h = hash(email)
        if h in self._open:
            return self._open[h]
        at = self._find(h)
        return None if at is None else self._ids[at[0]][at[1]]

    def add(self, email: str, contact_id: int = 0, *, check: bool = True) -> None:
        """Note that ``email`` exists, as ``contact_id`` when known (``check=False``: the
        caller knows it is not noted). A known id replaces the one noted."""
        h = hash(email)
        if check:
            if h in self._open:
                self._open[h] = contact_id or self._open[h]
                return
            at = self._find(h)
            if at is not None:
                if contact_id:
                    self._ids[at[0]][at[1]] = contact_id
                return
        self._open[h] = contact_id
        self._count += 1
        if len(self._open) >= self.BLOCK:
            order = sorted(self._open)
            self._hashes.append(array("q", order))
            self._ids.append(array("q", (self._open[k] for k in order)))
            self._open = {}


class ContactIndex:
    """The current contacts of the batch being pushed, by normalized email."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.index: dict[str, CurrentContact] = {}  # the batch's contacts that exist
        self.batch: set[str] = set()  # the emails of the batch being pushed
        self.known: KnownEmails | None = None  # from the first full scan on
        self.ids_honoured = True  # until an answer to ids[] holds contacts not asked for
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
        """Current AC state for ``emails``, the fewest requests of: a keyset scan, one
        ``GET /contacts?email=`` per email, or (once a scan has listed every email and id,
        ``known``) ``ids[]`` reads of 100. A new batch drops the previous batch's rows; with
        ``known``, only the emails that exist are read (``fresh``: read them all, e.g. after
        a queued import)."""
        if not emails:
            return {}
        wanted = set(emails)
        if not fresh:
            self.batch, self.index = wanted, {}
            if self.known is not None:
                wanted = {e for e in wanted if e in self.known}
                if not wanted:
                    return {}
        ordered = [e for e in dict.fromkeys(emails) if e in wanted]
        strategy = self._strategy(ordered)
        found = self._read_by_ids(ordered, includes) if strategy == "ids" else None
        if found is None:
            if strategy == "ids":  # the account ignored ids[]: the next cheapest way
                strategy = self._strategy(ordered)
            found = {c.email: c for c in self.scan_contacts(includes, wanted=wanted)} \
                if strategy == "scan" else self._look_up(ordered, includes)
        self.ctx.read_mode_used.add(strategy)
        self._note(found.values())
        if not fresh:
            self.index = found
        return found

    def _strategy(self, emails: list[str]) -> str:
        """``scan``, ``lookup`` or ``ids``: the fewest requests for ``emails`` (after the first
        scan, ``scan`` too reads the emails that exist the cheapest way)."""
        strategy = self.ctx.read_strategy
        if self.known is None:
            if strategy != "auto":
                return strategy
            scan = math.ceil(self.contact_total() / PAGE) + 1
            return "scan" if scan <= len(emails) else "lookup"
        if strategy == "lookup":
            return strategy
        scan = math.ceil(len(self.known) / PAGE) + 1
        cost = {"lookup": len(emails)}
        if self.ids_honoured:  # an email whose id is not known is looked up
            with_id = sum(1 for e in emails if self.known.id_of(e))
            cost["ids"] = math.ceil(with_id / PAGE) + len(emails) - with_id
        cheapest = min(cost, key=lambda k: (cost[k], k != "lookup"))
        return "scan" if scan <= cost[cheapest] else cheapest

    def _read_by_ids(self, emails: list[str], includes: set[str],
                     ) -> dict[str, CurrentContact] | None:
        """``emails`` by their known ids, 100 per ``GET /contacts?ids[]=``; an email whose id
        is not known, or whose row does not come back with that email (deleted, changed, or
        a hash shared with another email), is looked up. None: the account ignored ids[]."""
        assert self.known is not None
        by_id: dict[str, list[str]] = {}  # one id may stand for several emails (same hash)
        for email in emails:
            if cid := self.known.id_of(email):
                by_id.setdefault(str(cid), []).append(email)
        found: dict[str, CurrentContact] = {}
        missing: set[str] = set()
        ids = list(by_id)
        for start in range(0, len(ids), PAGE):
            asked = ids[start:start + PAGE]
            body = self.ctx.session.get(CONTACTS.path, {
                "ids[]": asked, "limit": PAGE, "include": ",".join(sorted(includes))})
            if self._ignored_ids(body, asked):
                return None
            missing |= missing_sideloads(body, includes)
            for cur in contacts_from_page(body):
                if cur.email in by_id.get(cur.id, ()):  # another email's row is not this one
                    found[cur.email] = cur
        if missing:
            self.ctx.related.fill(list(found.values()), missing)
        found.update(self._look_up([e for e in emails if e not in found], includes))
        return found

    def _ignored_ids(self, body: t.Any, asked: list[str]) -> bool:
        """Whether this answer to ``ids[]=asked`` shows an account that ignores ids[] (a
        contact not asked for, or more than asked); warns once, and ids[] is not used again."""
        raw = (body.get(CONTACTS.list_key) or []) if isinstance(body, dict) else []
        total = total_of(body)
        wanted = set(asked)
        if len(raw) <= len(asked) and (total is None or total <= len(asked)) and all(
                str(c.get("id")) in wanted for c in raw):
            return False
        self.ids_honoured = False
        message = ("ActiveCampaign answered GET /contacts?ids[]= with contacts that were not "
                   "asked for (this account ignores ids[]); that answer is not used, and the "
                   "contacts of this and later batches are read by email or by a new scan, "
                   "whichever costs fewer requests")
        self.ctx.logger.warning("%s", message)
        self.ctx.outcomes.activity.warn("run", "contact reads", message)
        return True

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
            cid = int(cur.id) if cur.id.isdigit() else 0
            if self.known is not None:
                self.known.add(cur.email, cid)
            self.max_id = max(self.max_id, cid)

    def scan_contacts(self, includes: set[str], after_id: int = 0,
                      wanted: set[str] | None = None) -> list[CurrentContact]:
        """Keyset scan ``orders[id]=ASC&id_greater=`` in pages of 100, keeping only the
        contacts whose email is in ``wanted`` (by default the batch's emails).

        From id 0 it renews ``known`` with every email (and id) it sees; from a later id (the
        new contacts of a bulk import) it adds them to ``known`` when that exists.
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
                for c, email in zip(raw, emails, strict=True):
                    if email:
                        known.add(email, int(c["id"]), check=not full)
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
        reads it again, by id when ``contact_id`` is known, as ``known`` now holds it)."""
        if contact_id is None:
            return
        self.index.pop(plan.email, None)
        cid = int(contact_id) if contact_id.isdigit() else 0
        if self.known is not None:
            self.known.add(plan.email, cid)
        self.max_id = max(self.max_id, cid)
