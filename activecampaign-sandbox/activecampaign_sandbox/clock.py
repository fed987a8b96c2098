"""Timestamps the way ActiveCampaign writes them: account time (America/Chicago) with an offset."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

ACCOUNT_TZ = ZoneInfo("America/Chicago")
ZERO_DATETIME = "0000-00-00 00:00:00"
ZERO_DATE = "0000-00-00"

_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def now_ts() -> float:
    return time.time()


def iso(ts: float) -> str:
    return _iso(int(ts))


@lru_cache(maxsize=4096)
def _iso(ts: int) -> str:
    """``2024-03-01T10:11:12-06:00``: account-local time with its offset."""
    return datetime.fromtimestamp(int(ts), ACCOUNT_TZ).isoformat()


def naive_local(ts: float) -> str:
    return _naive_local(int(ts))


@lru_cache(maxsize=4096)
def _naive_local(ts: int) -> str:
    """``2024-03-01 10:11:12`` in account time (``created_timestamp``, and also
    ``created_utc_timestamp``: despite the name, account wall time, spec §11)."""
    return datetime.fromtimestamp(int(ts), ACCOUNT_TZ).strftime("%Y-%m-%d %H:%M:%S")


def parse_filter_time(value: str) -> float | None:
    """Epoch seconds of a filter value, or None when it is not a date.

    Accepts ``2024-03-01``, ``2024-03-01 10:11:12``, ``2024-03-01T10:11:12Z`` and offsets.
    A value without an offset is read in account time (America/Chicago) [U].
    """
    match = _ISO_RE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        naive = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                         int(second or 0))
    except ValueError:
        return None
    if zone is None:
        return naive.replace(tzinfo=ACCOUNT_TZ).timestamp()
    if zone == "Z":
        return naive.replace(tzinfo=UTC).timestamp()
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return naive.replace(tzinfo=timezone(sign * offset)).timestamp()


def parse_iso(value: str) -> float:
    """Epoch seconds of a timestamp this sandbox wrote (0.0 for a zero or unreadable date)."""
    parsed = parse_filter_time(value) if value else None
    return parsed if parsed is not None else 0.0
