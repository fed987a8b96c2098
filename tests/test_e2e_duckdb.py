"""End to end, embedded store: the `import` and `push` jobs of meltano.yml, run with
`meltano run` against an in-process sandbox, into DuckDB (sandbox environment).

One scenario (module fixture) runs the jobs in order; each test checks one behaviour of it:
  import #1 (full) -> import #2 (nothing changed) -> 3 contacts touched, import #3
  -> import-list -> a contact's lists/tags/company changed and its udate bumped, import #4
  -> memberships removed without a udate bump, import #5 with the reconciliation due
  push #1 -> push #2 (files unchanged) -> push #3 with --full-refresh (everything resent)
1,200 contacts with batch_size_rows 500 put the contacts in three DuckDB batches.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from e2e_helpers import (
    DUCKDB_PY,
    Project,
    change_memberships,
    emails,
    expected_rows,
    field_value,
    membership_requests,
    names_of,
    outcomes,
    remove_memberships,
    scalar,
    store_counts,
    store_memberships,
    touch,
    visitor_files,
)

from activecampaign_sandbox import Sandbox

pytestmark = pytest.mark.e2e

CONTACTS = 1200
IMPORT_STATE = "sandbox:tap-activecampaign-to-target-duckdb"


@pytest.fixture(scope="module")
def scenario(
    meltano_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    with Sandbox(seed="demo", contacts=CONTACTS, rate_limit=None, api_key="e2e-key") as sb:
        project = Project.create(
            tmp_path_factory.mktemp("duckdb-project"), sb, TARGET_DUCKDB_BATCH_SIZE_ROWS="500"
        )
        db = str(project.output / "abmatic.duckdb")
        s: dict[str, Any] = {"sb": sb, "project": project, "db": db}

        def counts() -> dict[str, int]:
            return store_counts(DUCKDB_PY, db)

        s["expected1"] = expected_rows(sb)
        s["import1"] = project.run("import")
        s["counts1"] = counts()
        s["state1"] = project.state(IMPORT_STATE)
        s["import2"] = project.run("import")
        s["counts2"] = counts()
        s["touched"] = [c for c in sb.store.objects("contacts")[10:13]]
        touch(sb, s["touched"])
        s["import3"] = project.run("import")
        s["counts3"] = counts()
        s["members3"] = store_memberships(DUCKDB_PY, db)
        s["import_list"] = project.run("import-list")
        s["counts_list"] = counts()
        s["members_list"] = store_memberships(DUCKDB_PY, db)
        s["distinct_emails"] = scalar(
            DUCKDB_PY, db, "select count(distinct lower(work_email)) from contacts"
        )
        # Incremental memberships: changed with the contact, then removed behind its back.
        s["changed"] = change_memberships(sb)
        sb.reset_stats()
        s["import4"] = project.run("import")
        s["routes4"] = sb.stats()["routes"]
        s["members4"] = store_memberships(DUCKDB_PY, db)
        s["removed"] = remove_memberships(sb, s["changed"])
        project.env["TAP_ACTIVECAMPAIGN_MEMBERSHIP_RECONCILE_HOURS"] = "0"
        s["import5"] = project.run("import")
        del project.env["TAP_ACTIVECAMPAIGN_MEMBERSHIP_RECONCILE_HOURS"]
        s["members5"] = store_memberships(DUCKDB_PY, db)
        s["counts5"] = counts()

        s["visitors"] = visitor_files(project, sb)
        s["emails0"] = emails(sb)
        s["push1"] = project.run("push")
        s["activity1"] = project.activity()
        s["emails1"] = emails(sb)
        s["push2"] = project.run("push")
        s["activity2"] = project.activity()
        s["emails2"] = emails(sb)
        s["push3"] = project.run("--full-refresh", "push")
        s["activity3"] = project.activity()
        s["emails3"] = emails(sb)
        s["state_ids"] = project.state_ids()
        yield s


def test_import_lands_every_contact_account_and_deal(scenario: dict[str, Any]) -> None:
    assert scenario["counts1"] == scenario["expected1"]


def test_duckdb_store_loads_1000_plus_rows_over_several_batches(scenario: dict[str, Any]) -> None:
    assert scenario["counts1"]["contacts"] >= 1000
    assert scenario["import1"].count("Loading 500 rows into") >= 2  # several batches
    assert scenario["distinct_emails"] == scenario["counts1"]["contacts"]


def test_import_state_is_saved_with_contact_bookmarks(scenario: dict[str, Any]) -> None:
    bookmarks = scenario["state1"]["singer_state"]["bookmarks"]
    assert "contacts" in bookmarks


def test_second_import_is_incremental_and_duplicates_nothing(scenario: dict[str, Any]) -> None:
    assert scenario["import1"].summary("import", "contacts")["in"] == CONTACTS
    assert scenario["import2"].summary("import", "contacts")["in"] <= 5
    assert scenario["counts2"] == scenario["counts1"]


def test_import_after_changes_reads_only_the_changed_contacts(scenario: dict[str, Any]) -> None:
    read = scenario["import3"].summary("import", "contacts")["in"]
    assert len(scenario["touched"]) <= read <= len(scenario["touched"]) + 5
    assert scenario["counts3"] == scenario["counts1"]


def test_list_source_imports_only_that_lists_contacts_with_its_own_state(
    scenario: dict[str, Any],
) -> None:
    read = scenario["import_list"].summary("import", "contacts")["in"]
    assert 0 < read < CONTACTS / 2
    assert scenario["counts_list"] == scenario["counts1"]  # upserts, no new rows
    assert "sandbox:tap-activecampaign--list-to-target-duckdb" in scenario["state_ids"]


def test_changed_contacts_lists_tags_and_company_reach_the_store_in_the_same_run(
    scenario: dict[str, Any],
) -> None:
    changed, before, after = scenario["changed"], scenario["members_list"], scenario["members4"]
    lists, tags, company, job, domain = after[changed["email"]]
    assert changed["list"] in lists and changed["list"] not in before[changed["email"]][0]
    assert changed["tag"] in tags
    assert (company, job, domain) == (changed["company"], "Head of E2E", changed["domain"])
    # the sandbox sideloads: the memberships came with the contacts page, no request of their own
    assert membership_requests(scenario["routes4"]) == {}
    assert scenario["import4"].summary("import", "contacts")["in"] <= 5  # the changed one


def test_incremental_import_leaves_other_contacts_memberships_alone(
    scenario: dict[str, Any],
) -> None:
    before, after = scenario["members_list"], scenario["members4"]
    others = set(before) - {scenario["changed"]["email"]}
    assert {e: after[e] for e in others} == {e: before[e] for e in others}


def test_list_source_import_does_not_clear_other_contacts_memberships(
    scenario: dict[str, Any],
) -> None:
    # import-list reads the membership tables of the list's members only: no reconciliation
    assert scenario["members_list"] == scenario["members3"]


def test_reconciliation_removes_memberships_that_disappeared(scenario: dict[str, Any]) -> None:
    changed, removed = scenario["changed"], scenario["removed"]
    before, after = scenario["members4"], scenario["members5"]
    lists, tags, company, _job, _domain = after[changed["email"]]
    assert changed["list"] not in lists and changed["tag"] not in tags
    assert company == changed["company"]  # other columns kept
    assert removed["other_left"] in before[removed["other"]][0]
    assert removed["other_left"] not in after[removed["other"]][0]
    assert after[removed["other"]][2:] == before[removed["other"]][2:]
    untouched = set(before) - {changed["email"], removed["other"]}
    assert {e: after[e] for e in untouched} == {e: before[e] for e in untouched}
    assert scenario["counts5"] == scenario["counts1"]
    assert scenario["import5"].summary("import", "contacts").get("reconciled", 0) >= 1


def test_import_reads_the_store_before_target_duckdb_locks_it(scenario: dict[str, Any]) -> None:
    # The mapper reads the DuckDB file (fill values) while target-duckdb waits for its input.
    assert f"Read {CONTACTS} existing contacts from the store" in scenario["import2"].output
    assert "Could not set lock" not in scenario["import2"].output


def test_push_creates_new_visitors_once_and_updates_existing_contacts(
    scenario: dict[str, Any],
) -> None:
    before, after = scenario["emails0"], scenario["emails1"]
    for email in scenario["visitors"]["new"]:
        assert before[email] == 0 and after[email] == 1
    assert sum(after.values()) == sum(before.values()) + 2
    assert outcomes(scenario["activity1"]) == {
        ("account", "created"): 1,
        ("contact", "created"): 2,
        ("contact", "updated"): 2,
    }


def test_push_fill_keeps_existing_values_and_overwrite_replaces_them(
    scenario: dict[str, Any],
) -> None:
    sb, a, b = scenario["sb"], scenario["visitors"]["a"], scenario["visitors"]["b"]
    now_a = sb.store["contacts"].get(a["id"])
    assert now_a["firstName"] == a["firstName"] != "Changed"  # fill: AC had a first name
    assert now_a["phone"] == "+1 312 555 0199"  # fill: AC's phone was empty
    assert field_value(sb, a["id"], "Lead Score") == "99"  # overwrite (meltano.yml)
    assert field_value(sb, b["id"], "Lead Score") == "42"
    assert sb.store["contacts"].get(b["id"])["firstName"] == b["firstName"]


def test_push_applies_list_tag_and_automation_membership(scenario: dict[str, Any]) -> None:
    sb, v = scenario["sb"], scenario["visitors"]
    ada = sb.store.contact_by_email("ada.visitor@e2e-newco.com")
    assert v["list"] in names_of(sb, "lists", "contactLists", "list", "name", ada["id"])
    assert "e2e-revealed" in names_of(sb, "tags", "contactTags", "tag", "tag", ada["id"])
    assert v["automation"] in names_of(
        sb, "automations", "contactAutomations", "seriesid", "name", ada["id"]
    )
    assert "e2e-engaged" in names_of(sb, "tags", "contactTags", "tag", "tag", v["a"]["id"])


def test_push_rejects_a_visitor_without_email(scenario: dict[str, Any]) -> None:
    rejects = scenario["project"].output / "rejects-push-mapper.jsonl"
    assert rejects.exists()
    assert "work_email" in rejects.read_text()


def test_second_push_skips_unchanged_export_files(scenario: dict[str, Any]) -> None:
    push2 = scenario["push2"]
    assert "Skipped 1 unchanged files" in push2.output  # accounts
    assert "Skipped 2 unchanged files" in push2.output  # visitors-1, visitors-2
    assert scenario["activity2"] == scenario["activity1"]  # nothing was sent
    assert scenario["emails2"] == scenario["emails1"]


def test_resending_the_whole_push_creates_no_duplicates(scenario: dict[str, Any]) -> None:
    assert scenario["emails3"] == scenario["emails1"]
    assert max(scenario["emails3"].values()) == 1
    resent = scenario["activity3"][len(scenario["activity1"]) :]
    assert outcomes(resent) == {("account", "unchanged"): 1, ("contact", "unchanged"): 4}


def test_jobs_keep_distinct_state_ids(scenario: dict[str, Any]) -> None:
    assert set(scenario["state_ids"]) >= {
        IMPORT_STATE,
        "sandbox:tap-abmatic-accounts-to-target-activecampaign",
        "sandbox:tap-abmatic-contacts-to-target-activecampaign",
    }
