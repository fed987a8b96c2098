"""Incremental memberships: the changed contacts bring their lists, tags and account; the
tables are read in full (with ACTIVATE_VERSION) only when the reconciliation is due."""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest
import requests

from activecampaign_sandbox import Sandbox

API_KEY = "test-key"
MEMBERSHIPS = {"contact_lists": "contactLists", "contact_tags": "contactTags",
               "account_contacts": "accountContacts"}
IMPORT = ["lists", "tags", "accounts", *MEMBERSHIPS, "contacts"]


def _messages(run, config: dict, **kwargs: t.Any) -> tuple[t.Any, list[dict]]:
    seen: list[dict] = []
    result = run(config, on_message=lambda message, _: seen.append(message), **kwargs)
    return result, seen


def _changed(sb: Sandbox, every: int = 25) -> set[str]:
    ids = sorted(int(c["id"]) for c in sb.store.objects("contacts"))[::every]
    sb.store.touch_contacts(ids)
    return set(map(str, ids))


def _store_rows(sb: Sandbox, table: str, contacts: set[str]) -> set[str]:
    return {o["id"] for o in sb.store.objects(table) if o["contact"] in contacts}


def _activated(messages: list[dict]) -> set[str]:
    return {m["stream"] for m in messages if m["type"] == "ACTIVATE_VERSION"}


def _age(state: dict, hours: float) -> dict:
    """The state with every recorded full read ``hours`` older."""
    for entry in state["bookmarks"].values():
        if "reconciled_at" in entry:
            at = dt.datetime.fromisoformat(entry["reconciled_at"]) - dt.timedelta(hours=hours)
            entry["reconciled_at"] = at.isoformat()
    return state


@pytest.mark.parametrize("sideloads", [True, False], ids=["sideloads", "include-ignored"])
def test_an_incremental_run_emits_each_changed_contacts_complete_memberships_only(
        sandbox, run, config_for, sideloads) -> None:
    config = config_for(sandbox)
    first = run(config, streams=IMPORT)
    sandbox.api.behaviour.sideloads = sideloads
    changed = _changed(sandbox)
    second, messages = _messages(run, config, state=first.state, streams=IMPORT)

    emitted = set(second.ids("contacts"))
    assert changed <= emitted
    for stream, table in MEMBERSHIPS.items():
        rows = second.records.get(stream, [])
        assert {r["contact"] for r in rows} <= emitted, stream  # no other contact's rows
        assert {r["id"] for r in rows} == _store_rows(sandbox, table, emitted), stream
    linked = {r["account"] for r in second.records["account_contacts"]}
    assert {r["id"] for r in second.records["accounts"]} == linked
    assert not _activated(messages)
    # each contact's rows come before its RECORD (the mapper joins in one pass)
    order = [(m["stream"], m["record"].get("contact") or m["record"].get("id"))
             for m in messages if m["type"] == "RECORD"]
    for stream in MEMBERSHIPS:
        for position, (name, contact) in enumerate(order):
            if name == stream:
                assert ("contacts", contact) in order[position:], (stream, contact)


def test_with_sideloads_the_memberships_cost_no_request(sandbox, run, config_for) -> None:
    config = config_for(sandbox)
    first = run(config, streams=IMPORT)
    _changed(sandbox)
    sandbox.reset_stats()
    only_contacts = run(config, state=first.state, streams=["contacts"])
    alone = only_contacts.tap.usage.requests
    sandbox.reset_stats()
    second = run(config, state=first.state, streams=["contacts", *MEMBERSHIPS])
    routes = sandbox.stats()["routes"]
    assert second.records["contact_lists"] and second.records["contact_tags"]
    assert second.tap.usage.requests == alone == 2  # one contacts page + /fields
    assert set(routes) == {"GET /api/3/contacts", "GET /api/3/fields"}


