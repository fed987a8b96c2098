"""Pure record transforms, parametrized over the model's fields."""

from __future__ import annotations

import pytest

import abmatic_mapper.model as model
from abmatic_mapper.mapping import (
    AccountLink,
    build_plan,
    import_account,
    import_contact,
    import_deal,
    push_field_problem,
    push_record,
    push_schema_for,
    x_sync,
)
from abmatic_mapper.settings import parse_settings
from abmatic_mapper.values import cents_to_amount, status_name, to_utc

TAP_CONTACT = {
    "id": "5", "email": " Ann@Acme.COM ", "firstName": "Ann", "lastName": "Lee",
    "phone": "", "cdate": "2024-01-01T09:00:00-05:00", "udate": "2024-01-03T09:00:00-05:00",
    "bounced_hard": 0, "custom_fields": {"Lead Score": "42", "Favorite Color": "blue"},
}
EXPECTED_CONTACT = {
    "work_email": "ann@acme.com", "first_name": "Ann", "last_name": "Lee", "phone": None,
    "company_name": "Acme", "job_title": "CTO", "account_domain": "acme.com",
    "lists": ["Newsletter"], "tags": ["vip"],
    "custom_fields": {"favorite_color": "blue"}, "engagement_score": 42,
    "activecampaign_id": "5", "created_at": "2024-01-01T14:00:00Z",
    "updated_at": "2024-01-03T14:00:00Z",
}
CONFIG = {"custom_fields": {"contacts": {"Lead Score": "engagement_score"}}}


def _contact() -> dict:
    plan = build_plan(parse_settings(CONFIG), "contacts")
    return import_contact(TAP_CONTACT, plan, AccountLink("Acme", "CTO", "acme.com"),
                          ["Newsletter"], ["vip"])


@pytest.mark.parametrize("field", [f.name for f in model.import_fields("contacts")])
def test_import_contact_field(field):
    assert _contact()[field] == EXPECTED_CONTACT[field]


def test_import_contact_produces_exactly_the_model_fields():
    assert set(_contact()) == {f.name for f in model.import_fields("contacts")}


TAP_ACCOUNT = {"id": "10", "name": " Acme Inc ", "accountUrl": "https://www.Acme.com/about",
               "createdTimestamp": "2024-01-01T09:00:00-05:00", "updatedTimestamp": None,
               "custom_fields": {"Main Phone": "+1 555 0100", "Industry": ""}}
EXPECTED_ACCOUNT = {"website_domain": "acme.com", "company_name": "Acme Inc",
                    "phone": "+1 555 0100", "custom_fields": {"industry": None},
                    "activecampaign_id": "10", "created_at": "2024-01-01T14:00:00Z",
                    "updated_at": None}


@pytest.mark.parametrize("field", [f.name for f in model.import_fields("accounts")])
def test_import_account_field(field):
    plan = build_plan(parse_settings({"custom_fields": {"accounts": {"Main Phone": "phone"}}}),
                      "accounts")
    assert import_account(TAP_ACCOUNT, plan)[field] == EXPECTED_ACCOUNT[field]


TAP_DEAL = {"id": 300, "title": "Big deal", "value": 123456, "currency": "usd", "status": 2,
            "group": "1", "stage": "4", "account": "10", "contact": "5",
            "cdate": "2024-01-02T09:00:00-05:00", "mdate": "2024-01-04T09:00:00-05:00",
            "custom_fields": {"Forecast": "Q3"}}
EXPECTED_OPPORTUNITY = {"activecampaign_id": "300", "name": "Big deal", "amount": 1234.56,
                        "currency": "USD", "status": "lost", "pipeline": "Sales",
                        "stage": "Proposal", "account_domain": "acme.com",
                        "contact_email": "ann@acme.com", "custom_fields": {"forecast": "Q3"},
                        "created_at": "2024-01-02T14:00:00Z",
                        "updated_at": "2024-01-04T14:00:00Z"}


@pytest.mark.parametrize("field", [f.name for f in model.import_fields("opportunities")])
def test_import_deal_field(field):
    plan = build_plan(parse_settings({}), "opportunities")
    opp = import_deal(TAP_DEAL, plan, "Sales", "Proposal", "acme.com", "ann@acme.com")
    assert opp[field] == EXPECTED_OPPORTUNITY[field]


@pytest.mark.parametrize(("cents", "amount"), [(123456, 1234.56), ("100000", 1000), (None, None),
                                               (5, 0.05)])
def test_deal_cents_become_major_units(cents, amount):
    assert cents_to_amount(cents) == amount


@pytest.mark.parametrize(("status", "name"), [(0, "open"), (1, "won"), (2, "lost"),
                                              ("1", "won"), (9, None)])
