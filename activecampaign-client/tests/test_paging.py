"""PageGuard: every paging loop stops (spec §2 and §11: offset may be ignored, total a hint)."""

from __future__ import annotations

import pytest

from activecampaign_client.paging import PageGuard, PagingError, total_of


def rows(start: int, n: int) -> list[dict]:
    return [{"id": str(i)} for i in range(start, start + n)]


def test_short_page_is_the_last() -> None:
    guard = PageGuard("lists", page_size=100)
    assert guard.page(rows(1, 40)) == rows(1, 40)
    assert not guard.more


def test_full_page_with_total_reached_is_the_last() -> None:
    guard = PageGuard("tags", page_size=100)
    guard.page(rows(1, 100), total=200, offset=0)
    assert guard.more
    guard.page(rows(101, 100), total=200, offset=100)
    assert not guard.more  # no extra empty request


def test_keyset_total_counts_what_is_left() -> None:
    guard = PageGuard("contacts", page_size=100)
    guard.page(rows(1, 100), total=250)
    guard.page(rows(101, 100), total=150)  # id_greater=100: 150 left
    assert guard.more
    guard.page(rows(201, 50), total=50)
    assert not guard.more


def test_repeated_page_is_dropped_and_stops() -> None:
    # spec §11: custom-field meta/data document no offset; an endpoint that ignores it
    # answers the same full page for every offset.
    guard = PageGuard("accountCustomFieldMeta", page_size=100)
    assert guard.page(rows(1, 100)) == rows(1, 100)
    assert guard.more
    assert guard.page(rows(1, 100)) == []
    assert not guard.more


def test_hard_cap_raises_a_clear_error() -> None:
    guard = PageGuard("dealCustomFieldData", page_size=10, max_pages=3)
    guard.page(rows(1, 10))
    guard.page(rows(11, 10))
    with pytest.raises(PagingError, match="dealCustomFieldData: stopped after 3 full pages"):
        guard.page(rows(21, 10))


@pytest.mark.parametrize(("body", "expected"), [
    ({"meta": {"total": "6"}}, 6), ({"meta": {"total": 3}}, 3), ({"meta": {}}, None),
    ({}, None), ({"meta": {"total": "x"}}, None), ([], None),
])
def test_total_of_reads_string_int_or_missing(body: object, expected: int | None) -> None:
    assert total_of(body) == expected


def test_offset_pages_reads_every_page_once_and_stops_on_total() -> None:
    from activecampaign_client.paging import offset_pages

    calls: list[dict] = []

    def get(path: str, params: dict) -> dict:
        calls.append(params)
        start = params["offset"]
        return {"tags": rows(start + 1, min(10, 25 - start)), "meta": {"total": "25"}}

    pages = list(offset_pages(get, "tags", "tags", {"search": "x"}, page_size=10))
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [c["offset"] for c in calls] == [0, 10, 20]
    assert all(c["search"] == "x" and c["limit"] == 10 for c in calls)


def test_offset_pages_on_an_endpoint_that_ignores_offset_reads_one_page() -> None:
    from activecampaign_client.paging import offset_pages

    guard = PageGuard("accountCustomFieldData", page_size=10)
    pages = list(offset_pages(lambda path, params: [*rows(1, 10)], "x", "x", page_size=10,
                              guard=guard))
    assert [len(p) for p in pages] == [10, 0]
    assert guard.repeated and guard.first_page_size == 10
