"""Pushes to an account that ignores include= on GET /contacts (spec §11) and to one that
honours it: the related rows are read another way, never taken as "none"."""

from __future__ import annotations

import math
from typing import Any

import pytest
from target_ac_testkit import BOTH_KINDS, find_contact, run_target, singer, write_requests

from activecampaign_client import ActiveCampaignSession, normalize_domain

SIDELOADS = ["accountContacts", "contactLists", "contactTags", "fieldValues"]


def records_of_what_activecampaign_holds(sandbox: Any) -> list[dict[str, Any]]:
    """One record per seeded contact carrying exactly its current values, account link,
    lists (subscribed or unsubscribed) and tags."""
    store = sandbox.store
    fields = {f["id"]: f["title"] for f in store.objects("fields")}
    lists = {x["id"]: x["name"] for x in store.objects("lists")}
    tags = {x["id"]: x["tag"] for x in store.objects("tags")}
    accounts = {a["id"]: normalize_domain(a["accountUrl"]) for a in store.objects("accounts")}
    out = []
    for c in store.objects("contacts"):
        rec: dict[str, Any] = {"email": c["email"], "firstName": c["firstName"] or None,
                               "lastName": c["lastName"] or None, "phone": c["phone"] or None}
        rec["fields"] = {fields[fv["field"]]: fv["value"] for fv in store.objects("fieldValues")
                         if fv["contact"] == c["id"] and fv["value"] != ""}
        rec["lists"] = [lists[cl["list"]] for cl in store.objects("contactLists")
                        if cl["contact"] == c["id"]]
        rec["tags"] = [tags[ct["tag"]] for ct in store.objects("contactTags")
                       if ct["contact"] == c["id"]]
        link = [ac for ac in store.objects("accountContacts") if ac["contact"] == c["id"]]
        if link and accounts[link[0]["account"]]:
            rec["account_domain"] = accounts[link[0]["account"]]
            rec["jobTitle"] = link[0]["jobTitle"] or None
        out.append(rec)
    return out


@BOTH_KINDS
@pytest.mark.parametrize("strategy", ["scan", "lookup"])
def test_a_push_of_what_activecampaign_holds_makes_no_writes(
        config: dict, sandbox: Any, strategy: str) -> None:
    records = records_of_what_activecampaign_holds(sandbox)
    if strategy == "lookup":
        records = records[:4]
    unsubscribed = {c["email"].lower() for c in sandbox.store.objects("contacts")
                    if any(cl["contact"] == c["id"] and cl["status"] == "2"
                           for cl in sandbox.store.objects("contactLists"))}
    sandbox.reset_stats()
    result = run_target({**config, "read_strategy": strategy}, singer("contacts", records))

    assert write_requests(sandbox) == 0
    assert set(result.counts()) <= {"unchanged", "skipped"}  # skipped: hard bounces
    warned = {line["key"] for line in result.activity if line["type"] == "warning"
              and "not re-subscribed" in line["message"]}
    assert warned == unsubscribed & {r["email"].lower() for r in records}
    ignores = not sandbox.behaviour.sideloads
    assert result.summary["include_ignored"] == (SIDELOADS if ignores else [])
    routes = sandbox.stats()["routes"]
    if ignores:  # each table once (2 pages of values), cheaper than 4 or 40 sub-lists
        n_values = len(sandbox.store.objects("fieldValues"))
        assert routes["GET /api/3/fieldValues"] == math.ceil(n_values / 100) == 2
        assert not any(r.startswith("GET /api/3/contacts/{id}/") for r in routes)


