"""Pure push rules: modes, field types, plans, bulk chunking (no I/O)."""

from __future__ import annotations

import pytest

from activecampaign_client import normalize_domain
from target_activecampaign import bulk, fields
from target_activecampaign import current as state
from target_activecampaign import rules as target_rules
from target_activecampaign.objects import accounts, contacts

FIELDS = fields.FieldCatalog([
    fields.FieldDef("1", "Lead Score", "number", "LEAD_SCORE"),
    fields.FieldDef("2", "Signup Date", "date", "SIGNUP_DATE"),
    fields.FieldDef("3", "Last Visit", "datetime", "LAST_VISIT"),
    fields.FieldDef("4", "Tier", "dropdown", "TIER", ("Gold", "Silver")),
    fields.FieldDef("5", "Interests", "listbox", "INTERESTS", ("ABM", "Email", "Ads")),
    fields.FieldDef("6", "Source", "text", "SOURCE"),
])
ACME = state.CurrentAccount("7", "Acme", "https://www.Acme.com/about", "acme.com")
OTHER = state.CurrentAccount("8", "Globex", "globex.com", "globex.com")


def refs(**kw: object) -> state.References:
    base: dict[str, object] = dict(
        fields=FIELDS, lists=state.NameIndex({"1": "Newsletter", "2": "Customers"}),
        tags=state.NameIndex({"10": "vip", "11": "abmatic-synced"}),
        automations=state.NameIndex({"20": "Welcome"}),
        accounts={"acme.com": ACME, "globex.com": OTHER},
        account_names={"7": "Acme", "8": "Globex"})
    base.update(kw)
    return state.References(**base)  # type: ignore[arg-type]


def current(**kw: object) -> state.CurrentContact:
    base: dict[str, object] = dict(id="5", email="ada@acme.com", firstName="Ada",
                                   lastName=None, phone="", tag_ids=set(), list_status={})
    base.update(kw)
    return state.CurrentContact(**base)  # type: ignore[arg-type]


RULES = target_rules.SyncRules()


@pytest.mark.parametrize(("mode", "record", "expected"), [
    ("fill", {"firstName": "Augusta"}, {}),  # AC holds Ada: fill keeps it
    ("overwrite", {"firstName": "Augusta"}, {"firstName": "Augusta"}),
    ("fill", {"lastName": "Lovelace"}, {"lastName": "Lovelace"}),  # AC empty: fill writes
    ("fill", {"phone": "+1 555"}, {"phone": "+1 555"}),  # "" counts as empty
    ("overwrite", {"firstName": "Ada"}, {}),  # same value: no write
    ("overwrite", {"firstName": None}, {}),  # null never erases by default
])
def test_mode_decides_which_standard_fields_are_written(mode: str, record: dict,
                                                       expected: dict) -> None:
    plan = contacts.plan_contact({"email": "Ada@Acme.com ", **record}, current(),
                          target_rules.SyncRules(default_mode=mode), refs())
    assert plan.standard == expected
    assert plan.action == ("update" if expected else "unchanged")


def test_clear_on_null_erases_only_named_fields() -> None:
    rules = target_rules.SyncRules(default_mode="overwrite",
                                   clear_on_null=frozenset({"firstName"}))
    plan = contacts.plan_contact({"email": "ada@acme.com", "firstName": None, "lastName": None},
                          current(lastName="L"), rules, refs())
    assert plan.standard == {"firstName": ""}


@pytest.mark.parametrize(("key", "value", "stored"), [
    ("Lead Score", 42, "42"), ("LEAD_SCORE", "42.50", "42.5"), ("%SIGNUP_DATE%", "2024-05-01",
                                                                  "2024-05-01"),
    ("last visit", "2024-05-01T14:30:00Z", "2024-05-01T14:30:00Z"), ("Tier", "gold", "Gold"),
    ("Interests", ["ABM", "ads"], "||ABM||Ads||"), ("Interests", "||Email||", "||Email||"),
    ("Source", 12, "12"),
])
def test_custom_fields_resolve_by_title_or_perstag_and_coerce(key: str, value: object,
                                                              stored: str) -> None:
    plan = contacts.plan_contact({"email": "new@x.io", "fields": {key: value}}, None, RULES, refs())
    assert plan.action == "create"
    assert list(plan.field_values.values()) == [stored]


