"""A user whose role cannot read one object type (spec §11): skip that stream, finish the rest."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from activecampaign_sandbox import Sandbox
from activecampaign_sandbox.behaviour import AccountBehaviour

API_KEY = "test-key"
DEAL_STREAMS = {"deals", "deal_custom_fields", "deal_custom_field_values", "deal_pipelines",
                "deal_stages"}
DEAL_ROUTES = ("deals", "dealCustomFieldMeta", "dealCustomFieldData", "dealGroups",
               "dealStages")


@pytest.fixture
def no_deals() -> t.Iterator[Sandbox]:
    with Sandbox(seed="demo", contacts=120, rate_limit=None, api_key=API_KEY,
                 behaviour=AccountBehaviour(denied_objects=frozenset({"deals"}))) as sb:
        yield sb


def _denied_requests(sb: Sandbox) -> dict[str, int]:
    routes = sb.stats()["routes"]
    return {route: routes.get(f"GET /api/3/{route}", 0) for route in DEAL_ROUTES}


def test_a_stream_without_permission_is_skipped_and_the_others_complete(
        no_deals, run, config_for, caplog) -> None:
    caplog.set_level(logging.WARNING)
    result = run(config_for(no_deals))

    assert result.error is None
    assert not DEAL_STREAMS & set(result.records)
    contacts = {str(c["id"]) for c in no_deals.store.objects("contacts")}
    assert set(result.ids("contacts")) == contacts
    assert result.records["accounts"] and result.records["contact_lists"]
    assert all(count <= 2 for count in _denied_requests(no_deals).values())
    skips = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Skipping")]
    assert len(skips) == len(DEAL_STREAMS)  # one warning per stream
    assert any("You do not have permission to view deals." in s for s in skips)
    summary = [r.getMessage() for r in caplog.records if "Run summary" in r.getMessage()]
    assert summary and all(name in summary[0] for name in DEAL_STREAMS)
    assert set(result.tap.skipped) == DEAL_STREAMS


def test_the_bookmark_of_a_skipped_stream_does_not_move(no_deals, run, config_for) -> None:
    no_deals.behaviour.denied_objects = frozenset()
    first = run(config_for(no_deals), streams=["deals", "contacts"])
    bookmark = first.bookmark("deals")
    assert bookmark
    no_deals.store.touch_owner("deal", int(no_deals.store.objects("deals")[0]["id"]))
    no_deals.behaviour.denied_objects = frozenset({"deals"})

    second = run(config_for(no_deals), state=first.state, streams=["deals", "contacts"])

    assert second.error is None and "deals" not in second.records
    assert second.bookmark("deals") == bookmark
    assert "progress_markers" not in second.state["bookmarks"]["deals"]


def test_a_permission_403_on_the_first_request_checks_the_key_once(run, config_for) -> None:
    """The key check (/users/me) tells a refused object from a bad key: one extra request."""
    with Sandbox(seed="demo", contacts=20, rate_limit=None, api_key=API_KEY,
                 behaviour=AccountBehaviour(denied_objects=frozenset({"users"}))) as sb:
        result = run(config_for(sb), streams=["users", "lists"])
        routes = sb.stats()["routes"]
    assert result.error is None
    assert "users" not in result.records and result.records["lists"]
    assert routes["GET /api/3/users"] == 1 and routes["GET /api/3/users/me"] == 1


def test_a_bad_key_still_stops_at_once_with_the_key_message(no_deals, run, config_for) -> None:
    result = run(config_for(no_deals, api_key="wrong-key-42"), raise_errors=False)
    assert "rejected the API key" in str(result.error)
    assert "Settings -> Developer" in str(result.error)
    assert no_deals.stats()["total_requests"] == 1


def test_the_cli_exits_0_and_names_the_skipped_stream(no_deals, tmp_path, config_for) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(config_for(no_deals)))
    script = str(Path(sys.executable).with_name("tap-activecampaign"))
    proc = subprocess.run([script, "--config", str(config)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Skipping stream deals" in proc.stderr
    assert "Run summary: 5 stream(s) skipped" in proc.stderr
