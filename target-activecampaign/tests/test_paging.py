"""Every paging loop of the target stops (spec §2, §11): on meta.total, a short page, a page
repeating the previous one (an endpoint that ignores offset) or a hard cap with a clear error,
and never takes rows it could not page to as "no value"."""

from __future__ import annotations

import functools
import logging
from typing import Any

import pytest
from target_ac_testkit import run_target, singer, write_requests

from activecampaign_client.paging import PageGuard, PagingError
from target_activecampaign import context


def accounts_as_they_are(sandbox: Any) -> list[dict[str, Any]]:
    """One record per account with a website, carrying its current custom field values."""
    store = sandbox.store
    meta = {m["id"]: m for m in store.objects("accountCustomFieldMeta")}
    out = []
    for acc in store.objects("accounts"):
        if not acc["accountUrl"]:
            continue
        fields: dict[str, Any] = {}
        for d in store.objects("accountCustomFieldData"):
            m = meta[str(d["customFieldId"])]
            if str(d["accountId"]) == acc["id"] and d["fieldValue"] not in ("", None):
                value = d["fieldValue"]
                if m["fieldType"] == "currency":
                    value = {"amount": int(value) / 100, "currency": d["fieldCurrency"]}
                fields[m["fieldLabel"]] = value
        out.append({"accountUrl": acc["accountUrl"], "name": acc["name"], "fields": fields})
    return out


@pytest.mark.parametrize(("sandbox", "data_reads"), [
    ({"contacts": 400, "custom_field_paging": "all"}, 2),  # one answer holds every row
    ({"contacts": 400, "custom_field_paging": "offset"}, 2),  # 100 + the rest
    ({"contacts": 400, "custom_field_paging": "first"}, None),  # offset ignored, limit kept
], indirect=["sandbox"], ids=["ignores-limit-and-offset", "pages", "ignores-offset"])
def test_account_values_are_read_completely_whatever_the_endpoint_does_with_offset(
        config: dict, sandbox: Any, data_reads: int | None) -> None:
    records = accounts_as_they_are(sandbox)
    assert len(sandbox.store.objects("accountCustomFieldData")) > 100
    sandbox.reset_stats()
    result = run_target({**config, "default_mode": "overwrite"}, singer("accounts", records))
    assert result.counts("account") == {"unchanged": len(records)}
    assert write_requests(sandbox) == 0
    reads = sandbox.stats()["routes"]["GET /api/3/accountCustomFieldData"]
    if data_reads is not None:
        assert reads == data_reads
    else:  # the table cannot be paged: two table pages, then one filtered read per account
        assert reads == 2 + len(records)


class EndlessSession:
    """An endpoint that answers every offset with a full page of new rows, and no total."""

    def __init__(self) -> None:
        self.calls = 0
        self.max_retries = 0

    def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        start = int(params.get("offset") or 0)
        return {"tags": [{"id": str(start + i), "tag": f"t{start + i}"} for i in range(100)]}


def test_a_list_that_never_ends_stops_at_the_hard_cap_with_a_clear_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(context, "PageGuard", functools.partial(PageGuard, max_pages=5))
    run = context.RunContext({"api_url": "http://127.0.0.1:9", "api_key": "k"},
                       logging.getLogger("test"), session=EndlessSession())
    with pytest.raises(PagingError) as err:
        run.get_all("tags")
    assert "GET /tags: stopped after 5 full pages of 100" in str(err.value)
    assert run._session.calls == 5  # type: ignore[union-attr]


def test_a_list_that_repeats_its_page_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    class Repeating(EndlessSession):
        def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
            self.calls += 1
            return {"tags": [{"id": str(i), "tag": f"t{i}"} for i in range(100)]}

    session = Repeating()
    run = context.RunContext({"api_url": "http://127.0.0.1:9", "api_key": "k"},
                       logging.getLogger("test"), session=session)
    items, complete = run.read_pages("tags")
    assert len(items) == 100 and session.calls == 2 and complete is False