@BOTH_KINDS
def test_one_contact_reads_its_own_sub_lists_when_include_is_ignored(
        config: dict, sandbox: Any) -> None:
    bounced = {c["email"] for c in sandbox.store.objects("contacts") if c["bounced_hard"] != "0"}
    (record,) = [r for r in records_of_what_activecampaign_holds(sandbox)
                 if r.get("account_domain") and r["fields"] and r["lists"] and r["tags"]
                 and r["email"] not in bounced][:1]
    sandbox.reset_stats()
    result = run_target({**config, "read_strategy": "lookup"}, singer("contacts", [record]))
    assert result.counts() == {"unchanged": 1} and write_requests(sandbox) == 0
    routes = sandbox.stats()["routes"]
    if sandbox.behaviour.sideloads:
        assert routes == {"GET /api/3/users/me": 1, "GET /api/3/fields": 1,
                          "GET /api/3/lists": 1, "GET /api/3/tags": 1,
                          "GET /api/3/accounts": 1, "GET /api/3/contacts": 1}
    else:  # one request per related kind, no table read
        for kind in SIDELOADS:
            assert routes[f"GET /api/3/contacts/{{id}}/{kind}"] == 1
            assert f"GET /api/3/{kind}" not in routes


@BOTH_KINDS
@pytest.mark.parametrize("n", [1, 12])
def test_a_contact_who_unsubscribed_from_a_list_is_never_resubscribed(
        config: dict, sandbox: Any, api: ActiveCampaignSession, n: int) -> None:
    lst = api.get("lists", {"limit": 1})["lists"][0]
    cid = api.post("contact/sync", {"contact": {"email": "gone@x.io"}})["contact"]["id"]
    api.post("contactLists", {"contactList": {"list": lst["id"], "contact": cid, "status": 2}})
    records = [{"email": "gone@x.io", "firstName": "Gone", "lists": [lst["name"]]}]
    records += [{"email": f"new{i}@x.io", "lists": [lst["name"]]} for i in range(n - 1)]
    sandbox.reset_stats()
    result = run_target(config, singer("contacts", records))

    warning = next(x for x in result.by_key["gone@x.io"] if x["type"] == "warning")
    assert warning["message"] == f"Unsubscribed from list {lst['name']!r}; not re-subscribed."
    assert result.outcome("gone@x.io") == "updated"  # the name is still written
    contact = find_contact(api, "gone@x.io")
    assert contact is not None and contact["_lists"] == {str(lst["id"]): "2"}
    assert contact["firstName"] == "Gone"
    if n > 1:
        new = find_contact(api, "new1@x.io")
        assert new is not None and new["_lists"] == {str(lst["id"]): "1"}


@BOTH_KINDS
def test_a_linked_contact_keeps_its_account_and_a_rerun_writes_nothing(
        config: dict, sandbox: Any, api: ActiveCampaignSession) -> None:
    own = api.post("accounts", {"account": {"name": "Own Co", "accountUrl": "own-co.io"}})
    api.post("accounts", {"account": {"name": "Brand New Co", "accountUrl": "brand-new.io"}})
    cid = api.post("contact/sync", {"contact": {"email": "kept@own-co.io"}})["contact"]["id"]
    api.post("accountContacts", {"accountContact": {"account": own["account"]["id"],
                                                    "contact": cid, "jobTitle": "CFO"}})
    records = [{"email": "kept@own-co.io", "account_domain": "own-co.io", "jobTitle": "CFO"},
               {"email": "other@own-co.io", "account_domain": "brand-new.io"}]
    first = run_target(config, singer("contacts", records))
    assert first.outcome("kept@own-co.io") == "unchanged"
    assert first.by_key["other@own-co.io"][-1]["changes"] == {
        "account": {"from": None, "to": "Brand New Co"}}
    sandbox.reset_stats()
    second = run_target(config, singer("contacts", [
        *records, {"email": "kept@own-co.io", "account_domain": "brand-new.io"}]))
    assert second.counts() == {"unchanged": 2}
    assert write_requests(sandbox) == 0
    contact = find_contact(api, "kept@own-co.io")
    assert contact is not None and contact["_accounts"] == [own["account"]["id"]]


