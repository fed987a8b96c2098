"""The mapper's merge of a record with its Abmatic store row, field by field.

The rules themselves (mode names, emptiness, which value wins, operations) live once in
``activecampaign_client.sync_rules``; this module only applies them to a whole row and to the
``custom_fields`` object key by key.
"""

from __future__ import annotations

from typing import Any

from activecampaign_client.sync_rules import DONT_SYNC, OVERWRITE, resolve


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
