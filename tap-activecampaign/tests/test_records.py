"""Record typing rules, without I/O."""

from __future__ import annotations

import pytest

from tap_activecampaign.client import load_schema
from tap_activecampaign.records import (
    RecordShaper,
    custom_fields_object,
    custom_value,
    field_titles,
    parse_timestamp,
    to_bool,
    to_int,
    zone,
)

CHICAGO = zone("America/Chicago")


@pytest.mark.parametrize(
    ("raw", "tz", "expected"),
    [
        ("2024-03-01T10:11:12-06:00", CHICAGO, "2024-03-01T16:11:12+00:00"),
        ("2024-07-01T10:11:12-05:00", CHICAGO, "2024-07-01T15:11:12+00:00"),
        ("2024-03-01T16:11:12Z", CHICAGO, "2024-03-01T16:11:12+00:00"),
        ("2024-03-01 10:11:12", CHICAGO, "2024-03-01T16:11:12+00:00"),  # naive: account time
        ("2024-03-01 10:11:12", zone("UTC"), "2024-03-01T10:11:12+00:00"),
        ("2024-03-01", zone("UTC"), "2024-03-01T00:00:00+00:00"),
        ("0000-00-00 00:00:00", CHICAGO, None),
        ("0000-00-00", CHICAGO, None),
        ("", CHICAGO, None),
        (None, CHICAGO, None),
        ("not a date", CHICAGO, None),
    ],
)
def test_timestamps_become_utc_iso_and_zero_dates_null(raw, tz, expected) -> None:
    assert parse_timestamp(raw, tz) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("||Email||ABM||", ["Email", "ABM"]), (["a", "b"], ["a", "b"]), ("", None), (None, None),
     ("42", "42"), (42, "42"), ("a||b", "a||b"), ("||||", None)],
)
def test_custom_values_are_strings_and_multi_values_lists(raw, expected) -> None:
    assert custom_value(raw) == expected


@pytest.mark.parametrize(
    ("raw", "as_bool", "as_int"),
    [("1", True, 1), ("0", False, 0), (1, True, 1), (False, False, 0), ("", False, None),
     (None, None, None), ("12", True, 12)],
)
def test_flags_and_counters(raw, as_bool, as_int) -> None:
    assert to_bool(raw) is as_bool
    assert to_int(raw) == as_int


def test_contact_record_is_typed_by_its_schema_and_links_dropped() -> None:
    shape = RecordShaper(load_schema("contacts"), CHICAGO)
    record = shape({
        "id": 113, "email": "a@b.co", "orgid": 0, "deleted": "0", "bounced_hard": "2",
        "cdate": "2024-03-01T10:11:12-06:00", "created_utc_timestamp": "2024-03-01 10:11:12",
        "created_timestamp": "2024-03-01 10:11:12", "edate": "0000-00-00 00:00:00",
        "links": {"x": "https://x"}, "unknown": "dropped",
    })
    assert record == {
        "id": "113", "email": "a@b.co", "orgid": "0", "deleted": False, "bounced_hard": 2,
        "cdate": "2024-03-01T16:11:12+00:00", "created_utc_timestamp": "2024-03-01T16:11:12+00:00",
        "created_timestamp": "2024-03-01T16:11:12+00:00", "edate": None,
    }


def test_deal_value_stays_integer_cents_and_status_integer() -> None:
    record = RecordShaper(load_schema("deals"))({"id": "7", "value": "1872151", "status": "2",
                                                  "isDisabled": False, "group": 1})
    assert record == {"id": "7", "value": 1872151, "status": 2, "isDisabled": False,
                      "group": "1"}


def test_custom_fields_keyed_by_unique_title_with_null_for_missing() -> None:
    titles = field_titles([{"id": "2", "title": "Size"}, {"id": "1", "title": "Score"},
                           {"id": "3", "title": "Size"}], "title")
    assert titles == {"1": "Score", "2": "Size", "3": "Size (3)"}
    assert custom_fields_object(titles, {"1": "10", "3": "||a||b||"}) == {
        "Score": "10", "Size": None, "Size (3)": ["a", "b"]}


def test_utc_timestamps_are_account_wall_time_read_with_the_offset_of_cdate_and_udate() -> None:
    """spec §11: cdate 13:50:41-05:00 pairs with created_utc_timestamp "13:50:41"."""
    shape = RecordShaper(load_schema("contacts"), zone("UTC"))  # the pair decides, not the zone
    record = shape({"id": "1", "cdate": "2018-09-28T13:50:41-05:00",
                    "created_utc_timestamp": "2018-09-28 13:50:41",
                    "udate": "2024-01-15T08:00:00-06:00",
                    "updated_utc_timestamp": "2024-01-15 08:00:00"})
    assert record["created_utc_timestamp"] == record["cdate"] == "2018-09-28T18:50:41+00:00"
    assert record["updated_utc_timestamp"] == record["udate"] == "2024-01-15T14:00:00+00:00"


def test_utc_timestamps_without_a_paired_offset_are_read_in_the_naive_timezone() -> None:
    record = RecordShaper(load_schema("contacts"), CHICAGO)(
        {"id": "1", "created_utc_timestamp": "2024-03-01 10:11:12", "cdate": None})
    assert record["created_utc_timestamp"] == "2024-03-01T16:11:12+00:00"