def test_deal_status_names(status, name):
    assert status_name(status) == name


@pytest.mark.parametrize(("value", "utc"), [
    ("2024-01-01T09:00:00-05:00", "2024-01-01T14:00:00Z"),
    ("2024-01-01T14:00:00Z", "2024-01-01T14:00:00Z"),
    ("2024-01-01T14:00:00", "2024-01-01T14:00:00Z"),
    ("", None), (None, None), ("garbage", None),
])
def test_timestamps_are_utc(value, utc):
    assert to_utc(value) == utc


ABMATIC_CONTACT = {
    "work_email": " Ann@Acme.COM", "first_name": "Ann", "last_name": "Lee", "phone": "",
    "company_name": "Acme", "job_title": "CTO", "account_domain": "https://acme.com",
    "custom_fields": {"lead_source": "web"}, "engagement_score": 87,
    "add_to_lists": ["Newsletter"], "add_tags": "abm", "start_automations": ["Welcome"],
    "event": "revealed",
}
EXPECTED_PUSH = {"email": "ann@acme.com", "firstName": "Ann", "lastName": "Lee", "phone": None,
                 "jobTitle": "CTO", "account_domain": "acme.com",
                 "fields": {"Lead Source": "web", "Lead Score": 87}, "lists": ["Newsletter"],
                 "tags": ["abm"], "automations": ["Welcome"], "event": "revealed"}
PUSH_CONFIG = {"direction": "push", "custom_fields": {"contacts": {
    "Lead Source": "lead_source",
    "Lead Score": {"key": "engagement_score", "mode": "overwrite"}}}}


@pytest.mark.parametrize("field", list(EXPECTED_PUSH))
def test_push_contact_field(field):
    plan = build_plan(parse_settings(PUSH_CONFIG), "contacts")
    result = push_record("contacts", ABMATIC_CONTACT, plan)
    assert result.record[field] == EXPECTED_PUSH[field]
    assert result.ignored_fields == ["company_name"]


def test_push_schema_annotates_modes_operations_and_clear_on_null():
    settings = parse_settings({**PUSH_CONFIG, "operations": {"contacts": {"create": False}},
                               "field_modes": {"contacts.phone": "dont_sync",
                                               "contacts.first_name": "overwrite"},
                               "clear_on_null": ["contacts.engagement_score"]})
    plan = build_plan(settings, "contacts")
    sync = x_sync("contacts", plan)
    assert sync == {
        "operations": {"create": False, "update": True},
        "modes": {"firstName": "overwrite", "lastName": "fill", "jobTitle": "fill",
                  "account_domain": "fill", "fields.Lead Source": "fill",
                  "fields.Lead Score": "overwrite"},
        "clear_on_null": ["fields.Lead Score"],
    }
    assert "phone" not in push_schema_for("contacts", plan)["properties"]


@pytest.mark.parametrize(("stream", "record", "expected"), [
    ("contacts", {"work_email": "a@b.io", "first_name": {"x": 1}},
     ("first_name", "first_name must be text, got an object")),
    ("contacts", {"work_email": ["a@b.io"]}, ("work_email", "work_email must be text, got a list")),
    ("contacts", {"work_email": "a@b.io", "engagement_score": "high"},
     ("engagement_score", "engagement_score must be a number, got a string")),
    ("contacts", {"work_email": "a@b.io", "add_tags": [["x"]]},
     ("add_tags", "add_tags must be a list of names, got a list holding objects, lists or "
                  "booleans")),
    ("accounts", {"website_domain": "a.io", "custom_fields": "x"},
     ("custom_fields", "custom_fields must be an object, got a string")),
])
def test_push_field_problem_names_the_field_of_the_wrong_shape(stream, record, expected):
    assert push_field_problem(stream, record) == expected


def test_push_values_of_the_right_shape_pass_and_numbers_become_text():
    record = {"work_email": "a@b.io", "phone": 3125550101, "add_tags": "vip",
              "engagement_score": "87", "custom_fields": {}}
    assert push_field_problem("contacts", record) is None
    plan = build_plan(parse_settings({"direction": "push"}), "contacts")
    assert push_record("contacts", record, plan).record["phone"] == "3125550101"


def test_push_streams_are_named_as_activecampaign_objects():
    """One list of pushed streams (model.PUSH_STREAMS), each an object of the client's table."""
    from activecampaign_client import OBJECTS

    assert set(model.PUSH_STREAMS) == {s for s, m in model.STREAMS.items() if m.pushable}
    assert all(stream in OBJECTS for stream in model.PUSH_STREAMS)
    assert set(model.PUSH_NAMES) == set(model.PUSH_STREAMS)
