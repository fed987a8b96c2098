"""A full sync against the sandbox: completeness, order, record shape, request economy."""

from __future__ import annotations

import math

import pytest

from tap_activecampaign.records import custom_value
from tap_activecampaign.streams import STREAM_TYPES

CONTRACT_ORDER = [
    "users", "lists", "tags", "segments", "automations", "contact_custom_fields",
    "account_custom_fields", "deal_custom_fields", "deal_pipelines", "deal_stages", "accounts",
    "account_custom_field_values", "account_contacts", "contact_lists", "contact_tags",
    "contact_automations", "contacts", "contact_custom_field_values", "deals",
    "deal_custom_field_values",
]


@pytest.fixture(scope="module")
def full(shared_sandbox, run, config_for):
    return run(config_for(shared_sandbox))


def test_streams_are_emitted_in_the_contract_order(full) -> None:
    assert [vars(s)["name"] for s in STREAM_TYPES] == CONTRACT_ORDER
    assert full.stream_order == CONTRACT_ORDER
    # every stream has records; contact_custom_field_values is a child of contacts, each
    # contact's values written just before its record (so its first record comes first)
    child = CONTRACT_ORDER.index("contact_custom_field_values")
    first_records = [*CONTRACT_ORDER[:child - 1], CONTRACT_ORDER[child],
                     CONTRACT_ORDER[child - 1], *CONTRACT_ORDER[child + 1:]]
    assert list(full.records) == first_records


@pytest.mark.parametrize(
    ("stream", "table"),
    [("contacts", "contacts"), ("contact_lists", "contactLists"), ("deals", "deals"),
     ("contact_custom_field_values", "fieldValues"), ("accounts", "accounts"),
     ("account_custom_field_values", "accountCustomFieldData"), ("tags", "tags"),
     ("contact_tags", "contactTags"), ("account_contacts", "accountContacts")],
)
def test_every_object_is_read_once_across_page_boundaries(full, shared_sandbox, stream,
                                                          table) -> None:
    ids = full.ids(stream)
    expected = {str(obj["id"]) for obj in shared_sandbox.store.objects(table)}
    assert len(ids) == len(set(ids)), "duplicates"
    assert set(ids) == expected


def test_contact_records_are_typed_and_carry_custom_fields_by_title(full, shared_sandbox) -> None:
    store = shared_sandbox.store
    titles = {str(f["id"]): f["title"] for f in store.objects("fields")}
    values: dict[str, dict[str, str]] = {}
    for fv in store.objects("fieldValues"):
        values.setdefault(str(fv["contact"]), {})[titles[str(fv["field"])]] = fv["value"]
    for record in full.records["contacts"]:
        assert isinstance(record["id"], str)
        assert record["udate"].endswith("+00:00")
        assert isinstance(record["bounced_hard"], int)
        assert "links" not in record
        assert set(record["custom_fields"]) == set(titles.values())
        for title, raw in values.get(record["id"], {}).items():
            got = record["custom_fields"][title]
            if isinstance(got, list):
                assert raw == "||" + "||".join(got) + "||" or raw == got
            else:
                assert got == raw


@pytest.mark.parametrize(
    ("stream", "data_table", "owner_key"),
    [("accounts", "accountCustomFieldData", "accountId"),
     ("deals", "dealCustomFieldData", "dealId")],
)
def test_accounts_and_deals_carry_their_custom_values(full, shared_sandbox, stream, data_table,
                                                      owner_key) -> None:
    meta = "accountCustomFieldMeta" if stream == "accounts" else "dealCustomFieldMeta"
    labels = {str(m["id"]): m["fieldLabel"] for m in shared_sandbox.store.objects(meta)}
    by_id = {r["id"]: r for r in full.records[stream]}
    data = shared_sandbox.store.objects(data_table)
    assert data
    for datum in data:
        record = by_id[str(datum[owner_key])]
        assert record["custom_fields"][labels[str(datum["customFieldId"])]] == \
            custom_value(datum["fieldValue"])


def test_deal_values_stay_integer_cents(full, shared_sandbox) -> None:
    raw = {str(d["id"]): d for d in shared_sandbox.store.objects("deals")}
    for deal in full.records["deals"]:
        assert deal["value"] == int(raw[deal["id"]]["value"])
        assert deal["status"] in (0, 1, 2)


def test_full_contacts_sync_spends_one_request_per_hundred_contacts(run, config_for,
                                                                    shared_sandbox) -> None:
    result = run(config_for(shared_sandbox), streams=["contacts"])
    n = len(shared_sandbox.store.objects("contacts"))
    usage = result.tap.usage
    # contact pages (no extra empty page) + one /fields read for the titles
    assert usage.requests == math.ceil(n / 100) + 1
    assert len(result.records["contacts"]) == n


def test_final_state_holds_bookmarks_for_contacts_and_deals(full) -> None:
    bookmarks = full.state["bookmarks"]
    assert bookmarks["contacts"]["replication_key"] == "udate"
    assert bookmarks["deals"]["replication_key"] == "mdate"
    assert bookmarks["contacts"]["replication_key_value"] == max(
        r["udate"] for r in full.records["contacts"])
    assert "progress_markers" not in bookmarks["contacts"]


def test_without_sideloaded_values_custom_fields_come_from_field_values_once(
        shared_sandbox, run, config_for, full, include_ignored, caplog) -> None:
    """An account that ignores include=fieldValues: one /fieldValues scan, same records."""
    result = run(config_for(shared_sandbox),
                 streams=["contacts", "contact_custom_field_values"])
    by_id = {r["id"]: r["custom_fields"] for r in full.records["contacts"]}
    assert {r["id"]: r["custom_fields"] for r in result.records["contacts"]} == by_id
    assert sorted(result.ids("contact_custom_field_values")) == \
        sorted(full.ids("contact_custom_field_values"))
    assert sum("ignored include=fieldValues" in m for m in caplog.messages) == 1
