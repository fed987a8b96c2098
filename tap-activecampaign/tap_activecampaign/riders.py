"""Rows that ride along with the contacts and deals an incremental run reads.

For each contact the contacts stream emits, the riding membership streams write ALL of that
contact's current rows (zero if it has none) just before the contact's RECORD, and the
contact's account (with its custom values) once per run; for each deal, its account and its
custom values. Rows come from the contacts page's sideloads (``include=``) at no request;
where a page lacks a requested sideload (an account that ignores ``include=``, spec §11),
from ``OwnedRows``: per owner (``contacts/{id}/contactLists`` ...) or the whole table in
pages, whichever costs fewer requests.
"""

from __future__ import annotations

import math
import typing as t
from collections import Counter

from activecampaign_client import OBJECTS
from activecampaign_client.errors import FatalAPIError
from activecampaign_client.paging import PageGuard, offset_pages, total_of
from tap_activecampaign.cadence import MEMBERSHIPS, PAGES
from tap_activecampaign.client import group_rows
from tap_activecampaign.pagination import PAGE_SIZE

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tap_activecampaign.client import ActiveCampaignStream
    from tap_activecampaign.tap import TapActiveCampaign

ACCOUNT_INCLUDE = "accountContacts.account"
#: the per-contact sub-lists (spec §5.1) of the contact-owned kinds
CONTACT_KINDS = ("fieldValues", *MEMBERSHIPS.values())
#: object -> (owner key in its rows, the stream whose full read records its cost)
TABLES: dict[str, tuple[str, str | None]] = {
    "fieldValues": ("contact", None),
    **{obj: ("contact", name) for name, obj in MEMBERSHIPS.items()},
    "accounts": ("id", "accounts"),
    "accountCustomFieldData": ("accountId", "account_custom_field_values"),
    "dealCustomFieldData": ("dealId", "deal_custom_field_values"),
}
#: object -> the owner streams whose first-page totals bound how many owners a run reads
OWNED_BY = {**dict.fromkeys(CONTACT_KINDS, ("contacts",)),
            "accounts": ("deals",), "accountCustomFieldData": ("contacts", "deals"),
            "dealCustomFieldData": ("deals",)}


def _per_owner(object_name: str) -> Callable[[ActiveCampaignStream, str], list[dict]]:
    """How one owner's rows are read on their own."""
    if object_name in CONTACT_KINDS:
        def sub_list(stream: ActiveCampaignStream, owner: str) -> list[dict]:
            path = f"contacts/{owner}/{object_name}"
            return [row for page in offset_pages(stream.fetch_json, path, object_name)
                    for row in page]
        return sub_list
    if object_name == "accounts":
        def one_account(stream: ActiveCampaignStream, owner: str) -> list[dict]:
            try:
                return [stream.fetch_json(f"accounts/{owner}")["account"]]
            except FatalAPIError as exc:
                if exc.status == 404:  # deleted since the link was read
                    return []
                raise
        return one_account
    param = "filters[customerAccountId]" if object_name.startswith("account") else \
        "filters[dealId]"

    def filtered(stream: ActiveCampaignStream, owner: str) -> list[dict]:
        return [row for page in stream.fetch_pages(object_name, {param: owner}) for row in page]
    return filtered


