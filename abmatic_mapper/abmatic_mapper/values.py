"""Value helpers of the record transforms: text, numbers, amounts, timestamps. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import abmatic_mapper.model as model


def to_utc(value: Any) -> str | None:
    """ISO-8601 date-time in UTC with a ``Z``: ``2024-01-01T09:00:00-05:00`` -> ``...14:00:00Z``.

    Naive values are taken as UTC; unparseable or blank values become None.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return _text_to_utc(value)
    return _to_utc(value)


@lru_cache(maxsize=4096)  # timestamps repeat (a bulk import's second, a default date)
def _text_to_utc(value: str) -> str | None:
    return _to_utc(value)


def _to_utc(value: Any) -> str | None:
    if isinstance(value, datetime):
        dt = value
    else:
        if not isinstance(value, str):
            return None
        text = value.strip()
        if not text:
            return None
        if len(text) == 20 and text[-1] == "Z" and text[10] == "T":
            return text
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.isoformat() + "Z"


def to_number(value: Any) -> float | int | None:
    """A number from a number or numeric string; None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if number.is_integer() and "." not in text else number
    return None


def cents_to_amount(value: Any) -> float | int | None:
    """Deal value in cents (integer or numeric string) -> major units."""
    cents = to_number(value)
    if cents is None:
        return None
    amount = cents / 100
    return int(amount) if float(amount).is_integer() else round(amount, 2)


def status_name(value: Any) -> str | None:
    """Deal status 0/1/2 (int or string) -> open/won/lost."""
    try:
        return model.STATUS_NAMES.get(int(value))
    except (TypeError, ValueError):
        return None


def as_str_list(value: Any) -> list[str] | None:
    """A list of non-blank strings from a list or a single (comma-free) string."""
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple)) else [value]
    out = [str(v).strip() for v in items if v is not None and str(v).strip()]
    return out


def clean(value: Any) -> Any:
    """``""`` -> None; strings trimmed."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def clean_text(value: Any) -> Any:
    """``clean`` for a text field: a number becomes its text (a phone given as 3125550101)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return clean(value)
