"""Membership rows on import: partial in an incremental run, complete in a reconciliation.

The tap (docs/CONTRACTS.md, "Incremental memberships") sends the membership streams
``contact_lists``, ``contact_tags`` and ``account_contacts`` in one of two shapes:

- incremental run: for every contact it emits, all of that contact's rows (before the
  contact's RECORD) and no other rows. The emitted contacts take their lists, tags and company
  from them, as in a full run; contacts not emitted are not touched.
- reconciliation run: the whole table, announced by an ACTIVATE_VERSION message. Once the
  tap's STATE records the finished full read the table is known complete, and every store
  contact not emitted in this run whose memberships differ from it gets its full row again
  (store values, the membership fields resolved under their sync modes).

No I/O here: the mapper hands in the store rows and the lookups.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from abmatic_mapper.joins import ContactJoins
from abmatic_mapper.mapping import StreamPlan
from activecampaign_client.sync_rules import OVERWRITE, is_empty, resolve

# Membership stream -> the Abmatic contact fields it decides.
MEMBERSHIP_FIELDS: dict[str, tuple[str, ...]] = {
    "contact_lists": ("lists",),
    "contact_tags": ("tags",),
    "account_contacts": ("company_name", "job_title", "account_domain"),
}
_SET_FIELDS = frozenset({"lists", "tags"})
# The tap's state key for "last full read finished" (tap_activecampaign.cadence; ISO UTC).
RECONCILED_AT = "reconciled_at"


class CompleteTables:
    """Which membership streams carried their complete table in this run.

    A stream counts once its ACTIVATE_VERSION was seen *and* a later STATE shows the tap
    finished the full read: ``bookmarks.<stream>.reconciled_at`` at or after the message's
    ``version`` (singer-sdk's version is the tap's start, in epoch seconds; the tap moves
    ``reconciled_at`` only once the whole table was read). A table cut short (a failing tap,
    a stream skipped for a missing permission) never counts, so it never removes anything.
    """

    def __init__(self) -> None:
        self.announced: dict[str, float | None] = {}  # stream -> ACTIVATE_VERSION version
        self.complete: set[str] = set()

    def announce(self, stream: str, version: Any) -> None:
        number = version if isinstance(version, (int, float)) else None
        self.announced[stream] = None if isinstance(number, bool) else number

    def on_state(self, state_value: Any) -> None:
        if len(self.complete) == len(self.announced):
            return
        bookmarks = state_value.get("bookmarks") if isinstance(state_value, Mapping) else None
        if not isinstance(bookmarks, Mapping):
            return
        for stream, version in self.announced.items():
            entry = bookmarks.get(stream)
            finished = _epoch(entry.get(RECONCILED_AT)) if isinstance(entry, Mapping) else None
            if version is not None and finished is not None and finished >= version:
                self.complete.add(stream)

    @property
    def any_announced(self) -> bool:
        return bool(self.announced)

    def fields(self) -> tuple[str, ...]:
        """The contact fields decided by the complete tables, in model order."""
        return tuple(f for s, fs in MEMBERSHIP_FIELDS.items() if s in self.complete for f in fs)


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def memberships_of(joins: ContactJoins, complete: set[str], contact_id: str) -> dict[str, Any]:
    """A contact's membership fields from the tables read in full (``complete``)."""
    found: dict[str, Any] = {}
    if "contact_lists" in complete:
        found["lists"] = joins.names(joins.lists, joins.list_names, contact_id)
    if "contact_tags" in complete:
        found["tags"] = joins.names(joins.tags, joins.tag_names, contact_id)
    if "account_contacts" in complete:
        link = joins.links.get(contact_id)
        if link is None:  # no account link any more
            found.update(company_name=None, job_title=None, account_domain=None)
        else:
            found["job_title"] = link[1]
            account = joins.account(link[0])
            if account is not None:  # an account unknown here says nothing about its name
                found["company_name"], found["account_domain"] = account
    return found


def same_value(field: str, current: Any, new: Any) -> bool:
    """Whether the store already holds ``new``: lists and tags in any order; empty = empty."""
    if is_empty(current) and is_empty(new):
        return True
    if field in _SET_FIELDS and isinstance(current, list) and isinstance(new, list):
        return set(map(str, current)) == set(map(str, new))
    return bool(current == new)


def reconciled_row(existing: Mapping[str, Any], found: Mapping[str, Any], plan: StreamPlan,
                   out_fields: tuple[str, ...]) -> dict[str, Any] | None:
    """The full row that brings a store contact in line with the complete tables, or None.

    ``found`` holds the membership fields the complete tables decide (lists, tags, the
    account link's fields), each resolved against the store value under the field's mode
    (``fill`` never replaces a value, a null erases only with ``clear_on_null``); a
    ``dont_sync`` field is left alone. Every other output field keeps the store value: the
    loaders update every column of the schema, so a missing one would be nulled.
    """
    updates: dict[str, Any] = {}
    for field, value in found.items():
        if field in plan.excluded:
            continue
        current = existing.get(field)
        new = resolve(plan.modes.get(field, OVERWRITE), value, current,
                      field in plan.clear_on_null)
        if not same_value(field, current, new):
            updates[field] = new
    if not updates:
        return None
    row = {f: existing.get(f) for f in out_fields}
    row.update(updates)
    return row


def reconcile(
    store_rows: Mapping[str, Mapping[str, Any]],
    emitted: Callable[[str], bool],
    memberships: Callable[[str], dict[str, Any]],
    plan: StreamPlan,
    out_fields: tuple[str, ...],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(store key, full row) for each store contact not emitted in this run whose
    memberships differ from the complete tables. Rows without an ActiveCampaign id cannot be
    matched to the tables and are left as they are."""
    for key, existing in store_rows.items():
        cid = existing.get("activecampaign_id")
        if cid is None or emitted(str(cid)):
            continue
        row = reconciled_row(existing, memberships(str(cid)), plan, out_fields)
        if row is not None:
            yield key, row


def limited_to_sources(state_value: Any) -> bool:
    """True when a tap STATE shows a contacts read limited to import sources (list_ids,
    tag_ids, segment_ids): singer-sdk keeps one partition per source, ``{"context":
    {"source": ..., "source_id": ...}}``. The tap then sends only the sources' members'
    membership rows, which are no complete table for the other contacts in the store."""
    if not isinstance(state_value, Mapping):
        return False
    contacts = (state_value.get("bookmarks") or {}).get("contacts")
    if not isinstance(contacts, Mapping):
        return False
    partitions = contacts.get("partitions") or []
    return any(isinstance(p, Mapping) and isinstance(p.get("context"), Mapping)
               and "source" in p["context"] for p in partitions)
