"""Account behaviours the target's writes depend on (spec §3, §5, §11)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from activecampaign_sandbox import Sandbox
from activecampaign_sandbox.__main__ import behaviour_from, parse_args
from activecampaign_sandbox.behaviour import AccountBehaviour


class Api:
    """requests against one sandbox with the key and /api/3 prefix filled in."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.http = requests.Session()
        self.http.headers["Api-Token"] = sb.api_key

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(f"{self.sb.base_url}/api/3/{path}", params=params, timeout=10)

    def post(self, path: str, body: object) -> requests.Response:
        return self.http.post(f"{self.sb.base_url}/api/3/{path}", json=body, timeout=10)

    def put(self, path: str, body: object) -> requests.Response:
        return self.http.put(f"{self.sb.base_url}/api/3/{path}", json=body, timeout=10)


def account(**behaviour: Any) -> Iterator[Api]:
    with Sandbox(seed="demo", contacts=50, rate_limit=None, api_key="test-key",
                 import_delay=0.05, behaviour=AccountBehaviour(**behaviour)) as sandbox:
        api = Api(sandbox)
        yield api
        api.http.close()


@pytest.fixture
def no_sideloads() -> Iterator[Api]:
    yield from account(sideloads=False)


@pytest.fixture
def ac() -> Iterator[Api]:
    yield from account()


def test_an_account_that_ignores_include_answers_without_the_sideload_keys(no_sideloads):
    """spec §11: include= on GET /contacts is undocumented; an account may ignore it, and the
    answer then lacks the keys (absent, not empty arrays)."""
    body = no_sideloads.get("contacts", include="fieldValues,contactLists,contactTags,"
                            "accountContacts", limit=10).json()
    assert len(body["contacts"]) == 10
    for key in ("fieldValues", "contactLists", "contactTags", "accountContacts"):
        assert key not in body
    # the related rows stay readable the other ways (spec §5.1 sub-lists, §5.3 filters)
    cid = body["contacts"][0]["id"]
    assert "contactLists" in no_sideloads.get(f"contacts/{cid}/contactLists").json()
    assert no_sideloads.get("accountContacts", **{"filters[contact]": cid}).status_code == 200


def test_the_no_sideloads_flag_makes_that_account():
    """spec §11: the CLI option --no-sideloads selects the account that ignores include=."""
    assert behaviour_from(parse_args(["--no-sideloads"])).sideloads is False
    assert behaviour_from(parse_args([])).sideloads is True


def test_enrolling_into_an_inactive_automation_answers_the_permanent_403(ac):
    """spec §5.6, §11: POST /contactAutomations into an automation that is not active answers
    403 {"message":"Could not create SubscriberSeries"} (a refusal, not a bad key); the seed
    has inactive automations (status "2") next to active ones."""
    automations = ac.get("automations", limit=100).json()["automations"]
    inactive = [a for a in automations if a["status"] == "2"]
    active = [a for a in automations if a["status"] == "1"]
    assert len(inactive) == 2 and active
    cid = ac.post("contact/sync", {"contact": {"email": "enrol@x.io"}}).json()["contact"]["id"]
    refused = ac.post("contactAutomations", {"contactAutomation": {
        "contact": cid, "automation": inactive[0]["id"]}})
    assert (refused.status_code, refused.json()) == (
        403, {"message": "Could not create SubscriberSeries"})
    assert ac.get(f"contacts/{cid}/contactAutomations").json()["contactAutomations"] == []
    ok = ac.post("contactAutomations", {"contactAutomation": {
        "contact": cid, "automation": active[0]["id"]}})
    assert ok.status_code == 201
