"""Memberships on GET /contacts (include=) and what a membership change does to udate
(spec §11: include= is undocumented; whether a membership change bumps udate is unconfirmed)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from activecampaign_sandbox.__main__ import behaviour_from, parse_args

sys.path.insert(0, str(Path(__file__).parent))  # sandbox_client (pytest runs importlib mode)
from sandbox_client import Client, account

LATER = 2_000_000_000.0  # 2033-05-18 03:33 UTC, after every seeded timestamp
MEMBERSHIPS = "contactLists,contactTags,accountContacts,accountContacts.account"


@pytest.fixture
def ac() -> Iterator[Client]:
    with account(contacts=120) as api:
        yield api


def test_include_sideloads_the_pages_memberships_and_linked_accounts(ac: Client) -> None:
    """spec §11: include=contactLists,contactTags,accountContacts,accountContacts.account
    returns the related rows of exactly the page's contacts as top-level arrays, and the
    linked accounts (each once) under "accounts"."""
    body = ac.get("contacts", include=MEMBERSHIPS, limit=50, **{"orders[id]": "ASC"}).json()
    page = {c["id"] for c in body["contacts"]}
    store = ac.sb.store
    for key in ("contactLists", "contactTags", "accountContacts"):
        expected = {o["id"] for o in store.objects(key) if o["contact"] in page}
        assert {row["id"] for row in body[key]} == expected, key
        assert expected, key
    linked = {row["account"] for row in body["accountContacts"]}
    ids = [a["id"] for a in body["accounts"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == linked
    assert all("name" in a and "accountUrl" in a for a in body["accounts"])


def test_without_the_nested_include_there_is_no_accounts_array(ac: Client) -> None:
    """spec §11: only include=accountContacts.account brings the accounts themselves."""
    body = ac.get("contacts", include="accountContacts", limit=20).json()
    assert "accountContacts" in body
    assert "accounts" not in body


def test_an_account_that_ignores_include_has_no_membership_or_account_keys() -> None:
    """spec §11: an account that ignores include= answers without any of the keys."""
    with account(sideloads=False) as api:
        body = api.get("contacts", include=MEMBERSHIPS, limit=20).json()
    assert body["contacts"]
    for key in ("contactLists", "contactTags", "accountContacts", "accounts"):
        assert key not in body


def _udate(api: Client, cid: str) -> str:
    return api.get(f"contacts/{cid}").json()["contact"]["udate"]


def _change_every_membership(api: Client, cid: str) -> None:
    store = api.sb.store
    list_id = store.objects("lists")[0]["id"]
    assert api.post("contactLists", {"contactList": {
        "list": list_id, "contact": cid, "status": 1}}).status_code == 200
    tag_id = store.objects("tags")[-1]["id"]
    link = api.post("contactTags", {"contactTag": {"contact": cid, "tag": tag_id}}).json()
    assert api.delete(f"contactTags/{link['contactTag']['id']}").status_code == 200
    for row in store.objects("accountContacts"):
        if row["contact"] == cid:
            assert api.delete(f"accountContacts/{row['id']}").status_code == 200
    account_id = store.objects("accounts")[0]["id"]
    assert api.post("accountContacts", {"accountContact": {
        "account": account_id, "contact": cid, "jobTitle": "CTO"}}).status_code == 201


def test_a_membership_change_alone_does_not_bump_the_contacts_udate() -> None:
    """spec §11 (unconfirmed, the harder case by default): subscribing, tagging, untagging and
    relinking the account leave the contact's udate as it was, so an incremental read by
    filters[updated_after] does not see the change."""
    with account(contacts=30) as api:
        api.sb.store.clock = lambda: LATER  # the changes happen after every seeded udate
        cid = api.sb.store.objects("contacts")[3]["id"]
        before = _udate(api, cid)
        _change_every_membership(api, cid)
        assert _udate(api, cid) == before
        changed = api.get("contacts", **{"filters[updated_after]": "2033-05-18T00:00:00Z"})
        assert changed.json()["contacts"] == []


def test_an_account_can_bump_udate_on_membership_changes() -> None:
    """spec §11: the other reading, as an option: every membership change bumps udate."""
    with account(contacts=30, membership_bumps_udate=True) as api:
        api.sb.store.clock = lambda: LATER
        cid = api.sb.store.objects("contacts")[3]["id"]
        _change_every_membership(api, cid)
        changed = api.get("contacts", **{"filters[updated_after]": "2033-05-18T00:00:00Z"})
        assert [c["id"] for c in changed.json()["contacts"]] == [cid]


def test_the_membership_bumps_udate_flag_selects_that_account() -> None:
    """spec §11: the CLI option --membership-bumps-udate; the default is off."""
    assert behaviour_from(parse_args(["--membership-bumps-udate"])).membership_bumps_udate
    assert not behaviour_from(parse_args([])).membership_bumps_udate
