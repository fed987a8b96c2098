"""End to end, PostgreSQL: the prod environment's `sync-pg` job (import into PostgreSQL, then
push) with Meltano's system database, hence its state, in PostgreSQL too, against an in-process
sandbox. A real PostgreSQL server is required (conftest: scripts/postgres.sh or
ABMATIC_TEST_PG_URL); without one these tests fail, they do not skip.

Scenario: sync-pg #1 -> sync-pg #2 (nothing changed) -> push with --full-refresh -> a contact's
lists/tags/company changed and its udate bumped, import-pg -> memberships removed without a
udate bump, import-pg with the reconciliation due.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from e2e_helpers import (
    PG_PY,
    Project,
    change_memberships,
    emails,
    expected_rows,
    membership_requests,
    outcomes,
    remove_memberships,
    scalar,
    store_counts,
    store_memberships,
    visitor_files,
)

from activecampaign_sandbox import Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

CONTACTS = 300
IMPORT_STATE = "prod:tap-activecampaign-to-target-postgres"


@pytest.fixture(scope="module")
def scenario(
    meltano_installed: None, pg_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    pg_url = pg_database
    with Sandbox(seed="demo", contacts=CONTACTS, rate_limit=None, api_key="e2e-key") as sb:
        path = tmp_path_factory.mktemp("pg-project")
        project = Project.create(
            path,
            sb,
            environment="prod",
            database_uri=pg_url,
            ABMATIC_PG_URL=pg_url,
            ABMATIC_EXPORT_DIR=str(path / "demo"),
        )
        s: dict[str, Any] = {"sb": sb, "project": project, "url": pg_url}

        def counts() -> dict[str, int]:
            return store_counts(PG_PY, pg_url, "abmatic.")

        s["expected1"] = expected_rows(sb)
        s["visitors"] = visitor_files(project, sb)
        s["emails0"] = emails(sb)
        s["sync1"] = project.run("sync-pg")
        s["counts1"] = counts()
        s["emails1"] = emails(sb)
        s["activity1"] = project.activity()
        s["sync2"] = project.run("sync-pg")
        s["counts2"] = counts()
        s["emails2"] = emails(sb)
        s["push3"] = project.run("--full-refresh", "push")
        s["activity3"] = project.activity()
        s["emails3"] = emails(sb)
        s["state_ids"] = project.state_ids()
        s["state_rows"] = scalar(PG_PY, pg_url, "select count(*) from state")
        # Incremental memberships: changed with the contact, then removed behind its back.
        s["members3"] = store_memberships(PG_PY, pg_url, "abmatic.")
        s["changed"] = change_memberships(sb)
        sb.reset_stats()
        s["import4"] = project.run("import-pg")
        s["routes4"] = sb.stats()["routes"]
        s["members4"] = store_memberships(PG_PY, pg_url, "abmatic.")
        s["removed"] = remove_memberships(sb, s["changed"])
        project.env["TAP_ACTIVECAMPAIGN_MEMBERSHIP_RECONCILE_HOURS"] = "0"
        s["import5"] = project.run("import-pg")
        s["members5"] = store_memberships(PG_PY, pg_url, "abmatic.")
        s["counts5"] = counts()
        yield s


def test_import_lands_every_row_in_postgresql(scenario: dict[str, Any]) -> None:
    assert scenario["counts1"] == scenario["expected1"]


def test_second_sync_is_incremental_and_duplicates_nothing(scenario: dict[str, Any]) -> None:
    sync2 = scenario["sync2"]
    assert sync2.summary("import", "contacts")["in"] <= 10  # the pushed ones and the boundary
    assert scenario["counts2"]["contacts"] == scenario["counts1"]["contacts"] + 2  # pushed ones
    assert scenario["counts2"]["opportunities"] == scenario["counts1"]["opportunities"]
    assert "Skipped 2 unchanged files" in sync2.output
    assert scenario["emails2"] == scenario["emails1"]


def test_import_reads_the_postgresql_store_for_fill(scenario: dict[str, Any]) -> None:
    assert f"Read {CONTACTS} existing contacts from the store" in scenario["sync2"].output


def test_meltano_state_lives_in_postgresql(scenario: dict[str, Any]) -> None:
    assert IMPORT_STATE in scenario["state_ids"]
    assert "prod:tap-abmatic-contacts-to-target-activecampaign" in scenario["state_ids"]
    assert scenario["state_rows"] >= 3
    assert not (scenario["project"].path / "meltano.db").exists()


def test_push_in_prod_environment_reaches_the_account(scenario: dict[str, Any]) -> None:
    for email in scenario["visitors"]["new"]:
        assert scenario["emails0"][email] == 0 and scenario["emails1"][email] == 1
    assert outcomes(scenario["activity1"])[("contact", "updated")] == 2


def test_resending_the_push_creates_no_duplicates(scenario: dict[str, Any]) -> None:
    assert scenario["emails3"] == scenario["emails1"]
    assert max(scenario["emails3"].values()) == 1
    resent = scenario["activity3"][len(scenario["activity1"]) :]
    assert {outcome for _, outcome in outcomes(resent)} == {"unchanged"}


def test_changed_contacts_memberships_reach_postgresql_in_the_same_run(
    scenario: dict[str, Any],
) -> None:
    changed, before, after = scenario["changed"], scenario["members3"], scenario["members4"]
    lists, tags, company, job, domain = after[changed["email"]]
    assert changed["list"] in lists and changed["list"] not in before[changed["email"]][0]
    assert changed["tag"] in tags
    assert (company, job, domain) == (changed["company"], "Head of E2E", changed["domain"])
    # the sandbox sideloads: the memberships came with the contacts page, no request of their own
    assert membership_requests(scenario["routes4"]) == {}
    others = set(before) - {changed["email"]}
    assert {e: after[e] for e in others} == {e: before[e] for e in others}


def test_reconciliation_removes_memberships_from_postgresql(scenario: dict[str, Any]) -> None:
    changed, removed = scenario["changed"], scenario["removed"]
    before, after = scenario["members4"], scenario["members5"]
    lists, tags, company, _job, _domain = after[changed["email"]]
    assert changed["list"] not in lists and changed["tag"] not in tags
    assert company == changed["company"]
    assert removed["other_left"] in before[removed["other"]][0]
    assert removed["other_left"] not in after[removed["other"]][0]
    untouched = set(before) - {changed["email"], removed["other"]}
    assert {e: after[e] for e in untouched} == {e: before[e] for e in untouched}
    assert scenario["counts5"] == scenario["counts2"]
    assert scenario["import5"].summary("import", "contacts").get("reconciled", 0) >= 1