@pytest.mark.parametrize(("key", "value", "words"), [
    ("Signup Date", "05/01/2024", ["'Signup Date'", "YYYY-MM-DD"]),
    ("Signup Date", "2024-02-30", ["'Signup Date'", "YYYY-MM-DD"]),
    ("Last Visit", "yesterday", ["'Last Visit'", "ISO 8601"]),
    ("Lead Score", "high", ["'Lead Score'", "number"]),
    ("Lead Score", True, ["'Lead Score'", "number"]),
    ("Tier", "Bronze", ["'Tier'", "'Gold'", "'Silver'"]),
    ("Interests", ["ABM", "TV"], ["'Interests'", "'TV'"]),
    ("Favourite Colour", "red", ["Unknown contact custom field 'Favourite Colour'"]),
])
def test_bad_custom_field_is_a_record_error_naming_the_field(key: str, value: object,
                                                             words: list[str]) -> None:
    plan = contacts.plan_contact({"email": "new@x.io", "fields": {key: value}}, None, RULES, refs())
    assert plan.action == "reject"
    for word in words:
        assert word in plan.message


@pytest.mark.parametrize(("stored", "new", "mode", "writes"), [
    ("42", 42.0, "overwrite", False), ("2024-05-01 00:00:00", "2024-05-01", "overwrite", False),
    ("||Ads||ABM||", ["ABM", "Ads"], "overwrite", False), ("10", 42, "fill", False),
    ("10", 42, "overwrite", True), (None, 42, "fill", True),
])
def test_custom_field_no_change_detection(stored: str | None, new: object, mode: str,
                                          writes: bool) -> None:
    fid = FIELDS.resolve("Signup Date" if "2024" in str(new) else "Lead Score")
    if isinstance(new, list):
        fid = FIELDS.resolve("Interests")
    assert fid is not None
    key = fid.title
    cur = current(field_values={fid.id: stored} if stored else {})
    plan = contacts.plan_contact({"email": "ada@acme.com", "fields": {key: new}}, cur,
                          target_rules.SyncRules(modes={f"fields.{key}": mode}), refs())
    assert bool(plan.field_values) is writes


@pytest.mark.parametrize(("url", "linked", "change", "warning"), [
    ("https://WWW.acme.com/pricing", None, "Acme", None),
    ("acme.com", "7", None, None),
    ("acme.com", "8", None, "Already linked to account 'Globex'"),
    ("initech.com", None, None, "No ActiveCampaign account has the domain 'initech.com'"),
    ("not a domain", None, None, "is not a website domain"),
])
def test_account_link_respects_one_account_per_contact(url: str, linked: str | None,
                                                       change: str | None,
                                                       warning: str | None) -> None:
    plan = contacts.plan_contact({"email": "ada@acme.com", "account_domain": url},
                          current(account_id=linked), RULES, refs())
    assert (plan.account.name if plan.account else None) == change
    assert any(warning in w for w in plan.warnings) if warning else not plan.warnings


def test_hard_bounced_contact_is_skipped_with_a_warning_message() -> None:
    plan = contacts.plan_contact({"email": "ada@acme.com", "lastName": "L"},
                          current(bounced_hard=True), RULES, refs())
    assert plan.action == "skip"
    assert "hard-bounced" in plan.message