def test_without_sideloads_few_changes_read_per_contact_not_the_tables(
        sandbox, run, config_for, include_ignored) -> None:
    config = config_for(sandbox)
    first = run(config, streams=["contacts", *MEMBERSHIPS])
    changed = _changed(sandbox, every=250)
    sandbox.reset_stats()
    second = run(config, state=first.state, streams=["contacts", *MEMBERSHIPS])
    routes = sandbox.stats()["routes"]
    emitted = set(second.ids("contacts"))
    assert changed <= emitted
    per_contact_won = 0
    for stream, table in MEMBERSHIPS.items():
        pages = first.state["bookmarks"][stream]["pages"]
        per_contact = routes.get(f"GET /api/3/contacts/{{id}}/{table}", 0)
        table_reads = routes.get(f"GET /api/3/{table}", 0)
        if len(emitted) + 1 < pages:  # clearly cheaper per contact: the table is not read
            assert (per_contact, table_reads) == (len(emitted), 0), stream
            per_contact_won += 1
        assert per_contact + table_reads <= 2 * min(len(emitted), pages), stream
        assert {r["id"] for r in second.records.get(stream, [])} == _store_rows(
            sandbox, table, emitted)
    assert per_contact_won  # contact_lists, at least, has more pages than changed contacts


def test_without_sideloads_many_changes_read_the_table_once(
        sandbox, run, config_for, include_ignored) -> None:
    config = config_for(sandbox)
    first = run(config, streams=["contacts", "contact_tags"])
    changed = _changed(sandbox, every=1)  # every contact
    pages = first.state["bookmarks"]["contact_tags"]["pages"]
    sandbox.reset_stats()
    second = run(config, state=first.state, streams=["contacts", "contact_tags"])
    routes = sandbox.stats()["routes"]
    per_contact = routes.get("GET /api/3/contacts/{id}/contactTags", 0)
    assert per_contact < pages  # switched to the table before exceeding its cost
    assert routes["GET /api/3/contactTags"] == pages
    assert {r["id"] for r in second.records["contact_tags"]} == _store_rows(
        sandbox, "contactTags", changed)


def test_the_reconciliation_runs_when_due_and_not_otherwise(sandbox, run, config_for) -> None:
    config = config_for(sandbox)
    first, messages = _messages(run, config, streams=IMPORT)
    assert _activated(messages) == set(MEMBERSHIPS)  # no bookmark yet: full tables
    for stream, table in MEMBERSHIPS.items():
        entry = first.state["bookmarks"][stream]
        assert dt.datetime.fromisoformat(entry["reconciled_at"]).tzinfo is not None
        assert entry["pages"] >= 1
        assert len(first.records[stream]) == len(sandbox.store.objects(table))
    # ACTIVATE_VERSION comes before the stream's first row
    kinds = [(m["type"], m.get("stream")) for m in messages]
    for stream in MEMBERSHIPS:
        assert kinds.index(("ACTIVATE_VERSION", stream)) < kinds.index(("RECORD", stream))

    fresh, fresh_messages = _messages(run, config, state=first.state, streams=IMPORT)
    assert not _activated(fresh_messages)
    for stream in MEMBERSHIPS:
        assert fresh.state["bookmarks"][stream]["reconciled_at"] == \
            first.state["bookmarks"][stream]["reconciled_at"]

    due, due_messages = _messages(run, config, state=_age(fresh.state, 25), streams=IMPORT)
    assert _activated(due_messages) == set(MEMBERSHIPS)
    for stream, table in MEMBERSHIPS.items():
        assert len(due.records[stream]) == len(sandbox.store.objects(table))
        assert due.state["bookmarks"][stream]["reconciled_at"] > \
            fresh.state["bookmarks"][stream]["reconciled_at"]

    every_run = config_for(sandbox, membership_reconcile_hours=0)  # the old behaviour
    _, again = _messages(run, every_run, state=first.state, streams=IMPORT)
    assert _activated(again) == set(MEMBERSHIPS)


