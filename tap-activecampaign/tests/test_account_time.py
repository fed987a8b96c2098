"""Fields whose names say UTC but hold account time, and counts that need asking (spec §11)."""

from __future__ import annotations


def test_contact_utc_timestamps_are_the_same_instants_as_cdate_and_udate(
        shared_sandbox, run, config_for) -> None:
    result = run(config_for(shared_sandbox, naive_timezone="UTC"), streams=["contacts"])
    contacts = result.records["contacts"]
    assert contacts
    for contact in contacts:
        assert contact["created_utc_timestamp"] == contact["cdate"]
        assert contact["updated_utc_timestamp"] == contact["udate"]


def test_account_counts_are_the_real_contact_and_deal_counts(shared_sandbox, run,
                                                              config_for) -> None:
    store = shared_sandbox.store
    links: dict[str, int] = {}
    for link in store.objects("accountContacts"):
        links[link["account"]] = links.get(link["account"], 0) + 1
    deals: dict[str, int] = {}
    for deal in store.objects("deals"):
        if deal.get("account"):
            deals[str(deal["account"])] = deals.get(str(deal["account"]), 0) + 1
    assert any(links.values()) and any(deals.values())

    accounts = run(config_for(shared_sandbox), streams=["accounts"]).records["accounts"]

    for account in accounts:
        assert account["contactCount"] == links.get(account["id"], 0)
        assert account["dealCount"] == deals.get(account["id"], 0)
