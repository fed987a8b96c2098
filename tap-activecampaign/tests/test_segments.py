"""Segments are evaluated asynchronously (spec §11): the first answer has no members."""

from __future__ import annotations

import logging

import pytest

from activecampaign_sandbox import Sandbox
from activecampaign_sandbox.behaviour import AccountBehaviour

API_KEY = "test-key"
STREAMS = ["contacts", "contact_lists"]  # contact_lists keeps members only: a second reader


def _account(ready_after: int) -> Sandbox:
    return Sandbox(seed="demo", contacts=150, rate_limit=None, api_key=API_KEY,
                   behaviour=AccountBehaviour(segment_ready_after=ready_after))


def _segment_requests(sb: Sandbox) -> int:
    return sb.stats()["routes"]["GET /api/3/contacts"]


@pytest.mark.parametrize("ready_after", [1, 3])
def test_a_segment_import_waits_for_the_evaluation_and_reads_every_member(
        run, config_for, ready_after) -> None:
    with _account(ready_after) as sb:
        members = {str(c) for c in sb.store.contacts_in_segment(1)}
        result = run(config_for(sb, segment_ids=["1"]), streams=STREAMS)
        requests = _segment_requests(sb)
    assert members
    assert set(result.ids("contacts")) == members
    assert {r["contact"] for r in result.records["contact_lists"]} <= members
    pages = -(-len(members) // 100)
    # member ids + contacts, a page each per 100, + the not-ready answers, nothing more
    assert requests == 2 * pages + ready_after


def test_an_empty_segment_ends_after_bounded_tries_with_a_warning(
        run, config_for, caplog) -> None:
    caplog.set_level(logging.WARNING)
    with _account(1) as sb:
        sb.store.segment_rules[1] = lambda store, cid: False  # nobody matches
        sb.store.dirty()
        result = run(config_for(sb, segment_ids=["1"]), streams=["contacts"])
        requests = _segment_requests(sb)
    assert "contacts" not in result.records
    assert requests == 7  # segment_tries: 1 answer + 6 more, then read as empty
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Segment 1")]
    assert len(warnings) == 1 and "no members after 7 answers" in warnings[0]


def test_an_incremental_segment_run_with_no_changes_costs_two_extra_requests(
        run, config_for) -> None:
    """Filtered, an empty answer may be true: one probe shows the evaluation is ready."""
    with _account(1) as sb:
        config = config_for(sb, segment_ids=["2"])
        first = run(config, streams=["contacts"])
        assert first.records["contacts"]
        sb.reset_stats()
        sb.api.segment_runs.clear()  # the cached evaluation expired: a new one starts

        second = run(config, state=first.state, streams=["contacts"])
        requests = _segment_requests(sb)
    ids = set(second.ids("contacts"))
    assert ids <= set(first.ids("contacts"))  # only what sits at the bookmark, if anything
    assert requests == 3  # the not-ready answer, the probe, the same request again
    assert second.bookmark("contacts") == first.bookmark("contacts")
