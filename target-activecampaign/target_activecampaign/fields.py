"""Custom fields and text values (pure): definitions, type checks and "same value" tests.

ActiveCampaign's own 422 does not say which field is wrong; these checks do, before writing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from activecampaign_client.sync_rules import is_empty

MULTI_VALUE_TYPES = {"listbox", "checkbox", "multiselect"}
SINGLE_OPTION_TYPES = {"dropdown", "radio"}


class RecordError(Exception):
    """This record cannot be pushed as it is; the message says why and names the field."""


# Standard text fields (names, phone, job title, account name) and `text` custom fields hold at
# most 255 characters in ActiveCampaign; longer values are refused here, naming the field,
# instead of being cut or refused by the API without saying which field.
MAX_TEXT_LENGTH = 255
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(name: str, value: Any, max_length: int | None = MAX_TEXT_LENGTH) -> None:
    """RecordError when a text value holds control characters or is too long."""
    if not isinstance(value, str):
        return
    bad = _CONTROL_RE.search(value)
    if bad is not None:
        raise RecordError(
            f"Field {name!r} contains the control character U+{ord(bad.group()):04X} at "
            f"position {bad.start() + 1}; remove it at the source.")
    if max_length is not None and len(value.strip()) > max_length:
        raise RecordError(
            f"Field {name!r} is {len(value.strip())} characters long; ActiveCampaign keeps at "
            f"most {max_length}.")


@dataclass(frozen=True)
class FieldDef:
    """A contact or account custom field as ActiveCampaign defines it."""

    id: str
    title: str
    type: str
    perstag: str | None = None
    options: tuple[str, ...] = ()


class FieldCatalog:
    """Custom fields by title (exact, then case-insensitive) or personalization tag."""

    def __init__(self, defs: Iterable[FieldDef]) -> None:
        self.defs = list(defs)
        self.by_id = {d.id: d for d in self.defs}
        self._title = {d.title: d for d in self.defs}
        self._title_ci = {d.title.strip().lower(): d for d in self.defs}
        self._perstag = {d.perstag.strip("%").upper(): d for d in self.defs if d.perstag}

    def resolve(self, key: str) -> FieldDef | None:
        return (self._title.get(key) or self._title_ci.get(key.strip().lower())
                or self._perstag.get(key.strip().strip("%").upper()))

    def require(self, key: str, object_name: str) -> FieldDef:
        found = self.resolve(key)
        if found is None:
            known = ", ".join(sorted(d.title for d in self.defs)[:15]) or "none"
            raise RecordError(
                f"Unknown {object_name} custom field {key!r}: no ActiveCampaign field has this "
                f"title or personalization tag (known: {known}). Create the field in "
                f"ActiveCampaign or fix the field mapping."
            )
        return found


def contact_fields_from_api(body: Mapping[str, Any]) -> list[FieldDef]:
    """FieldDefs from ``GET /fields`` (``fields`` plus the ``fieldOptions`` sideload)."""
    options: dict[str, list[str]] = {}
    for opt in body.get("fieldOptions") or []:
        value = opt.get("value") if opt.get("value") not in (None, "") else opt.get("label")
        if value is not None:
            options.setdefault(str(opt.get("field")), []).append(str(value))
    defs = []
    for f in body.get("fields") or []:
        fid = str(f["id"])
        opts = options.get(fid) or [str(o) for o in (f.get("options") or [])
                                    if not isinstance(o, dict)]
        defs.append(FieldDef(fid, str(f.get("title") or ""), str(f.get("type") or "text"),
                             f.get("perstag") or None, tuple(opts)))
    return defs


def account_fields_from_api(items: Iterable[Mapping[str, Any]]) -> list[FieldDef]:
    """FieldDefs from ``GET /accountCustomFieldMeta``."""
    defs = []
    for m in items:
        opts = m.get("fieldOptions") or []
        defs.append(FieldDef(str(m["id"]), str(m.get("fieldLabel") or ""),
                             str(m.get("fieldType") or "text"), m.get("personalization") or None,
                             tuple(str(o) for o in opts)))
    return defs


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _split_multi(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value if not is_empty(v)]
    text = str(value)
    if "||" in text:
        return [p for p in text.split("||") if p != ""]
    return [text] if text.strip() else []


def _pick_option(fd: FieldDef, value: str) -> str:
    if not fd.options or value in fd.options:
        return value
    lowered = {o.lower(): o for o in fd.options}
    if value.lower() in lowered:
        return lowered[value.lower()]
    allowed = ", ".join(repr(o) for o in fd.options[:20])
    raise RecordError(
        f"Field {fd.title!r} ({fd.type}) does not accept {value!r}: allowed options are {allowed}."
    )


def _parse_datetime(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "T", 1))


def coerce_field_value(fd: FieldDef, value: Any) -> str:
    """The string ActiveCampaign stores for ``value`` in ``fd``, or a RecordError naming the field.

    ActiveCampaign's own 422 does not say which field is wrong; this check does, before writing.
    """
    kind = fd.type.lower()
    if isinstance(value, dict):
        raise RecordError(f"Field {fd.title!r} ({fd.type}) cannot take an object: {value!r}.")
    if kind == "date":
        text = value.isoformat() if isinstance(value, dt.date) else str(value).strip()
        if isinstance(value, dt.datetime):
            text = value.date().isoformat()
        try:
            if not _DATE_RE.match(text):
                raise ValueError(text)
            dt.date.fromisoformat(text)
        except ValueError:
            raise RecordError(
                f"Field {fd.title!r} (date) expects YYYY-MM-DD, got {value!r}."
            ) from None
        return text
    if kind == "datetime":
        text = value.isoformat() if isinstance(value, dt.datetime) else str(value).strip()
        try:
            _parse_datetime(text)
        except ValueError:
            raise RecordError(
                f"Field {fd.title!r} (datetime) expects an ISO 8601 date-time such as "
                f"2024-05-01T14:30:00Z, got {value!r}."
            ) from None
        return text
    if kind in ("number", "currency"):
        if isinstance(value, bool):
            raise RecordError(f"Field {fd.title!r} ({fd.type}) expects a number, got {value!r}.")
        try:
            number = float(str(value).strip())
        except ValueError:
            raise RecordError(
                f"Field {fd.title!r} ({fd.type}) expects a number, got {value!r}."
            ) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise RecordError(f"Field {fd.title!r} ({fd.type}) expects a number, got {value!r}.")
        return str(int(number)) if number.is_integer() else repr(number)
    if kind in SINGLE_OPTION_TYPES:
        if isinstance(value, list | tuple):
            raise RecordError(
                f"Field {fd.title!r} ({fd.type}) takes one option, got a list {value!r}."
            )
        return _pick_option(fd, str(value).strip())
    if kind in MULTI_VALUE_TYPES:
        picked = [_pick_option(fd, v.strip()) for v in _split_multi(value)]
        return "||" + "||".join(picked) + "||" if picked else ""
    if isinstance(value, list | tuple):
        raise RecordError(f"Field {fd.title!r} ({fd.type}) takes text, got a list {value!r}.")
    if isinstance(value, bool):
        return "true" if value else "false"
    check_text(fd.title, str(value), MAX_TEXT_LENGTH if kind == "text" else None)
    return str(value)


def same_field_value(fd: FieldDef, current: Any, new: str) -> bool:
    """Whether ActiveCampaign's stored ``current`` already equals the coerced ``new`` value."""
    if is_empty(current):
        return is_empty(new)
    cur = str(current)
    kind = fd.type.lower()
    try:
        if kind in ("number", "currency"):
            return float(cur) == float(new)
        if kind == "datetime":
            return _parse_datetime(cur) == _parse_datetime(new)
        if kind == "date":
            return cur.strip()[:10] == new
    except ValueError:
        return False
    if kind in MULTI_VALUE_TYPES:
        return sorted(_split_multi(cur)) == sorted(_split_multi(new))
    return cur == new


def custom_value(fd: FieldDef, raw: Any) -> str | None:
    """The stored string for a record's custom field value; None when it is empty."""
    return None if is_empty(raw) else coerce_field_value(fd, raw)
