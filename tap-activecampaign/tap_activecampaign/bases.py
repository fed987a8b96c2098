"""Two kinds of stream over the base stream: incremental (``filters[updated_after]`` from
the bookmark) and a small table read once per run and shared."""

from __future__ import annotations

import datetime as dt
import email.utils
import typing as t

import requests
from typing_extensions import override

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

    The server-side filter starts ``FILTER_MARGIN`` before the bookmark: its timezone and
    granularity are unconfirmed (spec §2/§9), and a server reading our UTC value as account
    time (up to 12 h later), or only its date, or only from the next day, must lose nothing.
    What the margin brings back that is older than the bookmark is dropped here.
    """

    is_sorted = False
    updated_filter = "filters[updated_after]"
    FILTER_MARGIN = dt.timedelta(days=2)

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        return None  # written after the first response, from the server's Date header

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        self._scan_context = context
        self._since = self.starting_utc(context)
        self._scan_local_start = dt.datetime.now(dt.UTC)
        self._signpost_written = False
        yield from super().get_records(context)

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
        """The API's filter value: the bookmark minus FILTER_MARGIN, in UTC."""
        start = self.starting_utc(context)
        if start is None:
            return None
        return (start - self.FILTER_MARGIN).strftime("%Y-%m-%dT%H:%M:%SZ")

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
        if self.is_before_bookmark(row):
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
