"""Two kinds of stream over the base stream: incremental (``filters[updated_after]`` from
the bookmark) and a small table read once per run and shared."""

from __future__ import annotations

import datetime as dt
import email.utils
import typing as t

import requests
from typing_extensions import override

from tap_activecampaign import filter_check
from tap_activecampaign.client import ActiveCampaignStream
from tap_activecampaign.records import parse_timestamp, to_utc_iso

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context


class IncrementalStream(ActiveCampaignStream):
    """A stream read with ``filters[updated_after]`` from its bookmark.

    ActiveCampaign cannot sort by update time, so the stream is unsorted: the SDK keeps the
    highest value seen as a progress marker and promotes it to the bookmark only when the
    scan has finished (an interrupted run leaves the old bookmark in place). The promoted
    value is capped by a signpost: the scan's start time, taken from the first response's
    ``Date`` header (minus one second, the header's resolution), so a record updated during a
    long scan after its page was read is caught by the next run. The filter is inclusive, so
    records exactly at the bookmark are read again (a repeat, never a loss).

    The server-side filter starts a margin before the bookmark: its timezone and
    granularity are unconfirmed (spec §2/§9), and a server reading the value as account time,
    or only its date, or only from the next day, must lose nothing. The margin is learned
    (filter_check.py): 5 minutes where a one-request probe shows the filter does not start
    later than the value sent, ``FILTER_MARGIN`` (2 days) otherwise or until probed. The value
    is sent in the account's own UTC offset (seen on its timestamps) when known. What the
    margin brings back that is older than the bookmark is dropped here.
    """

    is_sorted = False
    updated_filter = "filters[updated_after]"
    FILTER_MARGIN = filter_check.SAFE_MARGIN

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        return None  # written after the first response, from the server's Date header

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        self._scan_context = context
        self._since = self.starting_utc(context)
        self._scan_local_start = dt.datetime.now(dt.UTC)
        self._signpost_written = False
        self.plan_filter()
        yield from super().get_records(context)
        self.keep_probe_rows()

    def plan_filter(self) -> None:
        """Once per run, before the first request: the margin and the offset to send.

        A verdict of "no later shift" that is due again is re-checked first (up to 3
        requests: the account already gains from it); any other due verdict is checked
        after a scan whose margin cost at least a page (see keep_probe_rows)."""
        if hasattr(self, "_margin"):
            return
        self._probe_best: dict[int, dict] = {}
        self._dropped = 0
        self._probed = False
        if self.name not in filter_check.PINS:
            self._margin, self._offset = self.FILTER_MARGIN, None
            return
        check = dict(self.stream_state.get(filter_check.FILTER_CHECK) or {})
        bookmarked = any(self.starting_utc(p or None) is not None
                         for p in self.partitions or [{}])
        if bookmarked and check.get("shift") == "none" and self.probe_due(check):
            check = self.probe(check)
        self.stream_state[filter_check.FILTER_CHECK] = check
        self._margin = min(filter_check.margin(check), self.FILTER_MARGIN)
        self._offset = filter_check.current_offset(check)
        if bookmarked:
            self.logger.info("%s: filters[updated_after] starts %s before the bookmark "
                             "(filter check: %s)", self.name, self._margin,
                             check.get("shift", "not yet"))

    def probe_due(self, check: dict) -> bool:
        return filter_check.is_due(check, self.ac_tap.cadence.hours, dt.datetime.now(dt.UTC))

    def probe(self, check: dict) -> dict:
        self._probed = True
        verdict = filter_check.run_probes(self, self.list_key, check, dt.datetime.now(dt.UTC))
        self.logger.info("%s: filter probe (%d requests): shift %s", self.name,
                         verdict["probes"], verdict["shift"])
        return verdict

    def keep_probe_rows(self) -> None:
        """This scan's newest rows (one per third of the day) become the probe candidates;
        a due check runs now if the margin just cost at least a page of older rows."""
        check = self.stream_state.get(filter_check.FILTER_CHECK)
        if not isinstance(check, dict):
            return
        if self._probe_best:
            check["rows"] = filter_check.merge_rows(check.get("rows") or [],
                                                    list(self._probe_best.values()))
        page = getattr(self, "page_size", 100)
        if not self._probed and self._dropped >= page and self.probe_due(check):
            self.stream_state[filter_check.FILTER_CHECK] = self.probe(check)

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        if not self._signpost_written:
            self._signpost_written = True
            # singer-sdk 0.54.9: the public signpost hook runs before the first answer (Date)
            self._write_replication_key_signpost(self._scan_context, self.scan_start(response))
        yield from super().parse_response(response)

    def scan_start(self, response: requests.Response) -> str:
        started = self._scan_local_start
        header = response.headers.get("Date")
        if header:
            try:
                started = email.utils.parsedate_to_datetime(header)
            except (TypeError, ValueError):
                self.logger.warning("Unreadable Date header; using the local clock")
        return to_utc_iso(started - dt.timedelta(seconds=1))

    def starting_utc(self, context: Context | None) -> dt.datetime | None:
        """The bookmark (or start_date) as an aware UTC datetime."""
        start = self.get_starting_timestamp(context)
        if start is None:
            return None
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
        return start.astimezone(dt.UTC)

    def updated_after(self, context: Context | None) -> str | None:
        """The API's filter value: the bookmark minus the margin, in the account's offset."""
        start = self.starting_utc(context)
        if start is None:
            return None
        self.plan_filter()
        return filter_check.filter_value(start - self._margin, self._offset)

    def is_before_bookmark(self, row: dict) -> bool:
        """What the filter margin brought back from before the bookmark (dropped unread)."""
        since = getattr(self, "_since", None)
        # the shaper's own reading of the value; an unreadable one is kept (a repeat, no loss)
        value = parse_timestamp(row.get(self.replication_key or ""), self.shape.naive_tz)
        return since is not None and value is not None and \
            dt.datetime.fromisoformat(value) < since

    def expected_changes(self, items: list[dict], total: int | None) -> int:
        """How many records this scan will keep, from its first page: ``meta.total`` times
        the share of that page after the bookmark (pages by id mix both evenly)."""
        if not items:
            return 0
        kept = sum(not self.is_before_bookmark(item) for item in items)
        return round(max(total or 0, len(items)) * kept / len(items))

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Drops what the margin brought back from before the bookmark (kept: at or after),
        before anything else is read for it (custom values, riding rows)."""
        found = filter_check.candidate(self.name, row, self.replication_key or "")
        if found is not None and hasattr(self, "_probe_best"):
            filter_check.keep(self._probe_best, found)
        if self.is_before_bookmark(row):
            self._dropped = getattr(self, "_dropped", 0) + 1
            return None
        return super().post_process(row, context)

    @override
    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        params = super().get_url_params(context, next_page_token)
        if since := self.updated_after(context):
            params[self.updated_filter] = since
        return params


class CachedTableStream(ActiveCampaignStream):
    """A small table read once per run and shared (field definitions, custom field data).

    The same rows feed this stream and the ``custom_fields`` objects of contacts, accounts
    and deals, so each table costs its pages once per run.
    """

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        yield from self.ac_tap.table(self.ac_object, self)
