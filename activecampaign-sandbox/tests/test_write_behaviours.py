"""Account behaviours the target's writes depend on (spec §3, §5, §11)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from activecampaign_sandbox import Sandbox
from activecampaign_sandbox.__main__ import behaviour_from, parse_args
from activecampaign_sandbox.behaviour import AccountBehaviour

sys.path.insert(0, str(Path(__file__).parent))  # sandbox_client (pytest runs importlib mode)
from sandbox_client import Client, account


@pytest.fixture
def no_sideloads() -> Iterator[Client]:
    with account(sideloads=False) as api:
        yield api


@pytest.fixture
def ac() -> Iterator[Client]:
    with account() as api:
        yield api


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


def _import(api: Client, contacts: list[dict[str, Any]]) -> requests.Response:
    return api.post("import/bulk_import", {"contacts": contacts})


def _completed(api: Client, batch_id: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = api.get("import/info", batchId=batch_id).json()
        if info["status"] == "completed":
            return info
        time.sleep(0.02)
    raise AssertionError("import never completed")


def test_the_bulk_rate_limit_400_gives_its_reasons_as_strings():
    """spec §3, §11: over 100 multi-contact imports a minute the importer answers 400 "Rate
    limit exceeded." whose failureReasons is a list of strings; the validation 400's
    failureReasons is a list of objects."""
    with Sandbox(seed="empty", rate_limit=None, api_key="k", bulk_limits=(20, 2)) as sb:
        api = Client(sb)
        two = [{"email": "a@x.io"}, {"email": "b@x.io"}]
        assert [_import(api, two).status_code for _ in range(2)] == [200, 200]
        limited = _import(api, two)
        assert limited.status_code == 400
        assert limited.json() == {"success": 0, "message": "Rate limit exceeded.",
                                  "failureReasons": ["Up to 100 imports may be requested per "
                                                     "minute. Please wait before trying again."]}
        invalid = _import(api, [{"email": "a@x.io"}, {"first_name": "no email"}])
        assert invalid.status_code == 400
        assert invalid.json()["failureReasons"] == [
            {"contact": 1, "failureReason": "Each contact needs an email."}]


def test_the_importer_never_resubscribes_a_contact_who_unsubscribed(ac):
    """spec §11: the bulk importer never re-subscribes a contact who unsubscribed from a list;
    it still subscribes contacts new to the list."""
    lst = ac.get("lists", limit=1).json()["lists"][0]["id"]
    gone = ac.post("contact/sync", {"contact": {"email": "gone@x.io"}}).json()["contact"]["id"]
    ac.post("contactLists", {"contactList": {"list": lst, "contact": gone, "status": 2}})
    queued = _import(ac, [{"email": "gone@x.io", "first_name": "Gone",
                           "subscribe": [{"listid": int(lst)}]},
                          {"email": "fresh@x.io", "subscribe": [{"listid": int(lst)}]}])
    _completed(ac, queued.json()["batchId"])
    lists = ac.get(f"contacts/{gone}/contactLists").json()["contactLists"]
    assert [(x["list"], x["status"]) for x in lists] == [(lst, "2")]
    assert ac.get(f"contacts/{gone}").json()["contact"]["firstName"] == "Gone"
    fresh = ac.get("contacts", email="fresh@x.io").json()["contacts"][0]["id"]
    lists = ac.get(f"contacts/{fresh}/contactLists").json()["contactLists"]
    assert [(x["list"], x["status"]) for x in lists] == [(lst, "1")]


def test_a_busy_import_queue_processes_batches_one_at_a_time():
    """spec §11: imports are queued (GET /import/bulk_import lists outstanding batches) and
    can take minutes on a busy account; import_queue_seconds=S completes one batch every S
    seconds, later batches waiting behind earlier ones."""
    assert behaviour_from(parse_args(["--import-queue-seconds", "2"])).import_queue_seconds == 2
    with Sandbox(seed="empty", rate_limit=None, api_key="k", import_delay=0.01,
                 behaviour=AccountBehaviour(import_queue_seconds=0.4)) as sb:
        api = Client(sb)
        started = time.monotonic()
        ids = [_import(api, [{"email": f"q{i}@x.io"}, {"email": f"r{i}@x.io"}]).json()[
            "batchId"] for i in range(3)]
        overview = api.get("import/bulk_import").json()
        assert overview["outstanding"][0]["batches"] == 3
        done_at = []
        for batch_id in ids:
            _completed(api, batch_id)
            done_at.append(time.monotonic() - started)
        assert done_at[0] >= 0.35 and done_at[2] >= 1.15  # 0.4 s apart, in order


def _currency_field(api: Client) -> str:
    meta = api.get("accountCustomFieldMeta").json()["accountCustomFieldMeta"]
    return next(m["id"] for m in meta if m["fieldType"] == "currency")


def test_a_currency_value_needs_field_currency_and_is_stored_in_cents(ac):
    """spec §5.4, §11: currency custom fields are in cents and need fieldCurrency on POST/PUT
    /accounts fields[] and on the custom-field data endpoints; reads return cents. Without
    fieldCurrency the answer is the documented 422 shape (field_missing); a value that is not
    whole cents is refused too (field_invalid)."""
    fid = _currency_field(ac)
    missing = ac.post("accounts", {"account": {"name": "Cents Co", "fields": [
        {"customFieldId": int(fid), "fieldValue": "123456"}]}})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["code"] == "field_missing"
    assert missing.json()["errors"][0]["source"]["pointer"] == \
        "/data/attributes/fields/0/fieldCurrency"
    assert ac.get("accounts", search="Cents Co").json()["accounts"] == []
    not_cents = ac.post("accounts", {"account": {"name": "Cents Co", "fields": [
        {"customFieldId": int(fid), "fieldValue": "1234.56", "fieldCurrency": "USD"}]}})
    assert (not_cents.status_code, not_cents.json()["errors"][0]["code"]) == (
        422, "field_invalid")
    created = ac.post("accounts", {"account": {"name": "Cents Co", "fields": [
        {"customFieldId": int(fid), "fieldValue": "123456", "fieldCurrency": "EUR"}]}})
    assert created.status_code == 201
    aid = created.json()["account"]["id"]
    data = ac.get("accountCustomFieldData", **{"filters[customerAccountId]": aid}).json()
    (datum,) = [d for d in data["accountCustomFieldData"] if str(d["customFieldId"]) == fid]
    assert (datum["fieldValue"], datum["fieldCurrency"]) == ("123456", "EUR")
    update = ac.put(f"accounts/{aid}", {"account": {"fields": [
        {"customFieldId": int(fid), "fieldValue": "99"}]}})
    assert update.status_code == 422
    direct = ac.post("accountCustomFieldData", {"accountCustomFieldDatum": {
        "customerAccountId": aid, "customFieldId": fid, "fieldValue": "5"}})
    assert direct.status_code == 422
