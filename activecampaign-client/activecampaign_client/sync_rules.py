"""The sync rules, written once: modes, emptiness, the per-field decision and operations.

Both directions use them: the mapper (import into the Abmatic store, and fill/update checks
against it) and target-activecampaign (push into ActiveCampaign). A mode is per field and per
direction (abmatic-model, "Sync modes"):

- ``dont_sync``: the field never crosses.
- ``fill``: written only where the destination's current value is empty.
- ``overwrite``: the source value wins; a null (or blank) source value never erases a
  destination value unless ``clear_on_null`` names the field (an explicit instruction,
  overwrite only). An empty list is a value: a contact on no list any more.

The mode names are spelled out here and nowhere else; settings schemas take their enums from
``MODES`` (or ``WRITE_MODES``, the two that write).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

DONT_SYNC: Final = "dont_sync"
FILL: Final = "fill"
OVERWRITE: Final = "overwrite"
MODES: Final = (DONT_SYNC, FILL, OVERWRITE)
WRITE_MODES: Final = (FILL, OVERWRITE)

CREATE: Final = "create"
UPDATE: Final = "update"
OPERATIONS: Final = (CREATE, UPDATE)

# Outcomes of the operations check.
PASS: Final = "pass"
SKIP_CREATE_OFF: Final = "skipped_create_off"  # a new key, create disabled
SKIP_UPDATE_OFF: Final = "skipped_update_off"  # an existing key, update disabled


def is_empty(value: Any) -> bool:
    """True for values a ``fill`` may replace: None, blank strings, empty lists and objects."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict | tuple | set | frozenset):
        return len(value) == 0
    return False


def is_unknown(value: Any) -> bool:
    """A source value that says nothing (None or a blank string): it never erases.

    An empty list or object is a statement ("member of no list") and replaces under overwrite.
    """
    return value is None or (isinstance(value, str) and not value.strip())


def resolve(mode: str, source: Any, destination: Any, clear_on_null: bool = False) -> Any:
    """The value the destination should hold after the sync of one field.

    ``destination`` is its current value (None when absent). A cleared field resolves to None.
    """
    if mode == DONT_SYNC:
        return destination
    if mode == FILL:
        return source if is_empty(destination) else destination
    if is_unknown(source):
        return None if clear_on_null else destination
    return source


def _equal(current: Any, new: Any) -> bool:
    return bool(current == new)


def decide(mode: str, source: Any, destination: Any, clear_on_null: bool = False,
           same: Callable[[Any, Any], bool] = _equal) -> tuple[bool, Any]:
    """(write?, value) for one field: whether the destination must be written, and with what.

    ``value`` None with ``write`` True means "clear it" (ActiveCampaign takes ``""``).
    ``same(current, new)`` says when the destination already holds the value (a number
    stored as ``"42.0"`` is the same as ``42``); no write then.
    """
    value = resolve(mode, source, destination, clear_on_null)
    if is_empty(value):
        return (False, None) if is_empty(destination) else (True, None)
    if not is_empty(destination) and same(destination, value):
        return False, None
    return True, value


def operation_outcome(exists: bool, create: bool, update: bool) -> str:
    """Whether a record may be written given whether its key already exists."""
    if exists:
        return PASS if update else SKIP_UPDATE_OFF
    return PASS if create else SKIP_CREATE_OFF
