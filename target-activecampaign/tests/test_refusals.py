"""Permanent refusals are per record: ActiveCampaign refusing one follow-up write (an
automation that is not active, spec §5.6/§11) is a warning for that record, never retried,
never a reason to stop the run or hold STATE."""

from __future__ import annotations

from typing import Any

import pytest
from target_ac_testkit import find_contact, run_target, singer

from activecampaign_client import ActiveCampaignSession

REFUSED = "Could not create SubscriberSeries"


@pytest.mark.parametrize("n", [4, 12])  # contact/sync path, bulk import path
def test_an_inactive_automation_is_a_warning_per_record_and_state_moves(
        config: dict, sandbox: Any, api: ActiveCampaignSession, n: int) -> None:
    automations = api.get("automations", {"limit": 100})["automations"]
    inactive = next(a for a in automations if a["status"] == "2")
    active = next(a for a in automations if a["status"] == "1")
    records = [{"email": f"e{i}@enrol.io", "firstName": "E", "tags": ["abm"],
                "automations": [inactive["name"], active["name"]]} for i in range(n)]
    sandbox.reset_stats()
    result = run_target(config, singer("contacts", records, state={"bookmarks": {"c": n}}))

    assert result.error is None and result.states == [{"bookmarks": {"c": n}}]
    assert result.counts() == {"created": n}
    for i in range(n):
        warnings = [x["message"] for x in result.by_key[f"e{i}@enrol.io"]
                    if x["type"] == "warning"]
        assert warnings == [f"Not enrolled in automation {inactive['name']!r}: ActiveCampaign "
                            f"refused it (HTTP 403: {REFUSED}); not retried."]
    assert [(r["outcome"], r["record"]["email"]) for r in result.rejects] == [
        ("refused", f"e{i}@enrol.io") for i in range(n)]
    assert REFUSED in result.rejects[0]["reason"]
    routes = sandbox.stats()["routes"]
    assert routes["POST /api/3/contactAutomations"] == 2 * n  # each tried once, none retried
    assert result.summary["api_usage"]["retries"] == 0
    contact = find_contact(api, f"e{n - 1}@enrol.io")
    assert contact is not None and contact["_tags"]
    enrolled = api.get(f"contacts/{contact['id']}/contactAutomations")["contactAutomations"]
    assert [str(e["automation"]) for e in enrolled] == [str(active["id"])]


def test_a_refused_enrolment_is_tried_again_by_a_replay_and_costs_nothing_else(
        config: dict, sandbox: Any, api: ActiveCampaignSession, tmp_path: Any) -> None:
    from target_activecampaign.replay import replay_messages

    inactive = next(a for a in api.get("automations", {"limit": 100})["automations"]
                    if a["status"] == "2")
    first = run_target(config, singer("contacts", [
        {"email": "again@enrol.io", "automations": [inactive["name"]]}]))
    lines = [__import__("json").dumps(r) for r in first.rejects]
    sandbox.store["automations"].rows[int(inactive["id"])]["status"] = "1"  # user activates it
    sandbox.reset_stats()
    second = run_target(config, list(replay_messages(lines, {"refused"})))
    assert second.outcome("again@enrol.io") == "updated" and second.rejects == []
    writes = {r: n for r, n in sandbox.stats()["routes"].items() if not r.startswith("GET")}
    assert writes == {"POST /api/3/contactAutomations": 1}
