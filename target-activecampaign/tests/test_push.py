"""Behaviour of a push against the sandbox: what a user sees in ActiveCampaign and the log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from target_ac_testkit import BOTH_KINDS, find_contact, run_target, singer, write_requests

from activecampaign_client import ActiveCampaignSession
from target_activecampaign.replay import main as replay_main


def make_field(api: ActiveCampaignSession, title: str, kind: str,
               options: list[str] | None = None) -> str:
    fid = str(api.post("fields", {"field": {"title": title, "type": kind}})["field"]["id"])
    if options:
        api.post("fieldOption/bulk", {"fieldOptions": [
            {"field": fid, "label": o, "value": o, "orderid": i, "isdefault": False}
            for i, o in enumerate(options)]})
    return fid


def existing_contact(api: ActiveCampaignSession, email: str, **fields: Any) -> str:
    body = {"contact": {"email": email, **{k: v for k, v in fields.items() if k != "values"}}}
    if fields.get("values"):
        body["contact"].pop("values", None)
        body["contact"]["fieldValues"] = [{"field": f, "value": v}
                                          for f, v in fields["values"].items()]
    return str(api.post("contact/sync", body)["contact"]["id"])


def test_new_contacts_are_created_and_logged(config: dict, api: ActiveCampaignSession) -> None:
    result = run_target(config, singer("contacts", [
        {"email": " New.Person@Example.com ", "firstName": "New", "lastName": "Person",
         "event": "revealed"},
        {"email": "second@example.com", "phone": "+1 555 0100"}]))
    created = find_contact(api, "new.person@example.com")
    assert created is not None and created["firstName"] == "New"
    line = result.by_key["new.person@example.com"][-1]
    assert (line["type"], line["message"], line["event"]) == ("success", "Created new record",
                                                             "revealed")
    assert line["changes"]["firstName"] == {"from": None, "to": "New"}
    assert result.counts() == {"created": 2}
    assert "created" in result.stderr and "API usage: requests=" in result.stderr


@pytest.mark.parametrize(("mode", "first", "score", "outcome"), [
    ("fill", "Ada", "10", "unchanged"),
    ("overwrite", "Augusta", "42", "updated"),
])
def test_fill_keeps_existing_values_and_overwrite_replaces_them(
        config: dict, api: ActiveCampaignSession, mode: str, first: str, score: str,
        outcome: str) -> None:
    fid = make_field(api, "Abm Score", "text")
    existing_contact(api, "ada@lovelace.io", firstName="Ada", values={fid: "10"})
    x_sync = {"operations": {"create": True, "update": True},
              "modes": {"firstName": mode, "lastName": "fill", "fields.Abm Score": mode}}
    result = run_target(config, singer("contacts", [
        {"email": "ada@lovelace.io", "firstName": "Augusta", "fields": {"Abm Score": 42}}],
        x_sync))
    contact = find_contact(api, "ada@lovelace.io")
    assert contact is not None
    assert (contact["firstName"], contact["_fieldValues"][fid]) == (first, score)
    assert result.outcome("ada@lovelace.io") == outcome


def test_fill_writes_where_activecampaign_is_empty(config: dict,
                                                   api: ActiveCampaignSession) -> None:
    existing_contact(api, "grace@hopper.io", firstName="Grace")
    result = run_target(config, singer("contacts", [
        {"email": "grace@hopper.io", "firstName": "G", "lastName": "Hopper"}]))
    contact = find_contact(api, "grace@hopper.io")
    assert contact is not None and (contact["firstName"], contact["lastName"]) == ("Grace",
                                                                                    "Hopper")
    assert result.by_key["grace@hopper.io"][-1]["changes"] == {
        "lastName": {"from": None, "to": "Hopper"}}


def test_null_never_erases_unless_clear_on_null(config: dict,
                                                api: ActiveCampaignSession) -> None:
    existing_contact(api, "kept@x.io", firstName="Kept", lastName="Cleared")
    run_target({**config, "default_mode": "overwrite", "clear_on_null": ["lastName"]},
               singer("contacts", [{"email": "kept@x.io", "firstName": None,
                                    "lastName": None}]))
    contact = find_contact(api, "kept@x.io")
    assert contact is not None and (contact["firstName"], contact["lastName"]) == ("Kept", "")


@pytest.mark.parametrize(("n", "path"), [(3, "sync"), (30, "bulk")])
def test_large_pushes_use_the_bulk_importer_and_small_ones_contact_sync(
        config: dict, api: ActiveCampaignSession, n: int, path: str) -> None:
    records = [{"email": f"p{i}@bulk.io", "firstName": f"P{i}", "tags": ["abm"]}
               for i in range(n)]
    result = run_target(config, singer("contacts", records))
    paths = result.summary["write_paths"]
    if path == "bulk":
        assert paths["bulk_requests"] == 1 and paths["sync_requests"] == 0
    else:
        assert paths["bulk_requests"] == 0 and paths["sync_requests"] == n
    assert result.counts() == {"created": n}
    for i in (0, n - 1):
        contact = find_contact(api, f"p{i}@bulk.io")
        assert contact is not None and contact["firstName"] == f"P{i}" and contact["_tags"]


@BOTH_KINDS
@pytest.mark.parametrize("n", [3, 30])
def test_rerun_of_the_same_input_makes_no_writes(config: dict, sandbox: Any,
                                                 api: ActiveCampaignSession, n: int) -> None:
    api.post("accounts", {"account": {"name": "Rerun Co", "accountUrl": "rerun.io"}})
    lst = api.get("lists", {"limit": 1})["lists"][0]
    records = [{"email": f"r{i}@rerun.io", "firstName": "R", "lastName": f"{i}",
                "tags": ["abm"], "lists": [lst["name"]], "fields": {"Lead Score": i},
                "account_domain": "rerun.io" if i % 2 else None} for i in range(n)]
    config = {**config, "sync_tag": "abmatic-synced"}
    first = run_target(config, singer("contacts", records))
    assert first.counts() == {"created": n}
    assert find_contact(api, "r1@rerun.io")["_lists"] == {str(lst["id"]): "1"}  # type: ignore
    assert write_requests(sandbox) > 0  # the counter sees the first run's writes
    sandbox.reset_stats()
    second = run_target(config, singer("contacts", records))
    assert second.counts() == {"unchanged": n}
    assert {line["message"] for line in second.activity if line.get("object") == "contact"} \
        == {"Synced successfully"}
    assert write_requests(sandbox) == 0


def test_unknown_custom_field_is_an_error_and_lands_in_rejects(
        config: dict, api: ActiveCampaignSession, tmp_path: Path) -> None:
    record = {"email": "who@x.io", "fields": {"Favourite Colour": "red"}}
    result = run_target(config, singer("contacts", [record, {"email": "fine@x.io"}]))
    line = result.by_key["who@x.io"][-1]
    assert line["type"] == "error" and "Unknown contact custom field 'Favourite Colour'" in \
        line["message"]
    assert find_contact(api, "who@x.io") is None and find_contact(api, "fine@x.io") is not None
    assert result.rejects[0]["record"] == record and result.rejects[0]["outcome"] == "rejected"
    assert result.counts() == {"created": 1, "rejected": 1}
    # after creating the field, the rejects file replays into a successful push
    make_field(api, "Favourite Colour", "text")
    replayed = tmp_path / "replay.singer"
    with replayed.open("w") as fh:
        replay_main([config["rejects_path"]], out=fh)
    msgs = [json.loads(x) for x in replayed.read_text().splitlines()]
    assert run_target(config, msgs).counts() == {"created": 1}


@pytest.mark.parametrize(("kind", "options", "value", "words"), [
    ("date", None, "01/05/2024", "expects YYYY-MM-DD"),
    ("datetime", None, "soon", "ISO 8601"),
    ("dropdown", ["Gold", "Silver"], "Bronze", "allowed options are 'Gold', 'Silver'"),
])
def test_field_type_mismatch_is_an_error_naming_the_field(
        config: dict, api: ActiveCampaignSession, kind: str, options: list[str] | None,
        value: str, words: str) -> None:
    make_field(api, "Abm Check", kind, options)
    result = run_target(config, singer("contacts", [{"email": "t@x.io",
                                                     "fields": {"Abm Check": value}}]))
    message = result.by_key["t@x.io"][-1]["message"]
    assert "'Abm Check'" in message and words in message
    assert find_contact(api, "t@x.io") is None


def test_hard_bounced_contact_is_reported_not_pushed(config: dict,
                                                     api: ActiveCampaignSession) -> None:
    bounced = next(c for c in api.get("contacts", {"limit": 100})["contacts"]
                   if str(c.get("bounced_hard")) == "1")
    result = run_target(config, singer("contacts", [{"email": bounced["email"],
                                                     "lastName": "Changed"}]))
    key = bounced["email"].strip().lower()
    assert result.by_key[key][-1]["type"] == "warning"
    assert "hard-bounced" in result.by_key[key][-1]["message"]
    after = find_contact(api, key)
    assert after is not None and after["lastName"] == bounced["lastName"]


def test_dry_run_changes_nothing_and_logs_field_changes(config: dict, sandbox: Any,
                                                       api: ActiveCampaignSession) -> None:
    existing_contact(api, "dry@x.io", firstName="Dry")
    sandbox.reset_stats()
    result = run_target({**config, "dry_run": True, "default_mode": "overwrite"}, [
        *singer("accounts", [{"accountUrl": "https://dryrun.example", "name": "Dry Run Co"}]),
        *singer("contacts", [{"email": "dry@x.io", "firstName": "Wet",
                              "account_domain": "dryrun.example"},
                             {"email": "new@dry.io", "firstName": "N"}])])
    assert write_requests(sandbox) == 0
    assert find_contact(api, "new@dry.io") is None
    line = result.by_key["dry@x.io"][-1]
    assert line["message"] == "Dry run: would update record" and line["dry_run"] is True
    assert line["changes"] == {"firstName": {"from": "Dry", "to": "Wet"},
                               "account": {"from": None, "to": "Dry Run Co"}}
    assert result.by_key["new@dry.io"][-1]["message"] == "Dry run: would create new record"
    assert "DRY RUN" in result.stderr


def test_max_records_pushes_a_sample_and_reports_the_rest(config: dict,
                                                          api: ActiveCampaignSession) -> None:
    records = [{"email": f"m{i}@max.io"} for i in range(5)]
    result = run_target({**config, "max_records": 2}, singer("contacts", records))
    assert result.counts() == {"created": 2, "skipped": 3}
    assert [r["record"]["email"] for r in result.rejects] == ["m2@max.io", "m3@max.io",
                                                              "m4@max.io"]
    assert "max_records=2" in result.by_key["m4@max.io"][-1]["message"]
    assert find_contact(api, "m4@max.io") is None


@pytest.mark.parametrize("stored_url", ["https://www.Zenith-ABM.com/about", "zenith-abm.com",
                                        "HTTP://zenith-abm.com/"])
def test_accounts_match_by_domain_and_contacts_link_to_them(
        config: dict, api: ActiveCampaignSession, stored_url: str) -> None:
    acc = api.post("accounts", {"account": {"name": "Zenith", "accountUrl": stored_url}})
    result = run_target(config, [
        *singer("accounts", [{"accountUrl": "zenith-abm.com", "name": "Zenith"},
                             {"accountUrl": "https://newco-abm.io/x", "name": "NewCo"}]),
        *singer("contacts", [{"email": "z@zenith-abm.com", "account_domain": "ZENITH-abm.com",
                              "jobTitle": "CMO"},
                             {"email": "n@newco-abm.io", "account_domain": "newco-abm.io"}])])
    assert result.outcome("zenith-abm.com") == "unchanged"
    assert result.outcome("newco-abm.io") == "created"
    accounts = api.get("accounts", {"search": "Zenith"})["accounts"]
    assert len([a for a in accounts if a["name"] == "Zenith"]) == 1
    z = find_contact(api, "z@zenith-abm.com")
    assert z is not None and z["_accounts"] == [acc["account"]["id"]] and \
        z["_jobTitles"] == ["CMO"]
    n = find_contact(api, "n@newco-abm.io")
    assert n is not None and len(n["_accounts"]) == 1


@BOTH_KINDS
def test_contact_linked_elsewhere_keeps_its_account_with_a_warning(
        config: dict, api: ActiveCampaignSession) -> None:
    first = api.post("accounts", {"account": {"name": "First Co", "accountUrl": "first.io"}})
    api.post("accounts", {"account": {"name": "Second Co", "accountUrl": "second.io"}})
    cid = existing_contact(api, "linked@first.io")
    api.post("accountContacts", {"accountContact": {"account": first["account"]["id"],
                                                    "contact": cid}})
    result = run_target(config, singer("contacts", [{"email": "linked@first.io",
                                                     "account_domain": "second.io"}]))
    warning = next(x for x in result.by_key["linked@first.io"] if x["type"] == "warning")
    assert "Already linked to account 'First Co'" in warning["message"]
    contact = find_contact(api, "linked@first.io")
    assert contact is not None and contact["_accounts"] == [first["account"]["id"]]


def test_duplicate_account_name_is_reported_as_error_duplicate(
        config: dict, api: ActiveCampaignSession) -> None:
    api.post("accounts", {"account": {"name": "Twin", "accountUrl": "twin-one.io"}})
    result = run_target(config, singer("accounts", [{"accountUrl": "twin-two.io",
                                                     "name": "Twin"}]))
    line = result.by_key["twin-two.io"][-1]
    assert line["type"] == "error" and line["message"].startswith("Error: duplicate")
    assert result.rejects[0]["record"]["accountUrl"] == "twin-two.io"


def test_tags_lists_automations_and_sync_tag_are_applied(
        config: dict, api: ActiveCampaignSession) -> None:
    automation = api.get("automations", {"limit": 1})["automations"][0]
    lst = api.get("lists", {"limit": 1})["lists"][0]
    result = run_target({**config, "sync_tag": "abmatic-synced"}, singer("contacts", [
        {"email": "nurture@x.io", "tags": ["abm-hot"], "lists": [lst["name"]],
         "automations": [automation["name"]]}]))
    assert result.outcome("nurture@x.io") == "created"
    contact = find_contact(api, "nurture@x.io")
    assert contact is not None
    tags = {t["id"]: t["tag"] for t in api.get("tags", {"limit": 100})["tags"]}
    assert {tags[t] for t in contact["_tags"]} == {"abm-hot", "abmatic-synced"}
    assert contact["_lists"] == {str(lst["id"]): "1"}
    enrolled = api.get(f"contacts/{contact['id']}/contactAutomations")["contactAutomations"]
    assert [str(e["automation"]) for e in enrolled] == [str(automation["id"])]


def test_default_list_applies_when_record_has_no_lists(config: dict,
                                                       api: ActiveCampaignSession) -> None:
    lst = api.get("lists", {"limit": 1})["lists"][0]
    run_target({**config, "default_list": lst["name"]},
               singer("contacts", [{"email": "deflist@x.io"}]))
    contact = find_contact(api, "deflist@x.io")
    assert contact is not None and contact["_lists"] == {str(lst["id"]): "1"}


def test_operations_off_skip_with_a_warning(config: dict, api: ActiveCampaignSession) -> None:
    existing_contact(api, "old@ops.io", firstName="Old")
    result = run_target(config, singer("contacts", [
        {"email": "old@ops.io", "lastName": "New"}, {"email": "new@ops.io"}],
        {"operations": {"create": False, "update": True}}))
    assert result.outcome("new@ops.io") == "skipped"
    assert result.outcome("old@ops.io") == "updated"
    assert find_contact(api, "new@ops.io") is None


def test_state_is_emitted_after_records_are_written(config: dict) -> None:
    result = run_target(config, singer("contacts", [{"email": "s@state.io"}],
                                       state={"bookmarks": {"contacts": 1}}))
    assert result.states == [{"bookmarks": {"contacts": 1}}]


def test_failing_drain_does_not_move_state(config: dict, tmp_path: Path) -> None:
    # Nothing listens on port 9 of loopback: every request fails after its retries.
    broken = {**config, "api_url": "http://127.0.0.1:9", "max_retries": 0}
    result = run_target(broken, singer("contacts", [{"email": "s@state.io"}],
                                       state={"bookmarks": {"contacts": 1}}),
                        expect_error=True)
    assert result.error is not None and result.states == []
    assert "Check the API URL format" in str(result.error)


def test_rejected_api_key_gives_a_clear_message_without_the_key(config: dict) -> None:
    result = run_target({**config, "api_key": "wrong-secret-123"},
                        singer("contacts", [{"email": "k@x.io"}]), expect_error=True)
    assert "rejected the API key" in str(result.error)
    assert "Settings -> Developer -> API Access" in str(result.error)
    log = Path(config["activity_log_path"])
    everything = result.stdout + result.stderr + str(result.error) + \
        (log.read_text() if log.exists() else "")
    assert "wrong-secret-123" not in everything


@BOTH_KINDS
def test_later_batches_of_a_run_see_what_earlier_bulk_batches_wrote(config: dict,
                                                                    sandbox: Any) -> None:
    records = [{"email": f"b{i}@batches.io", "firstName": "B", "tags": ["abm"]}
               for i in range(12)]
    result = run_target({**config, "batch_size_rows": 12},
                        singer("contacts", records + records))
    assert result.counts() == {"created": 12, "unchanged": 12}
    assert result.summary["write_paths"]["bulk_requests"] == 1


def test_bulk_created_contacts_are_read_back_for_automations(
        config: dict, api: ActiveCampaignSession) -> None:
    automation = api.get("automations", {"limit": 1})["automations"][0]
    records = [{"email": f"a{i}@auto.io", "automations": [automation["id"]]} for i in range(12)]
    result = run_target(config, singer("contacts", records))
    assert result.counts() == {"created": 12}
    contact = find_contact(api, "a11@auto.io")
    assert contact is not None
    enrolled = api.get(f"contacts/{contact['id']}/contactAutomations")["contactAutomations"]
    assert [str(e["automation"]) for e in enrolled] == [str(automation["id"])]