class OwnedRows:
    """One table's rows by owner: read per owner, or the whole table, whichever is cheaper.

    The table's cost in pages comes from the state (its stream's last full read) or, for a
    table with ``meta.total``, from its first page (kept: the table read goes on from it).
    The table up front when the expected owners (estimated from the owner streams' first
    pages) are at least its pages; otherwise per owner while that stays cheaper than the
    table, then the table: at most twice the cheaper choice when the estimate is wrong.
    Unknown cost: the table, as before.
    """

    def __init__(self, tap: TapActiveCampaign, object_name: str) -> None:
        self.tap = tap
        self.object = object_name
        self.owner_key, self.cost_stream = TABLES[object_name]
        self.read_one = _per_owner(object_name)
        self.spent = 0
        self._pages: int | None = None
        self._first: tuple[list[dict], PageGuard] | None = None
        self._grouped: dict[str, list[dict]] | None = None
        self._decided = False

    def rows(self, owner: str, stream: ActiveCampaignStream) -> list[dict]:
        if self._grouped is None and self.tap.cached_table(self.object) is None and \
                self._per_owner_cheaper(stream):
            before = stream.usage.requests
            rows = self.read_one(stream, owner)
            self.spent += stream.usage.requests - before
            return rows
        return self._table(stream).get(owner, [])

    def _per_owner_cheaper(self, stream: ActiveCampaignStream) -> bool:
        if not self._decided:
            self._decided = True
            self._pages = self._table_pages(stream)
            riders = self.tap.riders
            owners = OWNED_BY[self.object] + (
                ("contacts",) if self.object == "accounts" and ACCOUNT_INCLUDE in
                riders.missing_kinds else ())
            expected = sum(riders.expected.get(o, 0) for o in owners)
            if self._pages is not None and expected >= self._pages:
                self._pages = None
        # one more read per owner only while it keeps them cheaper than the table
        return self._pages is not None and self.spent + 1 < self._pages

    def _table_pages(self, stream: ActiveCampaignStream) -> int | None:
        entry = (self.tap.state.get("bookmarks") or {}).get(self.cost_stream or "") or {}
        if isinstance(entry.get(PAGES), int):
            return max(1, int(entry[PAGES]))
        if not OBJECTS[self.object].has_meta:
            return None
        guard = PageGuard(f"GET /{OBJECTS[self.object].path}", PAGE_SIZE)
        body = stream.fetch_json(OBJECTS[self.object].path, {"limit": PAGE_SIZE, "offset": 0})
        self.spent += 1
        total = total_of(body)
        items = body.get(OBJECTS[self.object].list_key) if isinstance(body, dict) else None
        self._first = (guard.page(items if isinstance(items, list) else [], total, 0), guard)
        return max(1, math.ceil((total or 0) / PAGE_SIZE))

    def _table(self, stream: ActiveCampaignStream) -> dict[str, list[dict]]:
        if self._grouped is None:
            self._grouped = group_rows(self.tap.table(self.object, stream, self._pages_from(
                stream)), self.owner_key)
        return self._grouped

    def _pages_from(self, stream: ActiveCampaignStream) -> Iterator[list[dict]] | None:
        if self._first is None:
            return None
        first, guard = self._first
        obj = OBJECTS[self.object]

        def pages() -> Iterator[list[dict]]:
            yield first
            yield from offset_pages(stream.fetch_json, obj.path, obj.list_key, None,
                                    PAGE_SIZE, guard)
        return pages()