def _role_field(api: ActiveCampaignSession) -> str:
    return str(api.post("fields", {"field": {"title": "Role", "type": "text"}})["field"]["id"])


def _contacts_with_role(api: ActiveCampaignSession, fid: str, n: int) -> list[str]:
    emails = [f"director{i}@role.io" for i in range(n)]
    for email in emails:
        api.post("contact/sync", {"contact": {"email": email, "fieldValues": [
            {"field": fid, "value": "Director"}]}})
    return emails


def _role(api: ActiveCampaignSession, email: str, fid: str) -> str | None:
    contact = find_contact(api, email)
    assert contact is not None
    return contact["_fieldValues"].get(fid)


@BOTH_KINDS
@pytest.mark.parametrize(("strategy", "n"), [("lookup", 1), ("lookup", 3), ("scan", 12)])
def test_fill_keeps_the_custom_field_value_activecampaign_holds(
        config: dict, sandbox: Any, api: ActiveCampaignSession, strategy: str, n: int) -> None:
    """A custom field in fill mode is decided on the value ActiveCampaign holds, also where
    GET /contacts ignores include=fieldValues (spec §11): "Director" stays, and the activity
    log never says "from null". 12 contacts: the bulk importer writes the names."""
    fid = _role_field(api)
    emails = _contacts_with_role(api, fid, n)
    x_sync = {"modes": {"fields.Role": "fill", "firstName": "overwrite"}}
    records = [{"email": e, "firstName": "Dee", "fields": {"Role": "Engineer"}} for e in emails]
    result = run_target({**config, "read_strategy": strategy}, singer("contacts", records, x_sync))

    for email in emails:
        assert _role(api, email, fid) == "Director"
        (line,) = [x for x in result.by_key[email] if "outcome" in x]
        assert line["outcome"] == "updated"
        assert line["changes"] == {"firstName": {"from": None, "to": "Dee"}}
    assert ("fieldValues" in result.summary["include_ignored"]) is not sandbox.behaviour.sideloads

    again = run_target({**config, "read_strategy": strategy}, singer("contacts", records, x_sync))
    assert again.counts() == {"unchanged": n}


@BOTH_KINDS
@pytest.mark.parametrize(("strategy", "n"), [("lookup", 1), ("scan", 12)])
def test_overwrite_then_clear_on_null_change_the_custom_field_activecampaign_holds(
        config: dict, sandbox: Any, api: ActiveCampaignSession, strategy: str, n: int) -> None:
    """overwrite logs the value it replaces, and clear_on_null erases a custom field, on an
    account that sideloads and on one that ignores include= (spec §11)."""
    fid = _role_field(api)
    emails = _contacts_with_role(api, fid, n)
    cfg = {**config, "read_strategy": strategy}
    overwrite = run_target(cfg, singer("contacts", [
        {"email": e, "fields": {"Role": "Engineer"}} for e in emails],
        {"modes": {"fields.Role": "overwrite"}}))
    for email in emails:
        assert _role(api, email, fid) == "Engineer"
        assert overwrite.by_key[email][-1]["changes"] == {
            "fields.Role": {"from": "Director", "to": "Engineer"}}

    kept = run_target(cfg, singer("contacts", [{"email": e, "fields": {"Role": None}}
                                               for e in emails],
                                  {"modes": {"fields.Role": "overwrite"}}))
    assert kept.counts() == {"unchanged": n}  # a null erases only under clear_on_null
    assert all(_role(api, e, fid) == "Engineer" for e in emails)

    cleared = run_target(cfg, singer("contacts", [{"email": e, "fields": {"Role": None}}
                                                  for e in emails],
                                     {"modes": {"fields.Role": "overwrite"},
                                      "clear_on_null": ["fields.Role"]}))
    assert cleared.counts() == {"updated": n}
    for email in emails:
        assert not _role(api, email, fid)
        assert cleared.by_key[email][-1]["changes"] == {
            "fields.Role": {"from": "Engineer", "to": ""}}
