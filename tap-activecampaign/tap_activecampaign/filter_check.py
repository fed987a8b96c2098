"""A learned margin for ``filters[updated_after]``: probe whether the filter starts later than
the value sent, and only then pay for the two-day margin.

The filter's timezone and granularity are unconfirmed (spec §2/§9). Read earlier or by the
day it returns a superset (dropped client-side); read LATER it misses rows. One request tells
them apart: ``GET /contacts?ids[]=<r.id>&filters[updated_after]=<r.udate as the tap sends
it>`` for a row r read before, unchanged since (its ``udate`` is compared). Pinned by id, not
email, so the state holds no address; an account that ignores ``ids[]`` (spec §2) answers the
date-filtered list, which still tells: r in it is found, a short list without r is a miss.
The filter is inclusive (spec §2), so r comes back unless the filter starts after r. Deals
are pinned with ``filters[title]`` (spec §2 lists ``title`` among the ``GET /deals``
filters) and checked on their own: that contacts and deals share the account's filter
semantics is unconfirmed.

Up to ``MAX_PROBES`` rows at different times of day (8-hour buckets of the account's wall
time), one request each. State, per stream: ``bookmarks.<stream>.filter_check`` =
``{"checked_at", "shift": "none"|"later"|"unknown", "offset", "probes", "rows": [...]}``;
``rows`` are the probe candidates (id, pin value, raw timestamp) kept from earlier scans.
The verdict is re-checked every ``membership_reconcile_hours`` (``later``), on every run
until one succeeds (``unknown``: no usable row, an error), and whenever the account's UTC
offset (seen on the newest row) differs from the one checked (daylight saving time).
"""

from __future__ import annotations

import datetime as dt
import re
import typing as t

import requests

from activecampaign_client.errors import (
    ActiveCampaignError,
    AuthenticationError,
    PermissionDeniedError,
)
from tap_activecampaign.records import parse_timestamp, parse_utc, to_utc_iso

FILTER_CHECK = "filter_check"
#: bookmark -> filter start when the probe found no later shift: clocks and whole seconds
LEARNED_MARGIN = dt.timedelta(minutes=5)
#: when the filter may start later than sent (or that is unknown): covers account time read
#: for UTC (up to 14 h), the date only, and "after that day" readings
SAFE_MARGIN = dt.timedelta(days=2)
MAX_PROBES = 3
PROBE_LIMIT = 100
#: stream -> (row field that pins one row, the list param that filters on it), spec §2
PINS = {"contacts": ("id", "ids[]"), "deals": ("title", "filters[title]")}
_OFFSET_RE = re.compile(r"(Z|[+-]\d{2}:\d{2})$")


def offset_of(stamp: t.Any) -> str | None:
    """``-05:00`` from ``2024-03-01T10:11:12-05:00`` (``+00:00`` for ``Z``), else None."""
    match = _OFFSET_RE.search(str(stamp or "").strip())
    if not match or len(str(stamp).strip()) < 19:
        return None
    return "+00:00" if match.group(1) == "Z" else match.group(1)


def _zone(offset: str) -> dt.timezone:
    sign = -1 if offset[0] == "-" else 1
    return dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))


def filter_value(when: dt.datetime, offset: str | None) -> str:
    """The filter value for an instant: in the account's own offset when known (a server
    that ignores offsets and reads account wall time then reads it right), else UTC."""
    if offset is None:
        return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return when.astimezone(_zone(offset)).strftime("%Y-%m-%dT%H:%M:%S") + offset


def _instant(stamp: t.Any) -> dt.datetime | None:
    value = parse_timestamp(stamp)
    return dt.datetime.fromisoformat(value) if value and offset_of(stamp) else None


def _bucket(stamp: str) -> int:
    """Which third of the account's day (its wall time, as written) the row changed in."""
    return int(stamp.strip()[11:13]) // 8


def keep(best: dict[int, dict], row: dict) -> None:
    """Keep ``row`` if it is the newest candidate seen in its bucket of the day."""
    kept = best.get(_bucket(row["stamp"]))
    if kept is None or t.cast("dt.datetime", _instant(row["stamp"])) > t.cast(
            "dt.datetime", _instant(kept["stamp"])):
        best[_bucket(row["stamp"])] = row