class Riders:
    """This run's riding rows: what was written, what waits for its stream's turn."""

    def __init__(self, tap: TapActiveCampaign) -> None:
        self.tap = tap
        self.expected: dict[str, int] = {}  # owner stream -> records its scan will emit
        self.counts: Counter[str] = Counter()
        self.deferred: dict[str, list[dict]] = {}
        self._owned: dict[str, OwnedRows] = {}
        self._accounts_sent: set[str] = set()
        self.missing_kinds: set[str] = set()  # sideloads a page lacked (warned once each)

    # -- what rides ----------------------------------------------------------------------------

    def stream(self, name: str) -> ActiveCampaignStream | None:
        stream = self.tap.streams.get(name)
        return t.cast("ActiveCampaignStream", stream) if stream and stream.selected else None

    def rides(self, name: str) -> bool:
        return self.tap.cadence.rides(name) and self.stream(name) is not None

    def contact_kinds(self) -> list[str]:
        """Sideload keys the contacts pages must bring (memberships, the account link)."""
        kinds = [obj for name, obj in MEMBERSHIPS.items() if self.rides(name)]
        if self.rides("accounts") and "accountContacts" not in kinds:
            kinds.append("accountContacts")
        return kinds

    def includes(self) -> list[str]:
        kinds = self.contact_kinds()
        return kinds + ([ACCOUNT_INCLUDE] if self.rides("accounts") else [])

    def expect(self, stream: ActiveCampaignStream, count: int) -> None:
        """How many records an owner stream's scan will emit (from its first page)."""
        self.expected.setdefault(stream.name, count)

    def owned(self, object_name: str) -> OwnedRows:
        if object_name not in self._owned:
            self._owned[object_name] = OwnedRows(self.tap, object_name)
        return self._owned[object_name]

    def missing(self, kind: str) -> None:
        if kind not in self.missing_kinds:
            self.missing_kinds.add(kind)
            self.tap.logger.warning(
                "This account ignored include=%s on /contacts; reading those rows per contact "
                "or from /%s, whichever costs fewer requests.", kind, OBJECTS[kind].path
                if kind in OBJECTS else kind)

    # -- writing -----------------------------------------------------------------------------

    def write(self, name: str, raws: list[dict]) -> None:
        """RECORDs of a riding stream, shaped as its own reads would be."""
        stream = self.stream(name)
        if stream is None:
            return
        for raw in raws:
            # a membership row of an emitted contact: the contact is a member (import sources)
            record = stream.shape(dict(raw)) if stream.member_key else stream.post_process(
                dict(raw), None)
            if record is not None:
                # singer-sdk 0.54.9: the one RECORD writer (stream maps, typing); no public one
                stream._write_record_message(record)
                self.counts[name] += 1

    def before_contact(self, contact_id: str, page: dict[str, dict[str, list[dict]] | None],
                       accounts: dict[str, dict] | None, stream: ActiveCampaignStream) -> None:
        """Everything of one contact that rides, in the streams' order, before its RECORD."""
        rows = {kind: self.contact_rows(kind, contact_id, page, stream)
                for kind in self.contact_kinds()}
        if self.rides("accounts"):
            for link in rows.get("accountContacts", []):
                self.account(str(link.get("account")), stream, accounts)
        for name, kind in MEMBERSHIPS.items():
            if self.rides(name):
                self.write(name, rows[kind])

    def contact_rows(self, kind: str, contact_id: str,
                     page: dict[str, dict[str, list[dict]] | None],
                     stream: ActiveCampaignStream) -> list[dict]:
        grouped = page.get(kind)
        if grouped is not None:
            return grouped.get(contact_id, [])
        self.missing(kind)
        return self.owned(kind).rows(contact_id, stream)

    def account(self, account_id: str | None, stream: ActiveCampaignStream,
                sideloaded: dict[str, dict] | None = None) -> None:
        """The account (and its custom values) once per run, before what links to it."""
        if not account_id or account_id in ("0", "None") or account_id in self._accounts_sent \
                or not self.rides("accounts"):
            return
        self._accounts_sent.add(account_id)
        if sideloaded is not None and account_id in sideloaded:
            raws = [sideloaded[account_id]]
        else:
            if sideloaded is None and stream.name == "contacts":
                self.missing(ACCOUNT_INCLUDE)
            raws = self.owned("accounts").rows(account_id, stream)
        # contactCount / dealCount are "0" unless count_deals=true (spec §5.3): not known here
        raws = [{k: v for k, v in raw.items() if k not in ("contactCount", "dealCount")}
                for raw in raws]
        self.write("accounts", raws)
        if raws and self.rides("account_custom_field_values"):
            self.write("account_custom_field_values", self.values(
                "accountCustomFieldData", account_id, stream))

    def values(self, data_object: str, owner_id: str,
               stream: ActiveCampaignStream) -> list[dict]:
        """One account's or deal's custom-field data rows (per owner or the table)."""
        return self.owned(data_object).rows(owner_id, stream)

    def log_summary(self) -> None:
        if self.counts:
            self.tap.logger.info("Rows that rode along with contacts and deals: %s", ", ".join(
                f"{name} {count}" for name, count in sorted(self.counts.items())))