@pytest.mark.parametrize(("record", "cur", "lists", "tags", "autos"), [
    ({"lists": ["newsletter"], "tags": ["vip", "hot"], "automations": ["Welcome"]},
     current(), ["1"], ["vip", "hot"], ["20"]),
    ({"lists": ["1"], "tags": ["VIP"], "automations": ["20"]},
     current(list_status={"1": "1"}, tag_ids={"10"}, automation_ids={"20"}), [], [], []),
    ({"lists": ["Newsletter"]}, current(list_status={"1": "2"}), [], [], []),  # unsubscribed
    ({}, current(), ["2"], [], []),  # default list applies when lists absent
])
def test_memberships_add_only_what_is_missing(record: dict, cur: state.CurrentContact,
                                              lists: list, tags: list, autos: list) -> None:
    plan = contacts.plan_contact({"email": "ada@acme.com", **record}, cur, RULES,
                          refs(default_list="Customers"))
    assert (plan.lists_to_add, plan.tags_to_add, plan.automations) == (lists, tags, autos)


def test_unknown_list_or_automation_rejects_the_record() -> None:
    for record in ({"lists": ["Nope"]}, {"automations": ["Nope"]}):
        plan = contacts.plan_contact({"email": "a@b.io", **record}, None, RULES, refs())
        assert plan.action == "reject" and "'Nope'" in plan.message


def test_sync_tag_marks_touched_contacts_only() -> None:
    r = refs(sync_tag="abmatic-synced")
    touched = contacts.plan_contact({"email": "ada@acme.com", "lastName": "L"}, current(), RULES, r)
    untouched = contacts.plan_contact({"email": "ada@acme.com", "firstName": "Ada"}, current(),
                               RULES, r)
    assert touched.tags_to_add == ["abmatic-synced"]
    assert untouched.action == "unchanged" and untouched.tags_to_add == []


@pytest.mark.parametrize(("ops", "cur", "action"), [
    ({"create": False}, None, "skip"), ({"update": False}, current(), "skip"),
    ({"update": False}, None, "create"), ({"create": False}, current(), "update"),
])
def test_operations_switch_create_and_update(ops: dict, cur: state.CurrentContact | None,
                                             action: str) -> None:
    rules = target_rules.sync_rules("contacts", {"x-sync": {"operations": ops}}, {})
    plan = contacts.plan_contact({"email": "ada@acme.com", "lastName": "L"}, cur, rules, refs())
    assert plan.action == action


def test_x_sync_overrides_settings_field_by_field() -> None:
    schema = {"x-sync": {"modes": {"firstName": "overwrite"}, "clear_on_null": ["phone"]}}
    rules = target_rules.sync_rules("contacts", schema, {"default_mode": "fill",
                                              "modes": {"firstName": "fill",
                                                        "lastName": "overwrite"},
                                              "operations": {"contacts": {"create": False}}})
    assert (rules.mode_for("firstName"), rules.mode_for("lastName"),
            rules.mode_for("phone")) == ("overwrite", "overwrite", "fill")
    assert rules.clears("phone") and not rules.create and rules.update


def test_bad_mode_in_settings_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="'sometimes'"):
        target_rules.sync_rules("contacts", {}, {"default_mode": "sometimes"})


def test_invalid_email_is_rejected() -> None:
    plan = contacts.plan_contact({"email": "not-an-email"}, None, RULES, refs())
    assert plan.action == "reject" and "Invalid email" in plan.message


def test_bulk_entry_carries_only_changes_and_links() -> None:
    plan = contacts.plan_contact({"email": "ada@acme.com", "firstName": "Augusta", "lastName": "L",
                           "fields": {"Lead Score": 3}, "tags": ["hot"], "lists": ["1"],
                           "account_domain": "acme.com"}, current(), RULES, refs())
    assert bulk.bulk_entry(plan) == {"email": "ada@acme.com", "last_name": "L",
                                  "fields": [{"id": 1, "value": "3"}], "tags": ["hot"],
                                  "subscribe": [{"listid": 1}], "customer_acct_name": "Acme"}


