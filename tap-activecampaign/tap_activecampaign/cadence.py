"""Which tables a run reads in full (a reconciliation) and which ride along with their owners.

In an incremental run (the owner stream has a bookmark) the membership tables are not read:
each contact read brings its memberships (``include=``), each deal its custom values. A table
is read in full, as before, when its last full read is older than
``membership_reconcile_hours`` (0 = every run), when it never had one, or when its owner is
read in full anyway. The state records ``reconciled_at`` (ISO UTC, when the last full read
finished) and ``pages`` (the requests it took, to choose the cheaper fallback later) per
stream; both move only after a full read completed.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t
from dataclasses import dataclass, field

from typing_extensions import override

from tap_activecampaign.bases import CachedTableStream
from tap_activecampaign.client import ActiveCampaignStream
from tap_activecampaign.records import parse_utc, to_utc_iso

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

    from tap_activecampaign.tap import TapActiveCampaign

RECONCILED_AT = "reconciled_at"
PAGES = "pages"
DEFAULT_HOURS = 24.0

#: membership stream -> its include= name, sideload key and object (all the same word)
MEMBERSHIPS = {"account_contacts": "accountContacts", "contact_lists": "contactLists",
               "contact_tags": "contactTags"}
#: stream read at the reconciliation cadence -> the incremental stream its rows ride with
OWNERS = {"accounts": "contacts", "account_custom_field_values": "contacts",
          **dict.fromkeys(MEMBERSHIPS, "contacts"), "contact_automations": "contacts",
          "deal_custom_field_values": "deals"}


def is_due(entry: dict, hours: float, now: dt.datetime) -> bool:
    """A full read is due: none recorded, or the last one is at least ``hours`` old."""
    last = parse_utc(entry.get(RECONCILED_AT))
    return hours <= 0 or last is None or now - last >= dt.timedelta(hours=hours)


def has_bookmark(state: dict, stream: str, partitions: list[dict] | None) -> bool:
    """Every partition of the stream (or the stream) has a saved replication value."""
    entry = (state.get("bookmarks") or {}).get(stream) or {}
    if not partitions:
        return bool(entry.get("replication_key_value"))
    saved = {json.dumps(p.get("context"), sort_keys=True): p
             for p in entry.get("partitions") or []}
    return all((saved.get(json.dumps(c, sort_keys=True)) or {}).get("replication_key_value")
               for c in partitions)


@dataclass
class Cadence:
    """This run's decision: stream name -> read in full (True) or ride along (False)."""

    full: dict[str, bool] = field(default_factory=dict)
    hours: float = DEFAULT_HOURS

    def rides(self, name: str) -> bool:
        return self.full.get(name) is False


def plan_cadence(tap: TapActiveCampaign, now: dt.datetime | None = None) -> Cadence:
    """Decided once per run, before any stream finishes (so from the input bookmarks)."""
    now = now or dt.datetime.now(dt.UTC)
    raw = tap.config.get("membership_reconcile_hours")
    hours = DEFAULT_HOURS if raw is None else float(raw)
    state = t.cast("dict", tap.state or {})
    streams = tap.streams
    incremental = {}
    for owner in ("contacts", "deals"):
        stream = streams.get(owner)
        runs = stream is not None and (stream.selected or stream.has_selected_descendents)
        partitions = stream.partitions if stream is not None else None
        incremental[owner] = runs and has_bookmark(state, owner, partitions)
    bookmarks = state.get("bookmarks") or {}
    full = {name: not incremental[owner] or is_due(bookmarks.get(name) or {}, hours, now)
            for name, owner in OWNERS.items()}
    # account values ride only with accounts that ride (a full accounts read needs them all)
    full["account_custom_field_values"] = full["account_custom_field_values"] or full["accounts"]
    return Cadence(full, hours)


class CadenceMixin(ActiveCampaignStream):
    """A table read in full at the reconciliation cadence; in between its rows ride along.

    ``activate_version``: a full read starts with ACTIVATE_VERSION ("this run carries the
    complete table"), the Singer message singer-sdk writes for a FULL_TABLE stream."""

    activate_version = False

    @property
    def full_read(self) -> bool:
        return self.name not in OWNERS or not self.ac_tap.cadence.rides(self.name)

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        return self.activate_version and self.full_read

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        if not self.full_read:
            self.logger.info(
                "%s: incremental run; its rows ride along with the %s read (full read every "
                "%g h: membership_reconcile_hours)", self.name, OWNERS[self.name],
                self.ac_tap.cadence.hours)
            yield from self.ac_tap.riders.deferred.pop(self.name, [])  # rows held for this turn
            return
        tap = self.ac_tap
        requests, tables = self.usage.requests, tap.table_requests
        yield from super().get_records(context)
        own = (self.usage.requests - requests) - (tap.table_requests - tables)
        pages = tap.table_cost(self.ac_object) if isinstance(self, CachedTableStream) else own
        self.stream_state[RECONCILED_AT] = to_utc_iso(dt.datetime.now(dt.UTC))
        self.stream_state[PAGES] = pages
