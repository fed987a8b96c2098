"""Incremental memberships (docs/CONTRACTS.md): partial rows for the contacts of an
incremental run, the complete tables of a reconciliation run, against a DuckDB store."""

from __future__ import annotations

import json
import logging
from typing import Any

import duckdb
import pytest

from abmatic_mapper.memberships import limited_to_sources, same_value

STORE_COLUMNS = (
    "work_email VARCHAR, first_name VARCHAR, last_name VARCHAR, phone VARCHAR, "
    "company_name VARCHAR, job_title VARCHAR, account_domain VARCHAR, lists VARCHAR, "
    "tags VARCHAR, custom_fields VARCHAR, engagement_score DOUBLE, activecampaign_id VARCHAR, "
    "created_at TIMESTAMP, updated_at TIMESTAMP, _sdc_batched_at TIMESTAMP"
)
# As target-duckdb wrote them after a first import (arrays and objects as JSON text).
STORE_CONTACTS = [
    ("ann@acme.com", "Ann", "Lee", "+1 555 0001", "Acme Inc", "CTO", "acme.com",
     ["Newsletter"], ["vip"], {"color": "blue"}, 42.0, "5"),
    ("bob@beta.io", "Bob", None, None, "Beta Ltd", "CEO", "beta.io",
     ["Newsletter", "Webinar"], ["vip", "hot"], None, None, "7"),
    ("carl@gamma.org", "Carl", None, None, None, None, None, ["Newsletter"], [], None, 7.0, "8"),
    ("dora@delta.net", "Dora", None, None, None, None, None, ["Webinar"], [], None, None, None),
]
STORE_ACCOUNTS = [("acme.com", "Acme Inc", "20"), ("beta.io", "Beta Ltd", "21")]


@pytest.fixture
def store(tmp_path) -> dict[str, Any]:
    path = tmp_path / "abmatic.duckdb"
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE contacts ({STORE_COLUMNS})")
    for row in STORE_CONTACTS:
        values = [*row[:7], json.dumps(row[7]), json.dumps(row[8]),
                  None if row[9] is None else json.dumps(row[9]), row[10], row[11]]
        con.execute("INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "'2024-01-01 00:00:00', '2024-02-01 00:00:00', NULL)", values)
    con.execute("CREATE TABLE accounts (website_domain VARCHAR, company_name VARCHAR, "
                "activecampaign_id VARCHAR)")
    con.executemany("INSERT INTO accounts VALUES (?, ?, ?)", STORE_ACCOUNTS)
    con.close()
    return {"store_url": f"duckdb:///{path}"}


def schema(stream: str) -> dict[str, Any]:
    return {"type": "SCHEMA", "stream": stream, "schema": {"type": "object", "properties": {}},
            "key_properties": ["id"]}


def rec(stream: str, **fields: Any) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": fields}


def activate(stream: str) -> dict[str, Any]:
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": VERSION}


def state(**bookmarks: Any) -> dict[str, Any]:
    return {"type": "STATE", "value": {"bookmarks": bookmarks}}


def contact(cid: str, email: str, first: str = "X") -> dict[str, Any]:
    return rec("contacts", id=cid, email=email, firstName=first, lastName=None, phone=None,
               cdate="2024-01-01T00:00:00Z", udate="2024-03-01T00:00:00Z", custom_fields=None)


NAMES = [schema("lists"), rec("lists", id="1", name="Newsletter"),
         rec("lists", id="2", name="Webinar"), rec("lists", id="3", name="Customers"),
         schema("tags"), rec("tags", id="7", tag="vip"), rec("tags", id="8", tag="hot")]


