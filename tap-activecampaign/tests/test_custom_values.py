"""contact_custom_field_values: a child of contacts, zero requests of its own, incremental.

Also the request count of an incremental run where nothing changed (whole catalog).
"""

from __future__ import annotations

import contextlib
import io
import json
import math

from tap_activecampaign.tap import TapActiveCampaign

VALUES = "contact_custom_field_values"


def _value_ids(sb, contacts: set[str] | None = None) -> set[str]:
    return {str(v["id"]) for v in sb.store.objects("fieldValues")
            if contacts is None or str(v["contact"]) in contacts}


def _contact_ids(sb) -> list[int]:
    return sorted(int(c["id"]) for c in sb.store.objects("contacts"))


def _messages(config: dict, state: dict | None = None,
              streams: tuple[str, ...] = ("contacts", VALUES)) -> list[dict]:
    """Every Singer message of one in-process run, in order."""
    tap = TapActiveCampaign(config=config, state=state, validate_config=True)
    for name, stream in tap.streams.items():
        stream.selected = name in streams
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap.sync_all()
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_values_cost_no_request_on_a_full_sync_with_sideloads(shared_sandbox, run,
                                                              config_for) -> None:
    shared_sandbox.reset_stats()
    result = run(config_for(shared_sandbox), streams=["contacts", VALUES])
    n = len(shared_sandbox.store.objects("contacts"))
    assert result.tap.usage.requests == math.ceil(n / 100) + 1  # same as contacts alone
    routes = shared_sandbox.stats()["routes"]
    assert not any("fieldValues" in route for route in routes)
    ids = result.ids(VALUES)
    assert len(ids) == len(set(ids))
    assert set(ids) == _value_ids(shared_sandbox)
    raw = {str(v["id"]): v for v in shared_sandbox.store.objects("fieldValues")}
    for record in result.records[VALUES]:
        assert set(record) <= {"id", "contact", "field", "value", "cdate", "udate",
                               "created_by", "updated_by", "owner"}
        assert record["contact"] == str(raw[record["id"]]["contact"])


def test_values_are_written_just_before_their_contact_and_before_the_bookmark(
        shared_sandbox, config_for) -> None:
    messages = _messages(config_for(shared_sandbox))
    schemas = [m["stream"] for m in messages if m["type"] == "SCHEMA"]
    assert schemas == ["contacts", VALUES]  # one SCHEMA each, not one per contact
    pending: set[str] = set()
    for message in messages:
        if message["type"] != "RECORD":
            continue
        record = message["record"]
        if message["stream"] == VALUES:
            pending.add(record["contact"])
        else:
            assert pending <= {record["id"]}, "values belong to the next contact record"
            pending.clear()
    last_value = max(i for i, m in enumerate(messages)
                     if m["type"] == "RECORD" and m["stream"] == VALUES)
    bookmarked = [i for i, m in enumerate(messages) if m["type"] == "STATE"
                  and m["value"]["bookmarks"].get("contacts", {}).get("replication_key_value")]
    assert bookmarked and min(bookmarked) > last_value
    states = [m for m in messages if m["type"] == "STATE"]
    assert len(states) <= 3  # no STATE per contact
    assert states[-1]["value"]["bookmarks"][VALUES] == {}  # no per-contact partitions


def test_values_follow_contacts_incrementally(sandbox, run, config_for) -> None:
    config = config_for(sandbox)
    first = run(config, streams=["contacts", VALUES])
    ids = _contact_ids(sandbox)
    changed = ids[::40]
    field = sandbox.store.objects("fields")[0]
    sandbox.store.set_field_value(changed[0], int(field["id"]), "changed value")
    sandbox.store.touch_contacts(changed)

    second = run(config, state=first.state, streams=["contacts", VALUES])

    read = set(second.ids("contacts"))
    assert set(map(str, changed)) <= read
    assert len(read) < len(ids) // 4
    assert set(second.ids(VALUES)) == _value_ids(sandbox, read)
    updated = [r for r in second.records[VALUES]
               if r["contact"] == str(changed[0]) and r["field"] == str(field["id"])]
    assert [r["value"] for r in updated] == ["changed value"]
    assert second.tap.usage.requests == 2  # one page of contacts + /fields


