"""Sync modes and operations: the pure rules that decide what crosses and which value wins.

A mode is per field and per direction:

- ``dont_sync``: the field never crosses (the mapper removes it).
- ``fill``: written only where the destination's current value is empty (null, ``""``, absent,
  an empty list or object).
- ``overwrite``: the latest source value wins; a null source value never erases a destination
  value unless ``clear_on_null`` is set for the field.
"""

from __future__ import annotations

from typing import Any

DONT_SYNC = "dont_sync"
FILL = "fill"
OVERWRITE = "overwrite"
MODES = (DONT_SYNC, FILL, OVERWRITE)

CREATE = "create"
UPDATE = "update"

# Outcomes of the operations check.
PASS = "pass"
SKIP_CREATE_OFF = "skipped_create_off"  # new key, create disabled
SKIP_UPDATE_OFF = "skipped_update_off"  # existing key, update disabled


def is_empty(value: Any) -> bool:
    """True for values a ``fill`` may replace: None, blank strings, empty lists/objects."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, dict, tuple)):
        return len(value) == 0
    return False


def resolve(mode: str, source: Any, destination: Any, clear_on_null: bool = False) -> Any:
    """The value the destination should hold after the sync of one field.

    ``destination`` is the current destination value (None when absent).
    """
    if mode == DONT_SYNC:
        return destination
    if mode == FILL:
        return source if is_empty(destination) else destination
    # overwrite
    if source is None and not clear_on_null:
        return destination
    return source


def resolve_object(
    source: dict[str, Any] | None,
    destination: dict[str, Any] | None,
    modes: dict[str, str],
    default: str,
    clear_on_null: frozenset[str] = frozenset(),
) -> dict[str, Any] | None:
    """Merge a custom-fields object key by key, each key with its own mode.

    Keys only in the destination are kept; keys absent from ``modes`` use ``default``.
    """
    if not source:
        return destination if destination else (None if source is None else {})
    merged = dict(destination) if destination else {}
    for key, value in source.items():
        mode = modes.get(key, default)
        if mode == DONT_SYNC:
            continue
        merged[key] = resolve(mode, value, merged.get(key), key in clear_on_null)
    return merged


def operation_outcome(exists: bool, create: bool, update: bool) -> str:
    """Whether a record may be written given whether its key already exists."""
    if exists:
        return PASS if update else SKIP_UPDATE_OFF
    return PASS if create else SKIP_CREATE_OFF


def merge_with_store(
    record: dict[str, Any],
    existing: dict[str, Any] | None,
    modes: dict[str, str],
    clear_on_null: frozenset[str],
    custom_modes: dict[str, str],
    custom_default: str,
    custom_clear: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The full row to upsert: source ``record`` resolved against the store row ``existing``.

    ``record`` holds only fields that cross (``dont_sync`` already removed). With no existing
    row the record is returned unchanged (a create).
    """
    if existing is None:
        return record
    out: dict[str, Any] = {}
    for field, value in record.items():
        if field == "custom_fields":
            dest = existing.get(field)
            out[field] = resolve_object(
                value, dest if isinstance(dest, dict) else None,
                custom_modes, custom_default, custom_clear,
            )
        else:
            out[field] = resolve(
                modes.get(field, OVERWRITE), value, existing.get(field), field in clear_on_null
            )
    return out
