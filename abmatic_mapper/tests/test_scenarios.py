"""Singer scenarios (.singer fixtures) through the mapper, both directions."""

from __future__ import annotations

import json

import jsonschema
import pytest

IMPORT_CONFIG = {"custom_fields": {
    "contacts": {"Lead Score": {"key": "engagement_score", "mode": "overwrite"}},
    "accounts": {"Main Phone": "phone"},
}}


@pytest.fixture
def imported(mapper_run):
    return mapper_run("import_full.singer", IMPORT_CONFIG)


def test_import_emits_only_abmatic_streams(imported):
    assert imported.streams() == {"accounts", "contacts", "opportunities"}


@pytest.mark.parametrize(("stream", "key"), [("contacts", "work_email"),
                                             ("accounts", "website_domain"),
                                             ("opportunities", "activecampaign_id")])
def test_import_schemas_are_valid_with_the_model_key(imported, stream, key):
    message = imported.schemas[stream]
    jsonschema.Draft7Validator.check_schema(message["schema"])
    assert message["key_properties"] == [key]
    validator = jsonschema.Draft7Validator(message["schema"])
    for record in imported.records(stream):
        assert not list(validator.iter_errors(record))


def test_contact_joins_its_account_link_lists_and_tags(imported):
    ann = imported.record("contacts", "work_email", "ann@acme.com")
    assert (ann["company_name"], ann["job_title"], ann["account_domain"]) == \
        ("Acme Inc", "CTO", "acme.com")
    assert ann["lists"] == ["Newsletter"]  # the unsubscribed list (status 2) is not there
    assert ann["tags"] == ["vip"]
    assert ann["engagement_score"] == 42
    assert ann["custom_fields"] == {"favorite_color": "blue"}
    assert ann["phone"] is None
    assert ann["created_at"] == "2024-01-01T14:00:00Z"


def test_contact_without_account_link_has_no_company(imported):
    carl = imported.record("contacts", "work_email", "carl@beta.io")
    assert carl["company_name"] is None and carl["lists"] == [] and carl["tags"] == []


def test_account_domain_is_normalized(imported):
    acme = imported.record("accounts", "website_domain", "acme.com")
    assert acme["phone"] == "+1 555 0100"
    assert acme["custom_fields"] == {"industry": "Tools"}


def test_deal_becomes_an_opportunity(imported):
    opp = imported.record("opportunities", "activecampaign_id", "300")
    assert opp == {"activecampaign_id": "300", "name": "Big deal", "amount": 1234.56,
                   "currency": "USD", "status": "won", "pipeline": "Sales",
                   "stage": "Proposal", "account_domain": "acme.com",
                   "contact_email": "ann@acme.com", "custom_fields": {"forecast": "Q3"},
                   "created_at": "2024-01-02T14:00:00Z", "updated_at": "2024-01-04T14:00:00Z"}


def test_records_without_a_valid_key_are_rejected_visibly(imported):
    rejects = imported.rejects()
    assert [(r["stream"], r["id"], r["field"], r["reason"]) for r in rejects] == [
        ("accounts", "11", "accountUrl", "missing website domain"),
        ("contacts", "6", "email", "invalid email: has no @-sign"),
    ]
    assert rejects[1]["record"]["email"] == "not-an-email"
    counts = imported.mapper.stats.streams
    assert counts["contacts"]["rejected"] == 1 and counts["accounts"]["rejected"] == 1
    assert counts["contacts"]["out"] == 2


def test_state_passes_through_untouched_after_the_mapped_data(imported):
    kinds = [(m["type"], m.get("stream")) for m in imported.messages]
    states = [i for i, (kind, _) in enumerate(kinds) if kind == "STATE"]
    assert len(states) == 3
    last_contact = max(i for i, k in enumerate(kinds) if k == ("RECORD", "contacts"))
    first_opp = min(i for i, k in enumerate(kinds) if k == ("RECORD", "opportunities"))
    assert states[0] < last_contact < states[1] < first_opp < states[2]
    assert imported.messages[states[1]] == {
        "type": "STATE",
        "value": {"bookmarks": {"contacts": {"replication_key_value": "2024-01-05T00:00:00Z"}}}}


def test_duplicates_are_merged_per_key_and_flushed_before_state(mapper_run):
    run = mapper_run("import_dupes.singer", {"dedupe_buffer_keys": 2})
    dana = run.record("contacts", "work_email", "dana@acme.com")
    assert (dana["first_name"], dana["last_name"], dana["phone"]) == ("Dana", "New",
                                                                     "+1 555 0001")
    assert run.mapper.stats.streams["contacts"]["merged"] == 1
    kinds = [m["type"] if m["type"] != "RECORD" else m["record"]["work_email"]
             for m in run.messages if m["type"] != "SCHEMA"]
    assert kinds == ["dana@acme.com", "eve@acme.com", "STATE",
                     "fay@acme.com", "gus@acme.com", "hal@acme.com", "STATE"]


def test_dont_sync_fields_never_leave_the_mapper(mapper_run):
    run = mapper_run("import_full.singer", {"field_modes": {"contacts.phone": "dont_sync",
                                                            "contacts.lists": "dont_sync"}})
    assert "phone" not in run.schemas["contacts"]["schema"]["properties"]
    assert all("phone" not in r and "lists" not in r for r in run.records("contacts"))


def test_unmapped_custom_fields_can_be_ignored(mapper_run):
    run = mapper_run("import_full.singer", {"unmapped_custom_fields": "ignore"})
    ann = run.record("contacts", "work_email", "ann@acme.com")
    assert ann["custom_fields"] == {}