def test_an_interrupted_reconciliation_keeps_the_previous_reconciled_at(
        sandbox, run, config_for) -> None:
    config = config_for(sandbox)
    first = run(config, streams=IMPORT)
    old = _age(first.state, 25)
    before = old["bookmarks"]["contact_tags"]["reconciled_at"]

    def fail_midway(message, result) -> None:
        if message["type"] == "RECORD" and len(result.records.get("contact_tags", [])) == 50:
            sandbox.set_faults(error_rate=1.0)

    broken = run(config, state=old, streams=IMPORT, on_message=fail_midway,
                 raise_errors=False)
    sandbox.clear_faults()
    assert broken.error is not None
    saved = broken.state or old
    assert saved["bookmarks"]["contact_tags"]["reconciled_at"] == before
    assert saved["bookmarks"]["contact_lists"]["reconciled_at"] > before  # that one finished


def test_a_membership_only_change_is_seen_at_the_next_reconciliation(
        sandbox, run, config_for) -> None:
    """The sandbox (like, we assume, ActiveCampaign) does not bump udate for a tag alone."""
    config = config_for(sandbox)
    first = run(config, streams=IMPORT)
    contact = sandbox.store.objects("contacts")[7]["id"]
    tag = sandbox.store.objects("tags")[-1]["id"]
    answer = requests.post(f"{sandbox.base_url}/api/3/contactTags", timeout=10,
                           headers={"Api-Token": API_KEY},
                           json={"contactTag": {"contact": contact, "tag": tag}})
    link = answer.json()["contactTag"]["id"]

    incremental = run(config, state=first.state, streams=IMPORT)
    assert link not in incremental.ids("contact_tags")
    reconciled = run(config, state=_age(incremental.state, 25), streams=IMPORT)
    assert link in reconciled.ids("contact_tags")


def test_on_an_account_that_bumps_udate_a_membership_change_rides_along_at_once(
        sandbox, run, config_for) -> None:
    """The other reading of spec §11 (unconfirmed): a tag alone bumps the contact's udate,
    so the next incremental run brings the contact and its new tag, before any
    reconciliation."""
    sandbox.api.behaviour.membership_bumps_udate = True
    config = config_for(sandbox)
    first = run(config, streams=IMPORT)
    contact = sandbox.store.objects("contacts")[7]["id"]
    tag = sandbox.store.objects("tags")[-1]["id"]
    answer = requests.post(f"{sandbox.base_url}/api/3/contactTags", timeout=10,
                           headers={"Api-Token": API_KEY},
                           json={"contactTag": {"contact": contact, "tag": tag}})
    link = answer.json()["contactTag"]["id"]

    incremental, messages = _messages(run, config, state=first.state, streams=IMPORT)
    assert contact in incremental.ids("contacts")
    assert link in incremental.ids("contact_tags")
    assert not _activated(messages) & set(MEMBERSHIPS)  # not a reconciliation


@pytest.mark.parametrize("contacts", [2000, 6000])
def test_ten_changed_contacts_cost_at_most_15_requests_whatever_the_size(
        run, config_for, contacts) -> None:
    """Whole catalog, an account that sideloads; their lists, tags and company arrive."""
    with Sandbox(seed="demo", contacts=contacts, rate_limit=None, api_key=API_KEY) as sb:
        config = config_for(sb)
        first = run(config)
        changed = _changed(sb, every=contacts // 10)
        sb.reset_stats()
        second = run(config, state=first.state)
        requests_made = sum(sb.stats()["routes"].values())
        emitted = set(second.ids("contacts"))
        links = _store_rows(sb, "accountContacts", changed)
        lists = _store_rows(sb, "contactLists", changed)
    assert changed <= emitted
    assert requests_made == second.tap.usage.requests <= 15
    assert lists <= set(second.ids("contact_lists"))
    assert links <= set(second.ids("account_contacts"))
    companies = {r["account"] for r in second.records["account_contacts"]}
    assert companies <= set(second.ids("accounts"))
