"""What the UI shows, in a real browser: Debian's headless Chromium (driven by Playwright from
PyPI through executable_path; never `playwright install`) loads an account's asset pages on
the session's `dagster dev` and saves screenshots under output/dagster-ui/."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
from abmatic_dagster.environment import REPO_ROOT
from conftest import Deployment

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = REPO_ROOT / "output" / "dagster-ui"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium "
                    "(bash scripts/dagster.sh test installs it)", pytrace=False)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")  # a fresh --user-data-dir
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=ARGS, headless=True,
            viewport={"width": 1400, "height": 1100})
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def _open(browser, url: str, wait_text: str, shot: str) -> str:
    page = browser.new_page()
    try:
        page.goto(url, wait_until="domcontentloaded", timeout=60_000)
        page.wait_for_selector(f"text={wait_text}", timeout=90_000)
        page.wait_for_timeout(1500)  # let the metadata table finish rendering
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / shot), full_page=True)
        return page.inner_text("body")
    finally:
        page.close()


def _value(text: str, label: str) -> str:
    m = re.search(rf"{label}\s+(\S+)", text)
    assert m, f"{label} is not on the page"
    return m.group(1)


def test_account_asset_pages_show_the_run_and_its_metadata(
        deployment: Deployment, browser) -> None:
    latest = deployment.runs["alpha-2"]  # alpha's latest run materialized both assets
    store_rows = deployment.query("alpha", "select count(*) from contacts")[0][0]

    text = _open(browser, f"{deployment.dev.url}/assets/abmatic/contacts"
                 "?view=partitions&partition=alpha", "rows_in_store", "alpha-contacts.png")
    assert "Materialized" in text and "alpha" in text
    assert latest[:8] in text, "the run that materialized it is not on the page"
    assert "sync_account" in text
    assert _value(text, "rows_in_store") == str(store_rows)
    assert _value(text, "throttled_429") == "0"
    for label in ("requests", "share_of_rate_budget", "rows_written", "run_log",
                  "rejects_file", "state_id"):
        assert label in text, label
    assert "prod:tap-activecampaign-to-target-duckdb:alpha" in text

    text = _open(browser, f"{deployment.dev.url}/assets/activecampaign/push"
                 "?view=partitions&partition=alpha", "unchanged_files_skipped",
                 "alpha-push.png")
    assert latest[:8] in text
    for label in ("created", "updated", "unchanged", "rejected", "failed", "requests",
                  "throttled_429", "activity_log", "rejects_file"):
        assert label in text, label
    assert str(deployment.root / "work" / "alpha") in text  # the activity log's path

    # the Events tab: every materialization of the table, newest first, each with its run
    text = _open(browser, f"{deployment.dev.url}/assets/abmatic/contacts?view=events",
                 f"materialized in run {latest[:8]}", "contacts-events.png")
    assert f"Partition alpha materialized in run {latest[:8]}" in text
    for name in ("alpha", "beta", "gamma"):
        assert name in text
    assert "nokey" not in text.split("Metadata")[0]  # its failed run materialized nothing

    # the Overview tab plots the numeric metadata: per partition, and over time (Events)
    page = browser.new_page()
    try:
        page.goto(f"{deployment.dev.url}/assets/abmatic/contacts", timeout=60_000)
        page.wait_for_selector("text=Plots", timeout=90_000)
        page.get_by_role("button", name="Plots").click()
        page.wait_for_selector("text=When graphing values by partition", timeout=30_000)
        text = page.inner_text("body")
        page.get_by_role("button", name="Events").last.click()
        page.wait_for_timeout(2000)
        page.screenshot(path=str(SHOTS / "contacts-plots.png"), full_page=True)
        assert page.locator("canvas").count() >= 6  # one chart per numeric key
    finally:
        page.close()
    for label in ("requests", "throttled_429", "rows_in_store", "share_of_rate_budget",
                  "cpu_seconds"):
        assert label in text, label
    assert (SHOTS / "alpha-contacts.png").stat().st_size > 20_000
