"""The learned filter margin (filter_check.py): a probe of one request per row tells whether
``filters[updated_after]`` starts later than the value sent (spec §2/§9: timezone and
granularity unconfirmed); only then does an incremental run pay the two-day margin."""

from __future__ import annotations

import datetime as dt
import json
import typing as t
from zoneinfo import ZoneInfo

import pytest

from activecampaign_sandbox import Sandbox
from activecampaign_sandbox.behaviour import AccountBehaviour
from tap_activecampaign import filter_check

API_KEY = "test-key"
CHICAGO = ZoneInfo("America/Chicago")  # the sandbox account's timezone
READINGS = ["exact", "account-time", "account-day", "next-day"]


def _aged(state: dict, stream: str, hours: float, **changes: t.Any) -> dict:
    """The state with the stream's filter verdict ``hours`` older (and ``changes``)."""
    out = {**state, "bookmarks": {k: dict(v) for k, v in state["bookmarks"].items()}}
    entry = out["bookmarks"][stream]
    check = dict(entry.get(filter_check.FILTER_CHECK) or {})
    at = dt.datetime.fromisoformat(check.get("checked_at") or dt.datetime.now(dt.UTC).isoformat())
    check.update(checked_at=(at - dt.timedelta(hours=hours)).isoformat(), **changes)
    check.setdefault("offset", filter_check.current_offset(check))
    entry[filter_check.FILTER_CHECK] = check
    return out


def _with_bookmark(state: dict, stream: str, when: dt.datetime) -> dict:
    out = {**state, "bookmarks": {k: dict(v) for k, v in state["bookmarks"].items()}}
    out["bookmarks"][stream]["replication_key_value"] = when.astimezone(dt.UTC).isoformat()
    return out


def _noon_yesterday() -> dt.datetime:
    """Account-local noon yesterday: an hour either side stays on the same account day."""
    today = dt.datetime.now(CHICAGO).date()
    return dt.datetime.combine(today - dt.timedelta(days=1), dt.time(12), CHICAGO)


def _touch(sb: Sandbox, stream: str, oid: str, when: dt.datetime) -> None:
    if stream == "contacts":
        sb.store.touch_contacts([int(oid)], ts=when.timestamp())
    else:
        sb.store.touch_owner("deal", int(oid), ts=when.timestamp())


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each probe request's outcome, in order (found / missed / inconclusive)."""
    seen: list[str] = []
    real = filter_check.probe_one

    def spy(*args: t.Any, **kwargs: t.Any) -> str:
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(filter_check, "probe_one", spy)
    return seen


@pytest.mark.parametrize("stream", ["contacts", "deals"])
@pytest.mark.parametrize("reading", READINGS)
def test_a_change_just_after_the_bookmark_is_read_with_a_learned_margin(
        run, config_for, probes, reading, stream) -> None:
    """A stale "no later shift" verdict is probed again before it is used: on an account
    whose filter starts a day late ("next-day") the probe misses its row and the run keeps
    the two-day margin. Without the probe (the old verdict used) the change is lost."""
    with Sandbox(seed="demo", contacts=100, rate_limit=None, api_key=API_KEY,
                 behaviour=AccountBehaviour(date_filters=reading)) as sb:
        config = config_for(sb)
        first = run(config, streams=[stream])
        bookmark = _noon_yesterday()
        state = _with_bookmark(_aged(first.state, stream, 48, shift="none"), stream, bookmark)
        ids = first.ids(stream)
        after, before = ids[0], ids[1]
        _touch(sb, stream, after, bookmark + dt.timedelta(hours=1))
        _touch(sb, stream, before, bookmark - dt.timedelta(hours=20))

        second = run(config, state=state, streams=[stream])

    read = set(second.ids(stream))
    assert after in read
    assert before not in read  # older than the bookmark: the margin's extra rows are dropped
    check = second.state["bookmarks"][stream][filter_check.FILTER_CHECK]
    assert 1 <= len(probes) <= filter_check.MAX_PROBES
    assert check["shift"] == ("later" if reading == "next-day" else "none")
    assert check["probes"] == len(probes)


