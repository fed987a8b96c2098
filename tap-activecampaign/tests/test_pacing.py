"""Client-side pacing: just under the account limit, no 429; a 429 burst is recovered."""

from __future__ import annotations

import pytest


@pytest.fixture
def limited_sandbox():
    from activecampaign_sandbox import Sandbox

    with Sandbox(seed="demo", contacts=120, rate_limit=20, api_key="test-key") as sb:
        yield sb


STREAMS = ["users", "lists", "tags", "contact_custom_fields", "contacts", "contact_lists",
           "contact_tags", "deals"]


def test_pacing_at_the_account_limit_receives_no_429(limited_sandbox, run, config_for) -> None:
    result = run(config_for(limited_sandbox, requests_per_second=20), streams=STREAMS)
    assert result.tap.usage.requests >= 10
    assert result.tap.usage.throttled == 0
    assert 429 not in result.tap.usage.by_status


def test_a_burst_of_429s_is_waited_out_and_the_sync_completes(limited_sandbox, run,
                                                              config_for) -> None:
    limited_sandbox.set_faults(throttle_next=3, throttle_retry_after=1)
    result = run(config_for(limited_sandbox, requests_per_second=20), streams=["contacts"])
    assert result.tap.usage.throttled == 3
    expected = {str(c["id"]) for c in limited_sandbox.store.objects("contacts")}
    assert set(result.ids("contacts")) == expected
