"""Retries of transient faults, clear fatal errors, and the connection check."""

from __future__ import annotations

import pytest

from tap_activecampaign.client import ActiveCampaignStream
from tap_activecampaign.tap import TapActiveCampaign


@pytest.mark.parametrize(
    "faults",
    [{"error_rate": 0.3}, {"truncate_rate": 0.3}, {"drop_rate": 0.3},
     {"error_rate": 0.15, "truncate_rate": 0.15, "drop_rate": 0.15}],
    ids=["5xx", "truncated-json", "dropped-connections", "mixed"],
)
def test_transient_faults_are_retried_and_the_data_is_complete(sandbox, run, config_for,
                                                               faults) -> None:
    streams = ["contacts", "contact_lists", "deals"]
    sandbox.set_faults(**faults)
    result = run(config_for(sandbox), streams=streams)
    sandbox.clear_faults()
    assert result.tap.usage.retries > 0
    for stream, table in (("contacts", "contacts"), ("contact_lists", "contactLists"),
                          ("deals", "deals")):
        expected = {str(o["id"]) for o in sandbox.store.objects(table)}
        assert sorted(result.ids(stream)) == sorted(expected)


def test_intermittent_403_on_an_accepted_key_is_retried(sandbox, run, config_for) -> None:
    streams = ["contacts", "contact_lists"]

    def flaky_after_first_record(message, result) -> None:
        if message["type"] == "RECORD" and sum(map(len, result.records.values())) == 1:
            sandbox.set_faults(forbidden_rate=0.2, seed=7)

    result = run(config_for(sandbox), streams=streams, on_message=flaky_after_first_record)
    sandbox.clear_faults()
    assert result.tap.usage.by_status.get(403, 0) > 0
    for stream, table in (("contacts", "contacts"), ("contact_lists", "contactLists")):
        expected = {str(o["id"]) for o in sandbox.store.objects(table)}
        assert sorted(result.ids(stream)) == sorted(expected)


def test_a_rejected_key_names_where_to_find_it_and_never_shows_it(shared_sandbox, run,
                                                                  config_for) -> None:
    secret = "wrong-key-0123456789"
    result = run(config_for(shared_sandbox, api_key=secret), streams=["users"],
                 raise_errors=False)
    message = str(result.error)
    assert "403" in message
    assert "Settings -> Developer" in message
    assert secret not in message


def test_persistent_server_errors_fail_saying_what_was_retried(sandbox, run,
                                                               config_for) -> None:
    sandbox.set_faults(error_rate=1.0)
    result = run(config_for(sandbox), streams=["users"], raise_errors=False)
    message = str(result.error)
    assert f"after {ActiveCampaignStream.max_attempts} attempts" in message
    assert "HTTP 5" in message
    assert "backoff" in message


def test_an_unreachable_url_says_to_check_the_url_format(run) -> None:
    config = {"api_url": "http://127.0.0.1:9", "api_key": "k", "requests_per_second": 1000}
    result = run(config, streams=["users"], raise_errors=False)
    message = str(result.error)
    assert "could not connect" in message
    assert "include https://" in message


def test_connection_check_passes_with_one_request(shared_sandbox, config_for) -> None:
    tap = TapActiveCampaign(config=config_for(shared_sandbox))
    ok, verdict = tap.check_connection()
    assert ok, verdict
    assert verdict.startswith("Connection OK")
    assert "\n" not in verdict
    assert tap.usage.requests == 1


def test_connection_check_reports_a_bad_key_without_showing_it(shared_sandbox,
                                                               config_for) -> None:
    tap = TapActiveCampaign(config=config_for(shared_sandbox, api_key="bad-key-xyz"))
    ok, verdict = tap.check_connection()
    assert not ok
    assert "rejected the API key" in verdict
    assert "bad-key-xyz" not in verdict


def test_retry_schedule_is_bounded_exponential_with_jitter(shared_sandbox, config_for,
                                                           monkeypatch) -> None:
    monkeypatch.setattr(ActiveCampaignStream, "backoff_base", 0.5)
    monkeypatch.setattr(ActiveCampaignStream, "backoff_cap", 30.0)
    stream = TapActiveCampaign(config=config_for(shared_sandbox)).streams["contacts"]
    waits = stream.backoff_wait_generator()
    next(waits)
    values = [waits.send(RuntimeError("boom")) for _ in range(10)]
    for attempt, value in enumerate(values):
        ceiling = min(30.0, 0.5 * 2**attempt)
        assert ceiling / 2 <= value <= ceiling