@pytest.mark.parametrize(("stored_url", "incoming"), [
    ("https://www.acme.com/", "acme.com"), ("http://ACME.com/about?x=1", "https://www.acme.com"),
    ("acme.com", "WWW.ACME.COM/"),
])
def test_account_matches_by_domain_whatever_the_url_form(stored_url: str, incoming: str) -> None:
    index = state.account_index(state.accounts_from_api([{"id": "3", "name": "Acme",
                                                  "accountUrl": stored_url}]))
    cur = index.get(normalize_domain(incoming) or "")
    plan = accounts.plan_account({"accountUrl": incoming, "name": "Acme"}, cur, RULES,
                          fields.FieldCatalog([]))
    assert plan.action == "unchanged"


def test_new_account_is_created_with_domain_as_name_when_name_missing() -> None:
    plan = accounts.plan_account({"accountUrl": "https://initech.com/x", "name": None}, None, RULES,
                          fields.FieldCatalog([]))
    assert plan.action == "create"
    assert plan.body == {"account": {"name": "initech.com",
                                     "accountUrl": "https://initech.com/x"}}


def test_account_custom_field_type_mismatch_rejects() -> None:
    catalog = fields.FieldCatalog([fields.FieldDef("9", "Employees", "number")])
    plan = accounts.plan_account({"accountUrl": "acme.com", "fields": {"Employees": "lots"}}, None,
                          RULES, catalog)
    assert plan.action == "reject" and "'Employees'" in plan.message


def test_duplicate_records_in_a_batch_are_merged() -> None:
    merged = target_rules.merge_duplicates(
        [{"email": "A@x.io", "firstName": "A", "tags": ["t1"]},
         {"email": "a@x.io", "lastName": "B", "tags": ["t2"], "firstName": None}],
        lambda r: r["email"].lower())
    assert merged == [{"email": "a@x.io", "firstName": "A", "lastName": "B",
                       "tags": ["t1", "t2"]}]


def test_contacts_from_page_reads_sideloads() -> None:
    page = {"contacts": [{"id": "5", "email": "Ada@Acme.com", "firstName": "Ada",
                          "bounced_hard": "1"}],
            "fieldValues": [{"contact": "5", "field": "1", "value": "7"}],
            "accountContacts": [{"id": "3", "contact": "5", "account": "7", "jobTitle": "CTO"}],
            "contactTags": [{"contact": "5", "tag": "10"}],
            "contactLists": [{"contact": "5", "list": "1", "status": "1"}]}
    (cur,) = state.contacts_from_page(page)
    assert (cur.email, cur.bounced_hard, cur.field_values, cur.account_id, cur.job_title,
            cur.tag_ids, cur.list_status) == ("ada@acme.com", True, {"1": "7"}, "7", "CTO",
                                              {"10"}, {"1": "1"})


@pytest.mark.parametrize(("record", "expected"), [
    ({"firstName": "A" * 256}, "'firstName' is 256 characters long"),
    ({"lastName": "Ab\x00c"}, "'lastName' contains the control character U+0000 at position 3"),
    ({"jobTitle": "CTO\x1b"}, "'jobTitle' contains the control character U+001B"),
])
def test_oversized_text_and_control_characters_are_rejected_naming_the_field(
        record: dict, expected: str) -> None:
    plan = contacts.plan_contact({"email": "a@b.io", **record}, None, target_rules.SyncRules(),
                                 refs())
    assert plan.action == "reject" and expected in plan.message


def test_unicode_tabs_and_newlines_are_not_control_character_errors() -> None:
    plan = contacts.plan_contact(
        {"email": "a@b.io", "firstName": "Zoë 王伟 😀", "lastName": "A\tB"},
        None, target_rules.SyncRules(), refs())
    assert plan.action == "create"
    fd = fields.FieldDef("9", "Notes", "textarea")
    assert fields.coerce_field_value(fd, "line one\nline two " + "x" * 300).startswith("line one\n")


def test_an_unknown_mode_in_x_sync_names_the_stream_and_field() -> None:
    with pytest.raises(target_rules.SyncRulesError) as err:
        target_rules.sync_rules("contacts", {"x-sync": {"modes": {"phone": "fil"}}}, {})
    assert "stream 'contacts' SCHEMA x-sync modes.phone: sync mode 'fil'" in str(err.value)
