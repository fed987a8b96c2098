"""Import sources: only members of the chosen lists/tags/segments, each contact once."""

from __future__ import annotations

import pytest


def _members(sb, table: str, key: str, ids: list[str]) -> set[str]:
    return {str(row["contact"]) for row in sb.store.objects(table) if str(row[key]) in ids}


@pytest.mark.parametrize(
    "sources",
    [{"list_ids": ["1"]}, {"tag_ids": ["1", "2"]}, {"list_ids": ["2"], "tag_ids": ["3"]},
     {"segment_ids": ["1"]}, {"list_ids": ["3"], "segment_ids": ["2"]}],
)
def test_import_sources_limit_contacts_and_linked_streams_to_members(shared_sandbox, run,
                                                                     config_for,
                                                                     sources) -> None:
    sb = shared_sandbox
    expected: set[str] = set()
    if "list_ids" in sources:
        expected |= _members(sb, "contactLists", "list", sources["list_ids"])
    if "tag_ids" in sources:
        expected |= _members(sb, "contactTags", "tag", sources["tag_ids"])
    for segment in sources.get("segment_ids", []):
        expected |= {str(c) for c in sb.store.contacts_in_segment(int(segment))}
    assert expected

    result = run(config_for(sb, **sources),
                 streams=["contacts", "contact_lists", "contact_tags", "account_contacts"])

    ids = result.ids("contacts")
    assert len(ids) == len(set(ids)), "a contact in several sources appears once"
    assert set(ids) == expected
    for stream in ("contact_lists", "contact_tags", "account_contacts"):
        assert {r["contact"] for r in result.records.get(stream, [])} <= expected