def test_without_the_probe_a_filter_shifted_later_loses_the_change(run, config_for) -> None:
    """The guard for the test above: on a "next-day" account a fresh (wrong) "none" verdict
    applies the 5-minute margin, and a change an hour after the bookmark is missed."""
    with Sandbox(seed="demo", contacts=100, rate_limit=None, api_key=API_KEY,
                 behaviour=AccountBehaviour(date_filters="next-day")) as sb:
        config = config_for(sb)
        first = run(config, streams=["contacts"])
        bookmark = _noon_yesterday()
        state = _with_bookmark(_aged(first.state, "contacts", 0, shift="none"), "contacts",
                               bookmark)
        after = first.ids("contacts")[0]
        _touch(sb, "contacts", after, bookmark + dt.timedelta(hours=1))

        second = run(config, state=state, streams=["contacts"])

    assert after not in second.ids("contacts")


def _busy_exact_account(sb: Sandbox) -> None:
    """400 contacts changed 3 hours ago and one a minute ago: the two-day margin re-reads
    400 contacts (4 pages) that the bookmark (a minute ago) already covers."""
    now = dt.datetime.now(dt.UTC)
    ids = sorted(int(c["id"]) for c in sb.store.objects("contacts"))
    sb.store.touch_contacts(ids[:400], ts=(now - dt.timedelta(hours=3)).timestamp())
    sb.store.touch_contacts(ids[-1:], ts=(now - dt.timedelta(minutes=1)).timestamp())


def test_a_no_change_run_rereads_nothing_once_the_filter_is_checked(
        run, config_for, probes) -> None:
    with Sandbox(seed="demo", contacts=500, rate_limit=None, api_key=API_KEY) as sb:
        _busy_exact_account(sb)
        config = config_for(sb)
        first = run(config, streams=["contacts"])
        # no verdict yet: the two-day margin, then the probe (the margin cost pages)
        second = run(config, state=first.state, streams=["contacts"])
        checked = len(probes)
        third = run(config, state=second.state, streams=["contacts"])
        fourth = run(config, state=third.state, streams=["contacts"])

    assert second.tap and third.tap and fourth.tap
    assert 1 <= checked <= filter_check.MAX_PROBES
    check = second.state["bookmarks"]["contacts"][filter_check.FILTER_CHECK]
    assert check["shift"] == "none" and check["checked_at"] and check["offset"]
    assert "@" not in json.dumps(second.state)  # probes pinned by id: no email in the state
    assert second.tap.usage.requests >= 5 + checked  # 401 re-read contacts + /fields + probes
    assert len(third.records.get("contacts", [])) <= 1  # only the one at the bookmark itself
    assert third.tap.usage.requests <= 2  # one page of contacts + /fields, no probe
    assert len(probes) == checked  # a fresh verdict is not checked again
    assert fourth.tap.usage.requests == third.tap.usage.requests


def test_a_due_verdict_is_checked_again_for_at_most_three_requests(
        run, config_for, probes) -> None:
    with Sandbox(seed="demo", contacts=500, rate_limit=None, api_key=API_KEY) as sb:
        _busy_exact_account(sb)
        config = config_for(sb, membership_reconcile_hours=24)
        first = run(config, streams=["contacts"])
        second = run(config, state=first.state, streams=["contacts"])
        fresh = run(config, state=second.state, streams=["contacts"])
        before = len(probes)
        due = run(config, state=_aged(fresh.state, "contacts", 25), streams=["contacts"])

    assert fresh.tap and due.tap
    assert 1 <= len(probes) - before <= filter_check.MAX_PROBES
    assert due.tap.usage.requests == fresh.tap.usage.requests + len(probes) - before
    check = due.state["bookmarks"]["contacts"][filter_check.FILTER_CHECK]
    assert check["shift"] == "none"
    age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(check["checked_at"])
    assert age < dt.timedelta(minutes=5)