def test_an_interrupted_run_keeps_the_bookmark_and_the_rerun_writes_the_values(
        sandbox, run, config_for) -> None:
    config = config_for(sandbox)
    baseline = run(config, streams=["contacts", VALUES])
    changed = set(map(str, _contact_ids(sandbox)[:200]))
    sandbox.store.touch_contacts(changed)

    def fail_midway(message, result) -> None:
        if message["type"] == "RECORD" and len(result.records.get("contacts", [])) == 50:
            sandbox.set_faults(forbidden_rate=1.0)

    interrupted = run(config, state=baseline.state, streams=["contacts", VALUES],
                      on_message=fail_midway, raise_errors=False)
    assert interrupted.error is not None
    sandbox.clear_faults()
    saved = interrupted.state or baseline.state
    assert saved["bookmarks"]["contacts"]["replication_key_value"] == \
        baseline.bookmark("contacts")

    rerun = run(config, state=saved, streams=["contacts", VALUES])
    assert _value_ids(sandbox, changed) <= set(rerun.ids(VALUES))


def test_with_import_sources_values_come_only_for_member_contacts_once(
        shared_sandbox, run, config_for) -> None:
    sb = shared_sandbox
    config = config_for(sb, list_ids=["1"], tag_ids=["1"])
    only_contacts = run(config, streams=["contacts"])
    result = run(config, streams=["contacts", VALUES])
    members = set(result.ids("contacts"))
    assert members == set(only_contacts.ids("contacts"))
    ids = result.ids(VALUES)
    assert len(ids) == len(set(ids))
    assert set(ids) == _value_ids(sb, members)
    assert result.tap.usage.requests == only_contacts.tap.usage.requests  # no member reads


def test_values_alone_need_the_contact_scan_but_leave_the_contacts_bookmark(
        shared_sandbox, run, config_for) -> None:
    """Contacts deselected: the scan still runs (values come with it), but the state must
    not claim contacts were written."""
    result = run(config_for(shared_sandbox), streams=[VALUES])
    assert "contacts" not in result.records
    assert set(result.ids(VALUES)) == _value_ids(shared_sandbox)
    assert not result.state.get("bookmarks", {}).get("contacts", {}).get(
        "replication_key_value")


def test_fallback_reads_field_values_once_and_still_follows_contacts(
        sandbox, run, config_for, include_ignored, caplog) -> None:
    config = config_for(sandbox)
    sandbox.reset_stats()
    first = run(config, streams=["contacts", VALUES])
    value_pages = math.ceil(len(sandbox.store.objects("fieldValues")) / 100)
    assert sandbox.stats()["routes"]["GET /api/3/fieldValues"] == value_pages
    assert set(first.ids(VALUES)) == _value_ids(sandbox)
    assert sum("ignored include=fieldValues" in m for m in caplog.messages) == 1

    changed = set(map(str, _contact_ids(sandbox)[::50]))
    sandbox.store.touch_contacts(changed)
    second = run(config, state=first.state, streams=["contacts", VALUES])
    read = set(second.ids("contacts"))
    assert changed <= read
    assert set(second.ids(VALUES)) == _value_ids(sandbox, read)


def test_a_no_change_incremental_run_costs_only_the_small_tables(sandbox, run,
                                                               config_for) -> None:
    """Whole catalog: contacts and deals cost one page each (the rows at the bookmark);
    contact custom values nothing; the small tables their pages; the membership, account and
    value tables nothing until their reconciliation is due (cadence.py)."""
    config = config_for(sandbox)
    sandbox.reset_stats()
    full = run(config)
    full_routes = sandbox.stats()["routes"]
    sandbox.reset_stats()
    again = run(config, state=full.state)
    routes = sandbox.stats()["routes"]

    assert not any("fieldValues" in route for route in {**full_routes, **routes})
    assert routes["GET /api/3/contacts"] == 1
    assert routes["GET /api/3/deals"] == 1
    for table in ("accountContacts", "contactLists", "contactTags", "contactAutomations"):
        assert f"GET /api/3/{table}" not in routes, table
    # the deal at the bookmark brings its account: one request (per account or the table)
    assert routes.get("GET /api/3/accounts", 0) + routes.get("GET /api/3/accounts/{id}", 0) \
        <= 1
    small = {r: c for r, c in routes.items() if r.count("/") == 3 and r not in (
        "GET /api/3/contacts", "GET /api/3/deals", "GET /api/3/accountCustomFieldData",
        "GET /api/3/dealCustomFieldData")}
    assert small == {r: c for r, c in full_routes.items() if r in small}
    assert again.tap.usage.requests == sum(routes.values())
    assert len(again.records.get(VALUES, [])) <= 10 * len(again.records["contacts"])