def incremental(*contacts: tuple[dict[str, Any], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """An incremental run: no ACTIVATE_VERSION; each changed contact's rows just before it."""
    out = [*NAMES, schema("account_contacts"), schema("contact_lists"), schema("contact_tags"),
           schema("contacts")]
    for record, rows in contacts:
        out += [*rows, record]
    return [*out, state(contacts={"replication_key_value": "2024-03-01T00:00:00Z"})]


VERSION = 1709251200  # ACTIVATE_VERSION: the tap's start, 2024-03-01T00:00:00Z
DONE = "2024-03-01T00:05:00+00:00"  # reconciled_at: when a full read finished


def full_tables(links: list[dict], lists: list[dict], tags: list[dict],
                contacts: list[dict] | None = None,
                done: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """A reconciliation run: each membership table announced and read in full, the tap's
    (cumulative) STATE recording the finished read after each, then the contacts the tap
    found changed (maybe none). ``done`` overrides a stream's ``reconciled_at``."""
    bookmarks: dict[str, Any] = {}
    out: list[dict[str, Any]] = [*NAMES]
    for stream, rows in (("account_contacts", links), ("contact_lists", lists),
                         ("contact_tags", tags)):
        bookmarks[stream] = {"reconciled_at": (done or {}).get(stream, DONE), "pages": 1}
        out += [schema(stream), activate(stream), *rows, state(**bookmarks)]
    bookmarks["contacts"] = {"replication_key_value": "2024-03-01T00:00:00Z"}
    return [*out, schema("contacts"), *(contacts or []), state(**bookmarks)]


def link(cid: str, account: str, job: str | None = None) -> dict[str, Any]:
    return rec("account_contacts", id=f"l{cid}", contact=cid, account=account, jobTitle=job)


def on_list(cid: str, list_id: str, status: int = 1) -> dict[str, Any]:
    return rec("contact_lists", id=f"{cid}-{list_id}", contact=cid, list=list_id, status=status)


def tagged(cid: str, tag_id: str) -> dict[str, Any]:
    return rec("contact_tags", id=f"{cid}-{tag_id}", contact=cid, tag=tag_id)


# Today's memberships of the store contacts, as complete tables (nothing changed).
UNCHANGED_LINKS = [link("5", "20", "CTO"), link("7", "21", "CEO")]
UNCHANGED_LISTS = [on_list("5", "1"), on_list("7", "1"), on_list("7", "2"), on_list("8", "1")]
UNCHANGED_TAGS = [tagged("5", "7"), tagged("7", "7"), tagged("7", "8")]


# ---------------------------------------------------------------------------- incremental
def test_changed_contact_takes_its_new_lists_tags_and_company(mapper_run, store):
    run = mapper_run(incremental((contact("8", "carl@gamma.org"),
                                  [link("8", "21", "CFO"), on_list("8", "2"), on_list("8", "3"),
                                   tagged("8", "8")])), store)
    carl = run.record("contacts", "work_email", "carl@gamma.org")
    assert carl["lists"] == ["Webinar", "Customers"]  # Newsletter left: overwrite
    assert carl["tags"] == ["hot"]
    # Account 21 was not in this run (unchanged): its name comes from the store.
    assert (carl["company_name"], carl["job_title"], carl["account_domain"]) == \
        ("Beta Ltd", "CFO", "beta.io")
    assert carl["first_name"] == "Carl"  # fill: the store already had one


def test_incremental_run_leaves_contacts_not_in_it_untouched(mapper_run, store):
    run = mapper_run(incremental((contact("8", "carl@gamma.org"), [on_list("8", "2")])), store)
    assert [r["work_email"] for r in run.records("contacts")] == ["carl@gamma.org"]
    assert run.mapper.stats.streams["contacts"]["reconciled"] == 0
    assert [m["type"] for m in run.messages][-1] == "STATE"


def test_changed_contact_without_rows_is_on_no_list_any_more(mapper_run, store):
    run = mapper_run(incremental((contact("7", "bob@beta.io"), [link("7", "21", "CEO")])), store)
    bob = run.record("contacts", "work_email", "bob@beta.io")
    assert bob["lists"] == [] and bob["tags"] == []


def test_incremental_company_change_respects_fill_and_overwrite(mapper_run, store):
    moved = incremental((contact("5", "ann@acme.com"), [link("5", "21", "VP")]))
    kept = mapper_run(moved, store).record("contacts", "work_email", "ann@acme.com")
    assert kept["company_name"] == "Acme Inc"  # fill (default): the store had a company
    over = mapper_run(moved, {**store, "field_modes": {
        "contacts.company_name": "overwrite", "contacts.account_domain": "overwrite",
        "contacts.job_title": "overwrite"}}).record("contacts", "work_email", "ann@acme.com")
    assert (over["company_name"], over["account_domain"], over["job_title"]) == \
        ("Beta Ltd", "beta.io", "VP")


def test_row_after_its_contact_is_reported(mapper_run, store, caplog):
    lines = incremental((contact("8", "carl@gamma.org"), []))
    lines.insert(-1, on_list("8", "2"))  # after carl's RECORD
    with caplog.at_level(logging.WARNING):
        mapper_run(lines, store)
    assert "contact_lists row 8-2 (contact id 8) arrived after that contact's record" in \
        caplog.text


# ---------------------------------------------------------------------------- reconciliation
def test_contact_who_left_a_list_loses_it_with_the_rest_of_its_row_kept(mapper_run, store):
    lists = [r for r in UNCHANGED_LISTS if r["record"]["id"] != "7-2"]  # bob left Webinar
    run = mapper_run(full_tables(UNCHANGED_LINKS, lists, UNCHANGED_TAGS), store)
    assert [r["work_email"] for r in run.records("contacts")] == ["bob@beta.io"]
    bob = run.record("contacts", "work_email", "bob@beta.io")
    assert bob == {
        "work_email": "bob@beta.io", "first_name": "Bob", "last_name": None, "phone": None,
        "company_name": "Beta Ltd", "job_title": "CEO", "account_domain": "beta.io",
        "lists": ["Newsletter"], "tags": ["vip", "hot"], "custom_fields": None,
        "engagement_score": None, "activecampaign_id": "7",
        "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-02-01T00:00:00Z"}
    # a full row: every column of the SCHEMA (the loaders null any column a row lacks)
    assert set(bob) == set(run.schemas["contacts"]["schema"]["properties"])
    assert run.mapper.stats.streams["contacts"]["reconciled"] == 1


def test_membership_added_without_a_contact_change_reaches_the_store(mapper_run, store):
    run = mapper_run(full_tables(UNCHANGED_LINKS, [*UNCHANGED_LISTS, on_list("8", "3")],
                                 [*UNCHANGED_TAGS, tagged("8", "7")]), store)
    carl = run.record("contacts", "work_email", "carl@gamma.org")
    assert carl["lists"] == ["Newsletter", "Customers"] and carl["tags"] == ["vip"]
    assert carl["engagement_score"] == 7 and carl["first_name"] == "Carl"


def test_unsubscribed_and_untagged_contact_is_on_no_list_and_has_no_tag(mapper_run, store):
    lists = [r for r in UNCHANGED_LISTS if r["record"]["contact"] != "5"] + \
        [on_list("5", "1", status=2)]
    tags = [r for r in UNCHANGED_TAGS if r["record"]["contact"] != "5"]
    ann = mapper_run(full_tables(UNCHANGED_LINKS, lists, tags), store).record(
        "contacts", "work_email", "ann@acme.com")
    assert ann["lists"] == [] and ann["tags"] == []
    assert ann["custom_fields"] == {"color": "blue"} and ann["engagement_score"] == 42


def test_nothing_changed_emits_nothing(mapper_run, store):
    run = mapper_run(full_tables(UNCHANGED_LINKS, UNCHANGED_LISTS, UNCHANGED_TAGS), store)
    assert run.records("contacts") == []
    assert "ACTIVATE_VERSION" not in {m["type"] for m in run.messages}


def test_lost_company_is_kept_under_fill(mapper_run, store):
    links = [link("7", "21", "CEO")]  # ann's account link is gone
    run = mapper_run(full_tables(links, UNCHANGED_LISTS, UNCHANGED_TAGS), store)
    assert run.records("contacts") == []  # fill (the default) never erases


def test_lost_company_is_removed_under_overwrite_with_clear_on_null(mapper_run, store):
    fields = ("company_name", "job_title", "account_domain")
    config = {**store, "field_modes": {f"contacts.{f}": "overwrite" for f in fields},
              "clear_on_null": [f"contacts.{f}" for f in fields]}
    run = mapper_run(full_tables([link("7", "21", "CEO")], UNCHANGED_LISTS, UNCHANGED_TAGS),
                     config)
    ann = run.record("contacts", "work_email", "ann@acme.com")
    assert (ann["company_name"], ann["job_title"], ann["account_domain"]) == (None, None, None)
    assert ann["lists"] == ["Newsletter"] and ann["first_name"] == "Ann"
    assert [r["work_email"] for r in run.records("contacts")] == ["ann@acme.com"]


def test_lists_under_fill_or_dont_sync_are_not_reconciled(mapper_run, store):
    lists = [r for r in UNCHANGED_LISTS if r["record"]["id"] != "7-2"]
    for mode in ("fill", "dont_sync"):
        run = mapper_run(full_tables(UNCHANGED_LINKS, lists, UNCHANGED_TAGS),
                         {**store, "field_modes": {"contacts.lists": mode}})
        assert run.records("contacts") == [], mode


def test_contacts_of_this_run_are_not_reconciled_from_the_store(mapper_run, store):
    lists = [on_list("5", "1"), on_list("8", "1"), on_list("7", "3")]  # bob: Customers only
    run = mapper_run(full_tables(UNCHANGED_LINKS, lists, UNCHANGED_TAGS,
                                 [contact("7", "bob@beta.io", "Robert")]), store)
    bob = run.record("contacts", "work_email", "bob@beta.io")  # once, from the tap's record
    assert bob["lists"] == ["Customers"] and bob["first_name"] == "Bob"


def test_rejected_contact_of_this_run_is_not_reconciled(mapper_run, store):
    lists = [r for r in UNCHANGED_LISTS if r["record"]["id"] != "7-2"]
    run = mapper_run(full_tables(UNCHANGED_LINKS, lists, UNCHANGED_TAGS,
                                 [contact("7", "not-an-email")]), store)
    assert run.records("contacts") == []
    assert [r["id"] for r in run.rejects()] == ["7"]


def test_update_off_skips_the_reconciliation(mapper_run, store):
    lists = [r for r in UNCHANGED_LISTS if r["record"]["id"] != "7-2"]
    run = mapper_run(full_tables(UNCHANGED_LINKS, lists, UNCHANGED_TAGS),
                     {**store, "operations": {"contacts": {"update": False}}})
    assert run.records("contacts") == []
    assert run.mapper.stats.streams["contacts"]["skipped_update_off"] == 1


def test_state_waits_for_the_reconciliation_rows(mapper_run, store):
    lists = [r for r in UNCHANGED_LISTS if r["record"]["id"] != "7-2"]
    run = mapper_run(full_tables(UNCHANGED_LINKS, lists, UNCHANGED_TAGS), store)
    kinds = [(m["type"], m.get("stream")) for m in run.messages]
    assert kinds[-2:] == [("RECORD", "contacts"), ("STATE", None)]
    states = [m for m in run.messages if m["type"] == "STATE"]
    assert len(states) == 1 and states[0]["value"]["bookmarks"]["contacts"]  # the latest one


def test_table_cut_short_removes_nothing(mapper_run, store):
    """The tap stopped inside contact_lists (no later stream): the table is not complete."""
    lines = [*NAMES, schema("contact_lists"), activate("contact_lists"), on_list("5", "1")]
    run = mapper_run(lines, store)
    assert run.records("contacts") == []


def test_table_whose_read_did_not_finish_removes_nothing(mapper_run, store):
    """contact_lists was announced, then skipped (a permission 403, spec §11): its STATE still
    holds the previous run's reconciled_at, so its few rows are no complete table."""
    lines = full_tables(UNCHANGED_LINKS, [on_list("5", "1")], UNCHANGED_TAGS,
                        done={"contact_lists": "2024-02-28T00:00:00+00:00"})
    run = mapper_run(lines, store)
    assert run.records("contacts") == []
    assert run.mapper.tables.complete == {"account_contacts", "contact_tags"}


def test_import_source_run_is_not_reconciled(mapper_run, store):
    lists = [on_list("8", "1")]  # the source's members only
    lines = full_tables([], lists, [])
    lines[-1]["value"]["bookmarks"]["contacts"] = {"partitions": [
        {"context": {"source": "listid", "source_id": "3"},
         "replication_key_value": "2024-03-01T00:00:00Z"}]}
    run = mapper_run(lines, store)
    assert run.records("contacts") == []
    assert run.messages[-1]["type"] == "STATE"


def test_without_store_nothing_is_reconciled_or_held(mapper_run):
    run = mapper_run(full_tables(UNCHANGED_LINKS, [], UNCHANGED_TAGS))
    assert run.records("contacts") == []
    assert sum(m["type"] == "STATE" for m in run.messages) == 4


def test_helpers():
    assert same_value("lists", ["a", "b"], ["b", "a"]) and same_value("tags", None, [])
    assert not same_value("lists", ["a"], ["a", "b"])
    assert limited_to_sources({"bookmarks": {"contacts": {"partitions": [
        {"context": {"source": "tagid", "source_id": "1"}}]}}})
    assert not limited_to_sources({"bookmarks": {"contacts": {"replication_key_value": "x"}}})