def test_the_filter_is_sent_in_the_accounts_own_offset(run, config_for, monkeypatch) -> None:
    """An account that ignores the offset and reads account wall time ("account-time")
    reads the value right when it is sent in the account's offset (seen on its udates)."""
    sent: list[str] = []
    real = filter_check.filter_value

    def spy(when: dt.datetime, offset: str | None) -> str:
        sent.append(real(when, offset))
        return sent[-1]

    with Sandbox(seed="demo", contacts=100, rate_limit=None, api_key=API_KEY,
                 behaviour=AccountBehaviour(date_filters="account-time")) as sb:
        first = run(config_for(sb), streams=["contacts"])
        monkeypatch.setattr(filter_check, "filter_value", spy)
        run(config_for(sb), state=first.state, streams=["contacts"])
    check = first.state["bookmarks"]["contacts"][filter_check.FILTER_CHECK]
    offset = filter_check.current_offset(check) or ""
    assert offset in ("-05:00", "-06:00")
    assert sent and all(value.endswith(offset) for value in sent)
    bookmark = dt.datetime.fromisoformat(first.bookmark("contacts") or "")
    assert dt.datetime.fromisoformat(sent[0]) == bookmark - filter_check.SAFE_MARGIN


# ---- the pure rules ------------------------------------------------------------------------

def test_filter_values_keep_the_instant_in_the_offset_given() -> None:
    when = dt.datetime(2030, 1, 15, 12, 0, tzinfo=dt.UTC)
    assert filter_check.filter_value(when, "-06:00") == "2030-01-15T06:00:00-06:00"
    assert filter_check.filter_value(when, "+05:30") == "2030-01-15T17:30:00+05:30"
    assert filter_check.filter_value(when, None) == "2030-01-15T12:00:00Z"
    assert filter_check.offset_of("2030-01-15T06:00:00-06:00") == "-06:00"
    assert filter_check.offset_of("2030-01-15 06:00:00") is None


def test_the_learned_margin_needs_a_no_shift_verdict_for_the_offset_sent_now() -> None:
    rows = [{"id": "1", "pin": "a@example.com", "stamp": "2030-01-15T06:00:00-06:00"}]
    now = dt.datetime(2030, 1, 15, 13, 0, tzinfo=dt.UTC)
    fresh = {"shift": "none", "offset": "-06:00", "checked_at": "2030-01-15T12:00:00+00:00",
             "rows": rows}
    assert filter_check.margin(fresh) == filter_check.LEARNED_MARGIN
    assert not filter_check.is_due(fresh, 24, now)
    assert filter_check.is_due(fresh, 0, now)  # 0 = every run
    assert filter_check.is_due(fresh, 24, now + dt.timedelta(hours=24))
    moved = {**fresh, "offset": "-05:00"}  # checked before a daylight-saving change
    assert filter_check.margin(moved) == filter_check.SAFE_MARGIN
    assert filter_check.is_due(moved, 24, now)
    for shift in ("later", "unknown", None):
        assert filter_check.margin({**fresh, "shift": shift}) == filter_check.SAFE_MARGIN
    assert filter_check.is_due({**fresh, "shift": "unknown"}, 24, now)


def test_probe_candidates_are_the_newest_row_in_each_third_of_the_day() -> None:
    def row(rid: str, stamp: str) -> dict:
        return {"id": rid, "pin": f"{rid}@example.com", "stamp": stamp}

    kept = filter_check.merge_rows(
        [row("1", "2030-01-14T02:00:00-06:00"), row("2", "2030-01-14T09:00:00-06:00")],
        [row("3", "2030-01-15T03:00:00-06:00"), row("4", "2030-01-15T20:00:00-06:00"),
         row("5", "2030-01-15T21:00:00-06:00"), {"id": "6", "pin": "", "stamp": "x"}])
    assert [r["id"] for r in kept] == ["5", "3", "2"]
