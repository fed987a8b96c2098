"""Pure record shaping: ActiveCampaign JSON -> warehouse-typed Singer records.

Everything here is a plain function of its inputs (no I/O), unit-tested on its own.

Rules (documented in the README):
- ids and foreign keys stay strings; counters become integers; flags booleans;
- timestamps become ISO-8601 date-times in UTC (``2024-03-01T16:11:12+00:00``), so bookmarks
  compare correctly as strings; zero dates (``0000-00-00``) and blanks become null;
- naive timestamps are read in the configured ``naive_timezone`` (ActiveCampaign writes them in
  account time); ``created_utc_timestamp``/``updated_utc_timestamp`` too, despite their names
  (spec §11), with the offset of their paired ``cdate``/``udate`` when it has one;
- custom field values are strings; a multi-value ``||a||b||`` becomes a list of strings.
"""

from __future__ import annotations

import datetime as dt
import re
import typing as t
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

UTC = dt.UTC
_ZERO_DATE = re.compile(r"^0{4}-0{2}-0{2}")
_TRUE = {"1", "true", "yes", "y", "t", "on"}
_FALSE = {"0", "false", "no", "n", "f", "off", ""}
#: naive fields in the account's wall time -> the offset timestamp of the same instant (§11)
WALL_TIME_PAIRS = {"created_utc_timestamp": "cdate", "updated_utc_timestamp": "udate"}


def to_utc_iso(value: dt.datetime) -> str:
    """``2024-03-01T16:11:12+00:00``: the one date-time format the tap writes."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def parse_utc(value: t.Any) -> dt.datetime | None:
    """An ISO date-time the tap wrote (state), aware; None when unreadable."""
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_timestamp(value: t.Any, naive_tz: dt.tzinfo = UTC) -> str | None:
    """An ActiveCampaign timestamp as a UTC ISO-8601 string, or None for blank/zero dates.

    Accepts ``2024-03-01T10:11:12-06:00``, ``2024-03-01T16:11:12Z``, naive
    ``2024-03-01 10:11:12`` (read in ``naive_tz``) and dates ``2024-03-01`` (midnight in
    ``naive_tz``). Unparseable text returns None rather than a wrong time.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, int | float):
        parsed = dt.datetime.fromtimestamp(value, UTC)
    else:
        text = str(value).strip()
        if not text or _ZERO_DATE.match(text):
            return None
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_tz)
    return to_utc_iso(parsed)


def offset_of(value: t.Any) -> dt.tzinfo | None:
    """The UTC offset written in an ActiveCampaign timestamp (None when it has none)."""
    try:
        return dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00")).tzinfo
    except ValueError:
        return None


def to_int(value: t.Any) -> int | None:
    """``"12"`` -> 12; blank or non-numeric -> None."""
    if value is None or isinstance(value, bool):
        return int(value) if isinstance(value, bool) else None
    if isinstance(value, int):
        return value
    try:
        return int(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        return None


def to_number(value: t.Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def to_bool(value: t.Any) -> bool | None:
    """``"1"``/``1``/``"true"`` -> True; ``"0"``/``0``/``""`` -> False; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    number = to_int(text)
    return None if number is None else number != 0


def to_str(value: t.Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def custom_value(value: t.Any) -> str | list[str] | None:
    """A custom field value: string, list of strings for ``||a||b||``, None when empty."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        items = [str(v) for v in value if v not in (None, "")]
        return items or None
    text = str(value)
    if text.startswith("||") and text.endswith("||") and len(text) >= 4:
        items = [part for part in text.strip("|").split("||") if part]
        return items or None
    return text if text != "" else None


def _types(prop: dict) -> set[str]:
    kind = prop.get("type", [])
    return {kind} if isinstance(kind, str) else set(kind)


class RecordShaper:
    """Types one raw ActiveCampaign object by its stream's JSON schema.

    Only the schema's properties are kept (``links`` and unknown keys are dropped); each
    value is converted according to the property's type and format.
    """

    def __init__(self, schema: dict, naive_tz: dt.tzinfo = UTC) -> None:
        self.naive_tz = naive_tz
        self._converters: dict[str, t.Callable[[t.Any], t.Any]] = {
            name: self._converter(name, prop)
            for name, prop in schema.get("properties", {}).items()
        }

    def _converter(self, name: str, prop: dict) -> t.Callable[[t.Any], t.Any]:
        kinds = _types(prop)
        if name in WALL_TIME_PAIRS:
            return lambda v: v  # read in __call__, with the offset of its pair
        if prop.get("format") == "date-time":
            return lambda v: parse_timestamp(v, self.naive_tz)
        if "integer" in kinds:
            return to_int
        if "boolean" in kinds:
            return to_bool
        if "number" in kinds:
            return to_number
        if kinds & {"object", "array"} or not kinds:
            if "array" in kinds and prop.get("items", {}).get("type") in ("string", ["string"]):
                return lambda v: [str(x) for x in v] if isinstance(v, list) else v
            return lambda v: v
        return to_str

    def __call__(self, raw: dict) -> dict:
        record = {
            name: convert(raw[name])
            for name, convert in self._converters.items()
            if name in raw
        }
        for name, paired in WALL_TIME_PAIRS.items():
            if name in record:
                tz = offset_of(raw.get(paired))
                record[name] = parse_timestamp(raw[name], self.naive_tz if tz is None else tz)
        return record


def field_titles(definitions: t.Iterable[dict], label_key: str) -> dict[str, str]:
    """Field id -> unique title (a repeated title gets `` (id)`` appended)."""
    titles: dict[str, str] = {}
    seen: set[str] = set()
    for item in sorted(definitions, key=lambda d: to_int(d.get("id")) or 0):
        title = str(item.get(label_key) or f"field {item.get('id')}")
        if title in seen:
            title = f"{title} ({item.get('id')})"
        seen.add(title)
        titles[str(item.get("id"))] = title
    return titles


def custom_fields_object(
    titles: dict[str, str], values: dict[str, t.Any] | None
) -> dict[str, str | list[str] | None]:
    """Every defined field's title -> its value for one object (null when it has none)."""
    values = values or {}
    return {title: custom_value(values.get(fid)) for fid, title in titles.items()}


def group_values(
    items: t.Iterable[dict], owner_key: str, field_key: str, value_key: str
) -> dict[str, dict[str, t.Any]]:
    """Rows of (owner, field, value) -> {owner id: {field id: value}}."""
    grouped: dict[str, dict[str, t.Any]] = {}
    for item in items:
        owner, field = item.get(owner_key), item.get(field_key)
        if owner is None or field is None:
            continue
        grouped.setdefault(str(owner), {})[str(field)] = item.get(value_key)
    return grouped


def zone(name: str | None) -> dt.tzinfo:
    """The tzinfo for a setting value (None or "UTC" -> UTC)."""
    if not name or name.upper() == "UTC":
        return UTC
    return ZoneInfo(name)
