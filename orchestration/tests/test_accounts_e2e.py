"""End to end through Dagster: the session's deployment (conftest.py) ran `sync_account` for
three accounts at once, a second one for the busy account alpha, and one for an account whose
key variable is not set."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from abmatic_dagster.deployment import instance_for, latest_metadata
from conftest import GOOD, Deployment, key_var, lead_email
from dagster import AssetKey, AssetRecordsFilter, DagsterEventType


def test_three_accounts_run_in_parallel_and_each_store_holds_exactly_its_own_contacts(
        deployment: Deployment) -> None:
    for name in GOOD:
        assert deployment.status(name) == "SUCCESS", f"{name}: see {deployment.dev.log_path}"
    windows = [deployment.window(n) for n in GOOD]
    # in parallel: every one of the three started before any of them finished
    assert max(start for start, _ in windows) < min(end for _, end in windows), windows
    for name in GOOD:
        stored = {row[0] for row in deployment.query(name, "select work_email from contacts")}
        # alpha ran twice: its second import brought back the lead its first push created
        expected = deployment.emails_before[name] | (
            {lead_email("alpha")} if name == "alpha" else set())
        assert stored == expected, (
            f"{name}'s store: {len(stored)} contacts, its account has {len(expected)}; "
            f"foreign: {sorted(stored - expected)[:5]}, missing: {sorted(expected - stored)[:5]}")
    sizes = {n: len(deployment.emails_before[n]) for n in GOOD}
    assert len(set(sizes.values())) == 3, sizes  # different accounts, told apart by size too


def test_each_push_reached_only_its_own_account(deployment: Deployment) -> None:
    for name in GOOD:
        for other in GOOD:
            found = deployment.sandboxes[other].get(
                f"/api/3/contacts?email={lead_email(name)}")["contacts"]
            assert bool(found) == (name == other), (name, other, found)


def test_no_account_sees_a_429(deployment: Deployment) -> None:
    for name in GOOD:
        stats = deployment.sandboxes[name].stats()
        assert stats["rate_limit"] == 5.0
        assert stats["total_requests"] > 20, stats
        assert stats["throttled_429"] == 0, (name, stats["statuses"])
        assert stats["peak_rate"] <= 5.0 + 1e-9, stats


def test_a_second_run_for_a_busy_account_waits_then_runs(deployment: Deployment) -> None:
    first, second = deployment.runs["alpha"], deployment.runs["alpha-2"]
    assert deployment.status("alpha-2") == "SUCCESS"
    # it was seen waiting in the queue while the first one ran ...
    assert any(s.get(first) == "STARTED" and s.get(second) == "QUEUED"
               for _, s in deployment.samples), "the second alpha run never waited"
    # ... and never ran at the same time as it
    assert not any(s.get(first) in ("STARTING", "STARTED") and
                   s.get(second) in ("STARTING", "STARTED") for _, s in deployment.samples)
    start2, _ = deployment.window("alpha-2")
    _, end1 = deployment.window("alpha")
    assert start2 >= end1 - 0.5, (start2, end1)
    # other accounts did run beside alpha's first run (the limit is per account, not global)
    start_b, _ = deployment.window("beta")
    assert start_b < end1
    # the second run was incremental: the export files had not changed, nothing was pushed again
    push = latest_metadata(deployment.home, ["activecampaign", "push"], "alpha")
    assert push["unchanged_files_skipped"] >= 2, push
    assert push["created"] == 0 and push["failed"] == 0, push


def test_a_missing_key_variable_fails_that_account_only_with_a_clear_message(
        deployment: Deployment) -> None:
    assert deployment.status("nokey") == "FAILURE"
    instance = instance_for(deployment.home)
    failures = [e.dagster_event for e in instance.all_logs(deployment.runs["nokey"])
                if e.is_dagster_event and
                e.dagster_event.event_type == DagsterEventType.STEP_FAILURE]
    assert failures, "no step failure recorded"
    text = str(failures[0].event_specific_data.error.message) + " " + str(
        failures[0].event_specific_data.user_failure_data)
    assert key_var("nokey") in text and "is not set" in text, text
    assert "sandbox-demo-key" not in text
    # nothing reached that account, and the others were untouched by its failure
    assert deployment.sandboxes["nokey"].stats()["total_requests"] == 0
    for name in GOOD:
        assert deployment.status(name) == "SUCCESS"


def test_state_is_per_account(deployment: Deployment) -> None:
    dbs = {}
    for name in GOOD:
        db = deployment.root / "work" / name / "meltano.db"
        with sqlite3.connect(db) as con:
            dbs[name] = {r[0] for r in con.execute("select state_id from state")}
        assert dbs[name] == {
            f"prod:tap-activecampaign-to-target-duckdb:{name}",
            f"prod:tap-abmatic-accounts-to-target-activecampaign:{name}",
            f"prod:tap-abmatic-contacts-to-target-activecampaign:{name}",
        }, dbs[name]


def test_every_run_materializes_the_account_assets_with_metadata(
        deployment: Deployment) -> None:
    for name in GOOD:
        rows = {t: deployment.query(name, f"select count(*) from {t}")[0][0]
                for t in ("contacts", "accounts", "opportunities")}
        for table, count in rows.items():
            meta = latest_metadata(deployment.home, ["abmatic", table], name)
            assert meta["rows_in_store"] == count, (name, table, meta)
            assert meta["account"] == name
            assert meta["throttled_429"] == 0
            assert meta["requests"] > 0 and meta["share_of_rate_budget"] > 0
            assert Path(meta["run_log"]).is_file()
        first = latest_metadata(deployment.home, ["abmatic", "contacts"], name)
        assert first["rows_written"] >= 0
        push = latest_metadata(deployment.home, ["activecampaign", "push"], name)
        assert Path(push["activity_log"]).is_file()
        assert {"created", "updated", "unchanged", "rejected", "failed", "requests",
                "throttled_429", "share_of_rate_budget"} <= set(push)
    # alpha's first push created its account and its lead; the email-less visitor was rejected
    instance = instance_for(deployment.home)
    recs = instance.fetch_materializations(AssetRecordsFilter(
        asset_key=AssetKey(["activecampaign", "push"]), asset_partitions=["beta"]), limit=5)
    meta = {k: v.value for k, v in recs.records[0].asset_materialization.metadata.items()}
    assert meta["created"] == 2 and meta["rejected"] == 1 and meta["failed"] == 0, meta
