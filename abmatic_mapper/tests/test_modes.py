"""The sync rules as the mapper applies them (the rules: activecampaign_client.sync_rules)."""

from __future__ import annotations

import pytest

from abmatic_mapper.modes import merge_with_store, resolve_object
from activecampaign_client.sync_rules import (
    DONT_SYNC,
    FILL,
    OVERWRITE,
    PASS,
    SKIP_CREATE_OFF,
    SKIP_UPDATE_OFF,
    is_empty,
    operation_outcome,
    resolve,
)


@pytest.mark.parametrize("value", [None, "", "   ", [], {}])
def test_empty_values_may_be_filled(value):
    assert is_empty(value)
    assert resolve(FILL, "new", value) == "new"


@pytest.mark.parametrize("value", ["old", 0, False, ["a"], {"k": 1}])
def test_fill_mode_keeps_existing_value(value):
    assert not is_empty(value)
    assert resolve(FILL, "new", value) == value


@pytest.mark.parametrize("destination", [None, "", "old"])
def test_overwrite_mode_takes_the_source_value(destination):
    assert resolve(OVERWRITE, "new", destination) == "new"


def test_overwrite_with_null_never_erases_without_clear_on_null():
    assert resolve(OVERWRITE, None, "old") == "old"
    assert resolve(OVERWRITE, None, "old", clear_on_null=True) is None


@pytest.mark.parametrize("destination", [None, "old"])
def test_dont_sync_keeps_the_destination_value(destination):
    assert resolve(DONT_SYNC, "new", destination) == destination


@pytest.mark.parametrize(
    ("exists", "create", "update", "outcome"),
    [
        (False, True, True, PASS),
        (True, True, True, PASS),
        (False, False, True, SKIP_CREATE_OFF),
        (True, False, True, PASS),
        (True, True, False, SKIP_UPDATE_OFF),
        (False, True, False, PASS),
    ],
)
def test_operations_gate_new_and_existing_keys(exists, create, update, outcome):
    assert operation_outcome(exists, create, update) == outcome


def test_custom_fields_merge_key_by_key_with_their_own_modes():
    merged = resolve_object(
        {"score": "90", "color": "red", "hidden": "x"},
        {"score": "10", "color": "blue", "kept": "yes"},
        {"score": OVERWRITE, "hidden": DONT_SYNC},
        FILL,
    )
    assert merged == {"score": "90", "color": "blue", "kept": "yes"}


def test_store_merge_without_existing_row_is_a_create():
    record = {"work_email": "a@b.co", "first_name": "A"}
    assert merge_with_store(record, None, {}, frozenset(), {}, FILL) == record


def test_store_merge_resolves_each_field_against_the_row():
    merged = merge_with_store(
        {"work_email": "a@b.co", "first_name": "New", "last_name": "New", "phone": None},
        {"work_email": "a@b.co", "first_name": "Old", "last_name": None, "phone": "555"},
        {"work_email": OVERWRITE, "first_name": FILL, "last_name": FILL, "phone": OVERWRITE},
        frozenset(), {}, FILL,
    )
    assert merged == {"work_email": "a@b.co", "first_name": "Old", "last_name": "New",
                      "phone": "555"}


def test_a_contact_who_left_every_list_has_no_lists_in_the_store():
    """The membership streams were read: [] says "on no list", so overwrite replaces."""
    merged = merge_with_store(
        {"work_email": "a@b.co", "lists": [], "tags": None},
        {"work_email": "a@b.co", "lists": ["Newsletter"], "tags": ["vip"]},
        {"work_email": OVERWRITE, "lists": OVERWRITE, "tags": OVERWRITE},
        frozenset(), {}, FILL,
    )
    assert merged["lists"] == [] and merged["tags"] == ["vip"]  # None: not read, kept