@pytest.fixture
def pushed(mapper_run):
    return mapper_run("push_contacts.singer", {
        "direction": "push",
        "custom_fields": {"contacts": {"Lead Source": "lead_source",
                                       "Lead Score": {"key": "engagement_score",
                                                      "mode": "overwrite"}},
                          "accounts": {"Industry": "industry"}},
        "operations": {"contacts": {"create": False}},
        "field_modes": {"contacts.last_name": "dont_sync"},
    })


@pytest.mark.parametrize(("stream", "key"), [("contacts", "email"), ("accounts", "accountUrl")])
def test_push_schemas_are_valid_with_the_ac_key(pushed, stream, key):
    message = pushed.schemas[stream]
    jsonschema.Draft7Validator.check_schema(message["schema"])
    assert message["key_properties"] == [key]


def test_push_carries_sync_annotation(pushed):
    sync = pushed.schemas["contacts"]["schema"]["x-sync"]
    assert sync["operations"] == {"create": False, "update": True}
    assert sync["modes"]["firstName"] == "fill"
    assert sync["modes"]["fields.Lead Score"] == "overwrite"
    assert "lastName" not in sync["modes"]


def test_push_contact_shape(pushed):
    ann = pushed.record("contacts", "email", "ann@acme.com")
    assert ann == {"email": "ann@acme.com", "firstName": "Ann", "phone": None,
                   "jobTitle": "CTO", "account_domain": "acme.com",
                   "fields": {"Lead Source": "web", "Lead Score": 87},
                   "lists": ["Newsletter"], "tags": ["abm"], "automations": ["Welcome"],
                   "event": "revealed"}
    assert "lastName" not in pushed.schemas["contacts"]["schema"]["properties"]


def test_push_tolerates_missing_optional_fields(pushed):
    assert pushed.record("contacts", "email", "bob@beta.io") == {"email": "bob@beta.io",
                                                                "fields": None}


def test_push_account_shape(pushed):
    assert pushed.records("accounts") == [{"accountUrl": "acme.com", "name": "Acme Inc",
                                           "fields": {"Industry": "Tools"}}]


def test_push_rejects_missing_keys_and_drops_other_streams(pushed):
    assert [(r["stream"], r["reason"]) for r in pushed.rejects()] == [
        ("accounts", "missing website_domain"), ("contacts", "missing work_email")]
    assert "opportunities" not in pushed.streams()


def test_push_warns_once_about_dropped_and_unmapped_fields(pushed, caplog):
    warned = pushed.mapper._warned
    assert ("contacts", "field:visitor_id") in warned
    assert ("contacts", "custom:secret_note") in warned
    assert ("accounts", "field:phone") in warned


def test_rejects_replay_through_the_mapper_once_fixed(mapper_run, imported):
    from abmatic_mapper.replay import replay_lines

    lines = imported.rejects_path.read_text().replace("not-an-email", "bob@beta.io")
    messages = [json.loads(m) for m in replay_lines(lines.splitlines())]
    run = mapper_run(messages)
    assert run.record("contacts", "work_email", "bob@beta.io")["first_name"] == "Bob"


def _schema(stream: str) -> dict:
    return {"type": "SCHEMA", "stream": stream, "schema": {"type": "object", "properties": {}},
            "key_properties": ["id"]}


def test_currency_custom_fields_are_imported_in_major_units(mapper_run):
    """spec §11: currency custom fields are in cents at ActiveCampaign; Abmatic amounts are
    major units (abmatic-model), so 1250000 cents of Annual Revenue is 12500.0."""
    run = mapper_run([
        _schema("account_custom_fields"),
        {"type": "RECORD", "stream": "account_custom_fields",
         "record": {"id": "3", "fieldLabel": "Annual Revenue", "fieldType": "currency"}},
        {"type": "RECORD", "stream": "account_custom_fields",
         "record": {"id": "4", "fieldLabel": "Employees", "fieldType": "number"}},
        _schema("deal_custom_fields"),
        {"type": "RECORD", "stream": "deal_custom_fields",
         "record": {"id": "1", "fieldLabel": "Setup Fee", "fieldType": "currency"}},
        _schema("accounts"),
        {"type": "RECORD", "stream": "accounts", "record": {
            "id": "10", "name": "Acme", "accountUrl": "acme.com",
            "custom_fields": {"Annual Revenue": "1250000", "Employees": "120"}}},
        _schema("deals"),
        {"type": "RECORD", "stream": "deals", "record": {
            "id": "300", "title": "Big deal", "value": "100", "currency": "usd",
            "custom_fields": {"Setup Fee": "19999"}}},
    ])
    acme = run.record("accounts", "website_domain", "acme.com")
    assert acme["custom_fields"] == {"annual_revenue": 12500, "employees": "120"}
    deal = run.record("opportunities", "activecampaign_id", "300")
    assert deal["custom_fields"] == {"setup_fee": 199.99}


def test_the_sdk_hooks_return_the_mapped_messages(tmp_path):
    """Driven message by message through the public map_*_message hooks (no reader)."""
    from abmatic_mapper.mapper import AbmaticMapper

    mapper = AbmaticMapper(config={"rejects_path": str(tmp_path / "r.jsonl")})
    schema = {"type": "SCHEMA", "stream": "contacts", "schema": {}, "key_properties": ["id"]}
    assert [m.to_dict()["stream"] for m in mapper.map_schema_message(schema)] == ["contacts"]
    record = {"type": "RECORD", "stream": "contacts",
              "record": {"id": "1", "email": "Ada@Acme.com", "firstName": "Ada"}}
    assert list(mapper.map_record_message(record)) == []  # buffered until a flush
    state = {"type": "STATE", "value": {"bookmarks": {}}}
    out = [m.to_dict() for m in mapper.map_state_message(state)]
    assert [m["type"] for m in out] == ["RECORD", "STATE"]
    assert out[0]["record"]["work_email"] == "ada@acme.com"
    assert out[1] == state
