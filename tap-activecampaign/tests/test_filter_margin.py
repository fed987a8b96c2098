"""filters[updated_after] has an unconfirmed timezone and granularity (spec §2/§9): whatever
the server makes of the value, an incremental run loses no change made after the bookmark."""

from __future__ import annotations

import datetime as dt

import pytest

from activecampaign_sandbox import Sandbox
from activecampaign_sandbox.behaviour import AccountBehaviour

API_KEY = "test-key"


def _touch(sb: Sandbox, stream: str, oid: str, when: dt.datetime) -> None:
    if stream == "contacts":
        sb.store.touch_contacts([int(oid)], ts=when.timestamp())
    else:
        sb.store.touch_owner("deal", int(oid), ts=when.timestamp())


@pytest.mark.parametrize("stream", ["contacts", "deals"])
@pytest.mark.parametrize("reading", ["exact", "account-time", "account-day", "next-day"])
def test_a_change_just_after_the_bookmark_is_read_however_the_server_reads_the_filter(
        run, config_for, reading, stream) -> None:
    with Sandbox(seed="demo", contacts=100, rate_limit=None, api_key=API_KEY,
                 behaviour=AccountBehaviour(date_filters=reading)) as sb:
        config = config_for(sb)
        first = run(config, streams=[stream])
        bookmark = dt.datetime.fromisoformat(first.bookmark(stream) or "")
        ids = first.ids(stream)
        after, before = ids[0], ids[1]
        _touch(sb, stream, after, bookmark + dt.timedelta(hours=1))
        _touch(sb, stream, before, bookmark - dt.timedelta(hours=20))

        second = run(config, state=first.state, streams=[stream])

    read = set(second.ids(stream))
    assert after in read  # no verdict yet: the two-day margin covers even a next-day reading
    assert before not in read  # older than the bookmark: the margin's extra rows are dropped
    key = "udate" if stream == "contacts" else "mdate"
    assert all(dt.datetime.fromisoformat(r[key]) >= bookmark for r in second.records[stream])
    assert dt.datetime.fromisoformat(second.bookmark(stream) or "") > bookmark
