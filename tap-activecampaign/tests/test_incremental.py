"""Incremental contacts/deals: ties at the bookmark, changes during a scan, interrupted runs."""

from __future__ import annotations

import datetime as dt
import time

import pytest


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


def _contact_ids(sb) -> list[int]:
    return sorted(int(c["id"]) for c in sb.store.objects("contacts"))


def test_contacts_sharing_the_bookmark_timestamp_are_all_read_again(sandbox, run,
                                                                    config_for) -> None:
    config = config_for(sandbox)
    first = run(config, streams=["contacts"])
    bookmark = first.bookmark("contacts")
    tied = _contact_ids(sandbox)[10:60]
    sandbox.store.touch_contacts(tied, ts=_epoch(bookmark))

    second = run(config, state=first.state, streams=["contacts"])

    assert set(map(str, tied)) <= set(second.ids("contacts"))
    assert second.bookmark("contacts") >= bookmark


def test_incremental_run_reads_only_changed_contacts(sandbox, run, config_for) -> None:
    config = config_for(sandbox)
    first = run(config, streams=["contacts"])
    changed = _contact_ids(sandbox)[::50]
    sandbox.store.touch_contacts(changed)

    second = run(config, state=first.state, streams=["contacts"])

    ids = set(second.ids("contacts"))
    assert set(map(str, changed)) <= ids
    at_old_bookmark = {r["id"] for r in first.records["contacts"]
                       if r["udate"] == first.bookmark("contacts")}
    assert ids <= set(map(str, changed)) | at_old_bookmark
    assert second.tap.usage.requests <= 2  # one page of contacts + /fields


def test_a_contact_changed_during_a_scan_is_caught_by_the_next_run(sandbox, run,
                                                                  config_for) -> None:
    """A passed contact changes, then an unread one changes later: the bookmark must not jump
    to the later change (it is capped at the scan's start), or the first change is lost."""
    config = config_for(sandbox)
    ids = _contact_ids(sandbox)
    passed, unread = str(ids[0]), str(ids[-1])
    done: list[bool] = []

    def change_during_scan(message, result) -> None:
        if message["type"] == "RECORD" and message["stream"] == "contacts" and not done \
                and len(result.records["contacts"]) == 150:
            now = time.time()
            sandbox.store.touch_contacts([int(passed)], ts=now)
            sandbox.store.touch_contacts([int(unread)], ts=now + 30)
            done.append(True)

    first = run(config, streams=["contacts"], on_message=change_during_scan)
    assert done
    assert first.ids("contacts").count(passed) == 1
    assert first.bookmark("contacts") < _iso(time.time())  # capped, not the later change

    second = run(config, state=first.state, streams=["contacts"])
    assert passed in second.ids("contacts")


@pytest.mark.parametrize(
    ("stop_after", "contacts_finished"),
    [(1, False), (120, False), (240, True)],  # 240: the fault hits deals, after contacts
)
def test_a_run_interrupted_anywhere_loses_nothing_when_rerun(sandbox, run, config_for,
                                                             stop_after,
                                                             contacts_finished) -> None:
    config = config_for(sandbox)
    baseline = run(config, streams=["contacts", "deals"])
    changed = _contact_ids(sandbox)[:240]
    sandbox.store.touch_contacts(changed)

    def fail_midway(message, result) -> None:
        if message["type"] == "RECORD" and len(result.records.get("contacts", [])) == stop_after:
            sandbox.set_faults(forbidden_rate=1.0)

    interrupted = run(config, state=baseline.state, streams=["contacts", "deals"],
                      on_message=fail_midway, raise_errors=False)
    assert interrupted.error is not None
    sandbox.clear_faults()
    saved = interrupted.state or baseline.state
    kept = saved["bookmarks"]["contacts"].get("replication_key_value") == \
        baseline.bookmark("contacts")
    assert kept is not contacts_finished, "the bookmark moves only after a complete scan"

    rerun = run(config, state=saved, streams=["contacts", "deals"])
    read = set(rerun.ids("contacts")) | (
        set(interrupted.ids("contacts")) if contacts_finished else set())
    assert set(map(str, changed)) <= read
    assert rerun.bookmark("contacts") > baseline.bookmark("contacts")


def test_deals_are_read_incrementally_by_mdate(sandbox, run, config_for) -> None:
    config = config_for(sandbox)
    first = run(config, streams=["deals"])
    assert first.records["deals"]
    second = run(config, state=first.state, streams=["deals"])
    bookmark = first.bookmark("deals")
    assert all(r["mdate"] >= bookmark for r in second.records.get("deals", []))
    assert len(second.records.get("deals", [])) < len(first.records["deals"])
