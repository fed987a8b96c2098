"""Writes whose answer comes too late: ActiveCampaign carried them out, the target timed out.

Creating an account, a tag, an account link or an automation enrolment is not idempotent; a
blind retry of a timed-out create would make a second enrolment, or fail as a duplicate (the
record then reported failed and, with its file marked as pushed, never sent again).
"""

from __future__ import annotations

import threading
from typing import Any

from target_ac_testkit import run_target, singer

from activecampaign_client import ActiveCampaignSession

LATE = 0.45  # seconds the sandbox sleeps before carrying out the request
TIMEOUT = 0.3  # the target's request_timeout: the answer is too late, the write happens


def answer_first_posts_late(sandbox: Any) -> dict[str, int]:
    """The first POST of each route is carried out LATE seconds after it arrives."""
    seen: dict[str, int] = {}
    lock = threading.Lock()
    gate = sandbox._gate

    def late_gate(route: str) -> Any:
        verdict = gate(route)
        with lock:
            seen[route] = seen.get(route, 0) + 1
            if route.startswith("POST ") and seen[route] == 1 and verdict.action == "serve":
                verdict.latency = LATE
        return verdict

    sandbox._gate = late_gate
    return seen


def test_timed_out_creates_that_landed_are_not_made_twice(
    config: dict, api: ActiveCampaignSession, sandbox: Any
) -> None:
    automation = api.get("automations", {"limit": 1})["automations"][0]
    seen = answer_first_posts_late(sandbox)
    config = {**config, "request_timeout": TIMEOUT, "bulk_threshold": 100}
    messages = singer("accounts", [{"accountUrl": "https://late-co.com", "name": "Late Co"}])
    messages += singer("contacts", [
        {"email": "late@late-co.com", "firstName": "Late", "account_domain": "late-co.com",
         "jobTitle": "CTO", "tags": ["late-tag"], "automations": [automation["name"]]},
        {"email": "second@late-co.com", "tags": ["late-tag"]},
    ])
    result = run_target(config, messages)

    # each late create was found in ActiveCampaign, not sent again
    assert seen.get("POST /api/3/accounts") == seen.get("POST /api/3/contactAutomations") == 1
    accounts = api.get("accounts", {"search": "Late Co"})["accounts"]
    assert [a["name"] for a in accounts] == ["Late Co"]
    tags = api.get("tags", {"search": "late-tag"})["tags"]
    assert len(tags) == 1
    contact = api.get("contacts", {"email": "late@late-co.com"})["contacts"][0]
    enrolled = api.get(f"contacts/{contact['id']}/contactAutomations")["contactAutomations"]
    assert [str(e["automation"]) for e in enrolled] == [str(automation["id"])]
    links = api.get("accountContacts", {"filters[contact]": contact["id"]})["accountContacts"]
    assert [(str(x["account"]), x["jobTitle"]) for x in links] == [(accounts[0]["id"], "CTO")]
    assert result.counts("account") == {"created": 1}
    assert result.counts() == {"created": 2}
    assert result.summary["warnings"] == 0
    assert result.rejects == []


def test_record_failed_on_a_temporary_error_keeps_state_so_the_next_run_resends_it(
    config: dict, api: ActiveCampaignSession, sandbox: Any
) -> None:
    gate, calls = sandbox._gate, {"n": 0}

    def failing_gate(route: str) -> Any:  # the first contact/sync and its one retry: 503
        verdict = gate(route)
        if route == "POST /api/3/contact/sync" and verdict.action == "serve":
            calls["n"] += 1
            if calls["n"] <= 2:
                verdict.action, verdict.status = "error", 503
        return verdict

    sandbox._gate = failing_gate
    config = {**config, "max_retries": 1, "bulk_threshold": 100}
    records = [{"email": "unlucky@example.com", "firstName": "Un"},
               {"email": "lucky@example.com", "firstName": "Lu"}]
    result = run_target(config, singer("contacts", records, state={"bookmarks": {"x": 1}}),
                        expect_error=True)

    assert result.outcome("unlucky@example.com") == "failed"
    assert result.outcome("lucky@example.com") == "created"
    assert result.states == []  # the input is not marked as pushed
    assert "STATE was not advanced" in str(result.error)
    sandbox._gate = gate
    again = run_target(config, singer("contacts", records, state={"bookmarks": {"x": 1}}))
    assert again.outcome("unlucky@example.com") == "created"
    assert again.outcome("lucky@example.com") == "unchanged"
    assert again.states == [{"bookmarks": {"x": 1}}]
