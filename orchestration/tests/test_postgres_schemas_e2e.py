"""End to end through Dagster, PostgreSQL: two ActiveCampaign accounts of different sizes
share ONE database, each in its own schema (issue 12: "a PostgreSQL schema per account").

`import_account` runs for both accounts at once, then a second time. A PostgreSQL server is
required (ABMATIC_TEST_PG_URL, or one started with scripts/postgres.sh); without one these
tests fail, they do not skip.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from abmatic_dagster.deployment import (
    SANDBOX_KEY,
    DagsterDev,
    Sandbox,
    latest_metadata,
    register_accounts,
    wait_for_runs,
)
from abmatic_dagster.environment import PG_PYTHON, REPO_ROOT
from abmatic_dagster.instance import write_instance
from abmatic_dagster.pipes_meltano import STORE_TABLES

SIZES = {"north": 60, "south": 150}
# north takes the default schema (abmatic_<name>), south names its own
SCHEMAS = {"north": "abmatic_north", "south": "south_store"}
PG_VAR = "SHARED_ABMATIC_PG_URL"  # both accounts' store: one variable, one database
RUN_TIMEOUT = 600


def _pg(url: str, sql: str, *params: str) -> list[list[Any]]:
    """Rows of one query, run with target-postgres' venv (it has psycopg)."""
    script = ("import json, sys, psycopg\n"
              "with psycopg.connect(sys.argv[1], autocommit=True) as con:\n"
              "    cur = con.execute(sys.argv[2], sys.argv[3:] or None)\n"
              "    rows = cur.fetchall() if cur.description else []\n"
              "print(json.dumps([list(r) for r in rows], default=str))\n")
    proc = subprocess.run([str(PG_PYTHON), "-c", script, url, sql, *params],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"{sql!r} failed: {proc.stderr[-1500:]}"
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    """postgresql://user@host:port of ABMATIC_TEST_PG_URL, else of a throw-away server."""
    given = os.environ.get("ABMATIC_TEST_PG_URL")
    if given:
        yield re.sub(r"/[^/@]*$", "", given.replace("postgresql+psycopg://", "postgresql://"))
        return
    if not PG_PYTHON.exists():
        pytest.fail(f"missing {PG_PYTHON}: run `bash scripts/dagster.sh test` (it installs "
                    "the Meltano plugins)", pytrace=False)
    script = REPO_ROOT / "scripts" / "postgres.sh"
    try:  # its folder under /tmp: the server runs as `postgres` when root, pytest's are 0700
        proc = subprocess.run(["bash", str(script), "start"], capture_output=True, text=True,
                              timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"PostgreSQL could not be started with scripts/postgres.sh: {exc}",
                    pytrace=False)
    if proc.returncode != 0:
        pytest.fail("PostgreSQL is needed by these tests and could not be started "
                    "(scripts/postgres.sh start; install the server: apt-get install postgresql, "
                    "or set ABMATIC_TEST_PG_URL=postgresql://user@host:port):\n"
                    f"{proc.stdout}{proc.stderr}", pytrace=False)
    found = dict(re.findall(r"export (ABMATIC_PG_\w+)=(\S+)", proc.stdout))
    try:
        yield f"postgresql://postgres@127.0.0.1:{found['ABMATIC_PG_PORT']}"
    finally:
        subprocess.run(["bash", str(script), "stop", found["ABMATIC_PG_DIR"]],
                       capture_output=True, timeout=120, check=False)


@dataclass
class Scenario:
    db_url: str  # postgresql://... of the one database both accounts write
    home: Path
    emails: dict[str, set[str]]  # each sandbox's contacts, read before any run
    runs: list[dict[str, Any]] = field(default_factory=list)  # per round: name -> run record
    counts: list[dict[str, dict[str, int]]] = field(default_factory=list)
    stored: list[dict[str, list[str]]] = field(default_factory=list)  # work_email rows
    metadata: list[dict[str, dict[str, dict[str, Any]]]] = field(default_factory=list)

    def run_log(self, round_: int, name: str) -> str:
        return Path(self.metadata[round_][name]["contacts"]["run_log"]).read_text()


@pytest.fixture(scope="module")
def scenario(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    root = tmp_path_factory.mktemp("pg-accounts")
    (root / "logs").mkdir()
    database = f"dagster_{uuid.uuid4().hex[:10]}"
    _pg(pg_server + "/postgres", f"CREATE DATABASE {database}")
    db_url = f"{pg_server}/{database}"
    sandboxes: dict[str, Sandbox] = {}
    dev: DagsterDev | None = None
    try:
        for name, n in SIZES.items():
            sandboxes[name] = Sandbox(n, 5.0, root / "logs" / f"sandbox-{name}.log").start()
        emails = {name: sb.emails() for name, sb in sandboxes.items()}
        stores = {"north": {"postgres_url_env": PG_VAR},
                  "south": {"postgres_url_env": PG_VAR, "schema": SCHEMAS["south"]}}
        accounts = [{"name": name, "api_url": sandboxes[name].base_url,
                     "api_key_env": f"{name.upper()}_AC_API_KEY", "store": stores[name],
                     "export_dir": f"exports/{name}", "contacts": SIZES[name]}
                    for name in SIZES]
        accounts_file = root / "accounts.yml"
        accounts_file.write_text(yaml.safe_dump({"work_dir": "work", "accounts": accounts}),
                                 encoding="utf-8")
        home = root / "home"
        write_instance(home, max_concurrent_runs=4)
        env = {f"{name.upper()}_AC_API_KEY": SANDBOX_KEY for name in SIZES}
        env.update({PG_VAR: db_url, "ABMATIC_DAGSTER_AUTOMATION": "off",
                    "ACTIVECAMPAIGN_RATE_BUDGET_DIR": str(root / "rate-budget")})
        dev = DagsterDev(home, accounts_file, env, log_path=root / "logs" / "dagster-dev.log")
        dev.start()
        register_accounts(home, list(SIZES))
        s = Scenario(db_url, home, emails)
        for _ in range(2):
            ids = {name: dev.submit("import_account", name) for name in SIZES}
            try:
                records = wait_for_runs(home, list(ids.values()), RUN_TIMEOUT)
            except TimeoutError as exc:
                pytest.fail(f"{exc}; see {dev.log_path}", pytrace=False)
            s.runs.append({name: records[rid] for name, rid in ids.items()})
            s.counts.append({name: {t: _pg(db_url, f'select count(*) from "{schema}"."{t}"')[0][0]
                                    for t in STORE_TABLES} for name, schema in SCHEMAS.items()})
            s.stored.append({name: [r[0] for r in _pg(
                db_url, f'select work_email from "{schema}".contacts')]
                for name, schema in SCHEMAS.items()})
            s.metadata.append({name: {t: latest_metadata(home, ["abmatic", t], name)
                                      for t in STORE_TABLES} for name in SIZES})
        yield s
    finally:
        if dev is not None:
            dev.stop()
        for sb in sandboxes.values():
            sb.stop()


def test_both_imports_ran_at_once_into_one_database(scenario: Scenario) -> None:
    for round_ in scenario.runs:
        for name, rec in round_.items():
            assert rec.dagster_run.status.value == "SUCCESS", (
                f"{name}: {rec.dagster_run.status.value}; see the run's log in the UI")
        windows = [(r.start_time, r.end_time) for r in round_.values()]
        # in parallel: each started before the other finished
        assert max(start for start, _ in windows) < min(end for _, end in windows), windows
    schemas = {r[0] for r in _pg(scenario.db_url,
                                 "select schema_name from information_schema.schemata "
                                 "where schema_name not like 'pg\\_%' and "
                                 "schema_name <> 'information_schema'")}
    # one database, the two accounts' schemas, nothing written to a shared `abmatic` schema
    assert schemas == {"public", *SCHEMAS.values()}, schemas


def test_each_schema_holds_exactly_its_own_accounts_contacts(scenario: Scenario) -> None:
    assert len(scenario.emails["north"]) == SIZES["north"]
    assert len(scenario.emails["south"]) == SIZES["south"]
    for name in SIZES:
        stored = set(scenario.stored[0][name])
        expected = scenario.emails[name]
        assert stored == expected, (
            f"schema {SCHEMAS[name]}: {len(stored)} contacts, account {name} has "
            f"{len(expected)}; foreign: {sorted(stored - expected)[:5]}, "
            f"missing: {sorted(expected - stored)[:5]}")
        assert len(scenario.stored[0][name]) == len(stored), "duplicate contacts"


def test_a_second_import_changes_nothing(scenario: Scenario) -> None:
    first, second = scenario.counts
    assert second == first, (first, second)
    for name in SIZES:
        rows = scenario.stored[1][name]
        assert len(rows) == len(set(rows)) == SIZES[name], (name, len(rows), len(set(rows)))
        assert set(rows) == set(scenario.stored[0][name])


def test_the_mapper_reads_its_own_accounts_schema(scenario: Scenario) -> None:
    """The second import's mapper loaded exactly its own schema's contacts (what `fill` and
    update-only compare against); the first found that schema empty."""
    for name, schema in SCHEMAS.items():
        assert f"Store table {schema}.contacts not found" in scenario.run_log(0, name)
        second = scenario.run_log(1, name)
        assert f"Read {SIZES[name]} existing contacts from the store" in second, (
            name, [line for line in second.splitlines() if "existing contacts" in line])


def test_the_asset_metadata_counts_the_accounts_own_schema(scenario: Scenario) -> None:
    for round_ in range(2):
        for name, schema in SCHEMAS.items():
            for table in STORE_TABLES:
                meta = scenario.metadata[round_][name][table]
                assert meta["account"] == name and meta["meltano_job"] == "import-pg", meta
                assert meta["rows_in_store"] == scenario.counts[round_][name][table], (
                    round_, name, table, meta["rows_in_store"])
                assert meta["store"] == f"postgresql (${PG_VAR}), schema {schema}"
                assert meta["state_id"] == f"prod:tap-activecampaign-to-target-postgres:{name}"
            assert scenario.metadata[round_][name]["contacts"]["rows_in_store"] == SIZES[name]
    # the URL (and any password in it) never reaches the metadata
    assert scenario.db_url.split("//")[1] not in json.dumps(scenario.metadata, default=str)

