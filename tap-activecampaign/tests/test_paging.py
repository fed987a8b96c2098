"""Paging ends on meta.total, on a repeated page or on the cap, never on "a full page means
more" alone (spec §11: custom-field meta/data document no offset)."""

from __future__ import annotations

import logging
import typing as t

import pytest

from activecampaign_sandbox import Sandbox
from activecampaign_sandbox.behaviour import AccountBehaviour

API_KEY = "test-key"


def _account(contacts: int, **behaviour: t.Any) -> Sandbox:
    return Sandbox(seed="demo", contacts=contacts, rate_limit=None, api_key=API_KEY,
                   behaviour=AccountBehaviour(**behaviour))


@pytest.mark.parametrize("paging", ["all", "offset"])
def test_custom_field_values_are_read_once_each_when_offset_is_ignored_or_not(
        run, config_for, paging) -> None:
    with _account(300, custom_field_paging=paging) as sb:
        result = run(config_for(sb), streams=["accounts", "account_custom_field_values"])
        requests = sb.stats()["routes"]["GET /api/3/accountCustomFieldData"]
        stored = sorted(str(o["id"]) for o in sb.store.objects("accountCustomFieldData"))
    ids = result.ids("account_custom_field_values")
    assert len(stored) > 100
    assert sorted(ids) == stored  # every value, none twice
    assert requests == (1 if paging == "all" else 2)  # all: the first answer held every row
    with_values = [a for a in result.records["accounts"] if any(a["custom_fields"].values())]
    assert len(with_values) == len(result.records["accounts"])


def test_a_list_that_repeats_its_first_page_stops_without_duplicates(
        run, config_for, caplog) -> None:
    caplog.set_level(logging.WARNING)
    with _account(300, custom_field_paging="first") as sb:
        result = run(config_for(sb), streams=["account_custom_field_values"])
        requests = sb.stats()["routes"]["GET /api/3/accountCustomFieldData"]
    ids = result.ids("account_custom_field_values")
    assert len(ids) == len(set(ids)) == 100
    assert requests == 2
    assert any("repeats the previous page" in r.getMessage() for r in caplog.records)


def test_contacts_stop_on_meta_total_without_an_empty_last_page(run, config_for) -> None:
    with _account(200) as sb:
        result = run(config_for(sb), streams=["contacts"])
        requests = sb.stats()["routes"]["GET /api/3/contacts"]
    assert len(result.ids("contacts")) == 200
    assert requests == 2  # 100 + 100, meta.total says nothing is left