def merge_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """The newest candidate per 8-hour bucket of the day, newest first (at most 3)."""
    best: dict[int, dict] = {}
    for row in [*old, *new]:
        if isinstance(row, dict) and row.get("pin") and _instant(row.get("stamp")):
            keep(best, row)
    rows = sorted(best.values(), key=lambda r: t.cast("dt.datetime", _instant(r["stamp"])),
                  reverse=True)
    return rows[:MAX_PROBES]


def current_offset(check: dict) -> str | None:
    """The account's offset on the newest row seen (the one nearest the bookmark)."""
    rows = check.get("rows") or []
    return offset_of(rows[0].get("stamp")) if rows else None


def is_due(check: dict, hours: float, now: dt.datetime) -> bool:
    """A probe is due: no verdict, an unknown one, a stale one, or a new offset."""
    if check.get("shift") not in ("none", "later"):
        return True
    if check.get("offset") != current_offset(check):
        return True
    last = parse_utc(check.get("checked_at"))
    return hours <= 0 or last is None or now - last >= dt.timedelta(hours=hours)


def margin(check: dict) -> dt.timedelta:
    """The learned margin only on a verdict of no later shift, for the offset sent now."""
    learned = check.get("shift") == "none" and check.get("offset") == current_offset(check)
    return LEARNED_MARGIN if learned else SAFE_MARGIN


def candidate(stream_name: str, row: dict, key: str) -> dict | None:
    """A raw row read by a scan as a probe candidate (id, pin value, exact timestamp)."""
    field = PINS.get(stream_name, ("", ""))[0]
    pin, stamp = row.get(field), row.get(key)
    if not field or not isinstance(pin, str) or not pin.strip() or _instant(stamp) is None:
        return None
    return {"id": str(row.get("id")), "pin": pin, "stamp": str(stamp).strip()}


class Prober(t.Protocol):
    name: str
    list_key: str
    updated_filter: str
    replication_key: str | None

    @property
    def logger(self) -> t.Any: ...

    def fetch_json(self, path: str, params: dict[str, t.Any] | None = None) -> t.Any: ...


def probe_one(stream: Prober, path: str, row: dict, offset: str | None) -> str:
    """``found`` / ``missed`` / ``inconclusive`` for one candidate row (one request)."""
    when = t.cast("dt.datetime", _instant(row["stamp"]))
    param = PINS[stream.name][1]
    body = stream.fetch_json(path, {param: row["pin"], "limit": PROBE_LIMIT,
                                    stream.updated_filter: filter_value(when, offset)})
    items = body.get(stream.list_key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        return "inconclusive"
    for item in items:
        if isinstance(item, dict) and str(item.get("id")) == row["id"]:
            # changed since it was read: its new time proves nothing about the old one
            same = _instant(item.get(stream.replication_key or "")) == when
            return "found" if same else "inconclusive"
    return "inconclusive" if len(items) >= PROBE_LIMIT else "missed"


def run_probes(stream: Prober, path: str, check: dict, now: dt.datetime) -> dict:
    """The new verdict: ``later`` on any miss, ``none`` when found and never missed, else
    ``unknown`` (no usable row, an error): the safe margin until a probe succeeds."""
    offset = current_offset(check)
    outcomes: list[str] = []
    for row in (check.get("rows") or [])[:MAX_PROBES]:
        try:
            outcomes.append(probe_one(stream, path, row, offset))
        except (AuthenticationError, PermissionDeniedError):
            raise  # a bad key fails the run; a refused object skips the stream (spec §11)
        except (ActiveCampaignError, requests.RequestException) as exc:
            stream.logger.warning("%s: filter probe failed (%s); the %s margin stays",
                                  stream.name, exc, SAFE_MARGIN)
            outcomes.append("inconclusive")
    if "missed" in outcomes:
        shift = "later"
    elif "found" in outcomes:
        shift = "none"
    else:
        shift = "unknown"
    return {**check, "checked_at": to_utc_iso(now), "shift": shift, "offset": offset,
            "probes": len(outcomes)}
