"""The many-accounts deployment, started once for the session: four ActiveCampaign sandboxes
(each its own process at 5 requests/s), an accounts file, and `dagster dev` (webserver, daemon,
code server) on a fresh DAGSTER_HOME whose run queue allows 4 runs at once and 1 per account.

Submitted at the same moment: `sync_account` for alpha, beta, gamma and nokey (whose key
variable is not set), and a second `sync_account` for alpha, the busy account. While they run,
the run records are sampled every 0.5 s, so the tests can tell what ran at the same time.
Nothing here skips: a missing piece is a failure with the reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))  # `from conftest import ...` (importlib mode)

from abmatic_dagster.deployment import (
    SANDBOX_KEY,
    DagsterDev,
    Sandbox,
    instance_for,
    register_accounts,
)
from abmatic_dagster.environment import DUCKDB_PYTHON, REPO_ROOT
from abmatic_dagster.instance import write_instance

SIZES = {"alpha": 150, "beta": 300, "gamma": 450, "nokey": 40}
GOOD = ("alpha", "beta", "gamma")
RUN_TIMEOUT = 900


def key_var(name: str) -> str:
    return f"{name.upper()}_AC_API_KEY"


def lead_email(name: str) -> str:
    return f"lead.{name}@{name}-visitors.example"


@dataclass
class Deployment:
    root: Path
    home: Path
    accounts_file: Path
    dev: DagsterDev
    sandboxes: dict[str, Sandbox]
    emails_before: dict[str, set[str]]
    runs: dict[str, str] = field(default_factory=dict)  # label -> run id
    samples: list[tuple[float, dict[str, str]]] = field(default_factory=list)
    records: dict[str, Any] = field(default_factory=dict)

    def store(self, name: str) -> Path:
        return self.root / "stores" / f"{name}.duckdb"

    def query(self, name: str, sql: str) -> list[list[Any]]:
        script = ("import duckdb, json, sys\n"
                  "con = duckdb.connect(sys.argv[1], read_only=True)\n"
                  "print(json.dumps([list(r) for r in con.execute(sys.argv[2]).fetchall()],"
                  " default=str))\n")
        proc = subprocess.run([str(DUCKDB_PYTHON), "-c", script, str(self.store(name)), sql],
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, f"query on {name}'s store failed: {proc.stderr[-1500:]}"
        return json.loads(proc.stdout)

    def status(self, label: str) -> str:
        return self.records[self.runs[label]].dagster_run.status.value

    def window(self, label: str) -> tuple[float, float]:
        rec = self.records[self.runs[label]]
        return rec.start_time, rec.end_time


def _write_exports(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "accounts-1.jsonl").write_text(json.dumps(
        {"website_domain": f"{name}-visitors.example", "company_name": f"{name.title()} Visitors"})
        + "\n", encoding="utf-8")
    (folder / "visitors-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [
        {"work_email": lead_email(name), "first_name": "Lead", "last_name": name.title(),
         "account_domain": f"{name}-visitors.example", "engagement_score": 50,
         "event": "revealed"},
        {"work_email": None, "first_name": "Anonymous", "event": "revealed"},
    ]), encoding="utf-8")


def _plugins_installed() -> None:
    missing = [p for p in (DUCKDB_PYTHON, REPO_ROOT / ".venv" / "bin" / "python") if not p.exists()]
    if missing:
        pytest.fail(f"missing {missing}: run `bash scripts/dagster.sh test` (it installs .venv "
                    "and the Meltano plugins)", pytrace=False)


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory):
    _plugins_installed()
    root = tmp_path_factory.mktemp("accounts")
    (root / "logs").mkdir()
    sandboxes: dict[str, Sandbox] = {}
    dev: DagsterDev | None = None
    try:
        for name, n in SIZES.items():
            sandboxes[name] = Sandbox(n, 5.0, root / "logs" / f"sandbox-{name}.log").start()
        emails = {name: sandboxes[name].emails() for name in GOOD}
        accounts = []
        for name in SIZES:
            _write_exports(root / "exports" / name, name)
            accounts.append({"name": name, "api_url": sandboxes[name].base_url,
                             "api_key_env": key_var(name),
                             "store": {"duckdb": f"stores/{name}.duckdb"},
                             "export_dir": f"exports/{name}", "contacts": SIZES[name]})
        accounts_file = root / "accounts.yml"
        accounts_file.write_text(yaml.safe_dump({"work_dir": "work", "accounts": accounts}),
                                 encoding="utf-8")
        home = root / "home"
        write_instance(home, max_concurrent_runs=4)
        env = {key_var(n): SANDBOX_KEY for n in GOOD}  # nokey's variable stays unset
        env.update({"ABMATIC_DAGSTER_AUTOMATION": "off",
                    "ACTIVECAMPAIGN_RATE_BUDGET_DIR": str(root / "rate-budget")})
        dev = DagsterDev(home, accounts_file, env, log_path=root / "logs" / "dagster-dev.log")
        dev.start()
        register_accounts(home, list(SIZES))
        dep = Deployment(root, home, accounts_file, dev, sandboxes, emails)
        for label, account in [("alpha", "alpha"), ("beta", "beta"), ("gamma", "gamma"),
                               ("nokey", "nokey"), ("alpha-2", "alpha")]:
            dep.runs[label] = dev.submit("sync_account", account)
        _watch(dep)
        yield dep
    finally:
        if dev is not None:
            dev.stop()
        for s in sandboxes.values():
            s.stop()


def _watch(dep: Deployment) -> None:
    """Sample every run's status until all have finished."""
    instance = instance_for(dep.home)
    ids = set(dep.runs.values())
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        records = {r.dagster_run.run_id: r for r in instance.get_run_records()
                   if r.dagster_run.run_id in ids}
        dep.samples.append((time.time(), {rid: r.dagster_run.status.value
                                          for rid, r in records.items()}))
        if len(records) == len(ids) and all(
                r.dagster_run.status.value in ("SUCCESS", "FAILURE", "CANCELED")
                for r in records.values()):
            dep.records = records
            return
        if time.monotonic() > deadline:
            pytest.fail(f"runs not finished in {RUN_TIMEOUT} s: {dep.samples[-1][1]}; "
                        f"see {dep.dev.log_path}", pytrace=False)
        time.sleep(0.5)
