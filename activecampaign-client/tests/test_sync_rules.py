"""The sync rules, table by table (abmatic-model, "Sync modes")."""

from __future__ import annotations

from typing import Any

import pytest

from activecampaign_client.sync_rules import (
    DONT_SYNC,
    FILL,
    MODES,
    OVERWRITE,
    PASS,
    SKIP_CREATE_OFF,
    SKIP_UPDATE_OFF,
    WRITE_MODES,
    decide,
    is_empty,
    operation_outcome,
    resolve,
)


def test_the_mode_names_and_their_order() -> None:
    assert MODES == ("dont_sync", "fill", "overwrite")
    assert WRITE_MODES == ("fill", "overwrite")


@pytest.mark.parametrize(("value", "empty"), [
    (None, True), ("", True), ("  ", True), ([], True), ({}, True), ((), True),
    ("x", False), (0, False), (0.0, False), (False, False), (["a"], False), ({"k": None}, False),
])
def test_what_counts_as_empty(value: Any, empty: bool) -> None:
    assert is_empty(value) is empty


@pytest.mark.parametrize(("mode", "source", "destination", "clear", "expected"), [
    (DONT_SYNC, "new", "old", False, "old"),
    (DONT_SYNC, "new", None, True, None),
    (FILL, "new", None, False, "new"),
    (FILL, "new", "", False, "new"),
    (FILL, "new", "old", False, "old"),
    (FILL, None, "old", True, "old"),  # fill never erases, even when clearing is allowed
    (OVERWRITE, "new", "old", False, "new"),
    (OVERWRITE, None, "old", False, "old"),  # a null never erases by default
    (OVERWRITE, "", "old", False, "old"),  # nor a blank
    (OVERWRITE, None, "old", True, None),  # unless clear_on_null names the field
    (OVERWRITE, None, None, True, None),
    (OVERWRITE, [], ["Newsletter"], False, []),  # on no list any more: a statement, not a blank
    (OVERWRITE, {}, {"k": "v"}, False, {}),
    (FILL, [], ["Newsletter"], False, ["Newsletter"]),
])
def test_resolve(mode: str, source: Any, destination: Any, clear: bool, expected: Any) -> None:
    assert resolve(mode, source, destination, clear) == expected


@pytest.mark.parametrize(("mode", "source", "destination", "clear", "decision"), [
    (FILL, "Ada", None, False, (True, "Ada")),
    (FILL, "Ada", "Adele", False, (False, None)),
    (FILL, None, None, False, (False, None)),
    (OVERWRITE, "Ada", "Adele", False, (True, "Ada")),
    (OVERWRITE, "Ada", "Ada", False, (False, None)),  # no change, no write
    (OVERWRITE, None, "Adele", False, (False, None)),
    (OVERWRITE, None, "Adele", True, (True, None)),  # write a clear
    (OVERWRITE, None, "", True, (False, None)),  # nothing to clear
    (DONT_SYNC, "Ada", "Adele", False, (False, None)),
])
def test_decide(mode: str, source: Any, destination: Any, clear: bool,
                decision: tuple[bool, Any]) -> None:
    assert decide(mode, source, destination, clear) == decision


def test_decide_uses_the_callers_idea_of_the_same_value() -> None:
    def same_number(current: Any, new: Any) -> bool:
        return float(current) == float(new)

    assert decide(OVERWRITE, 42, "42.0", same=same_number) == (False, None)
    assert decide(OVERWRITE, 43, "42.0", same=same_number) == (True, 43)


@pytest.mark.parametrize(("exists", "create", "update", "outcome"), [
    (False, True, True, PASS), (True, True, True, PASS),
    (False, False, True, SKIP_CREATE_OFF), (True, True, False, SKIP_UPDATE_OFF),
    (True, False, True, PASS), (False, True, False, PASS),
])
def test_operation_outcome(exists: bool, create: bool, update: bool, outcome: str) -> None:
    assert operation_outcome(exists, create, update) == outcome
