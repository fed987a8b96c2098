"""A local deployment for the demo, `dev` and the tests: ActiveCampaign sandboxes (one process
per account), `dagster dev` (webserver + daemon + code server) on a DAGSTER_HOME with the
run queue of instance.py, and run submission through Dagster's GraphQL API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .environment import REPO_ROOT

SANDBOX_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
DAGSTER_BIN = Path(sys.executable).parent / "dagster"
SANDBOX_KEY = "sandbox-demo-key"


def _default_signals() -> None:
    # A process started in the background by a shell inherits SIGINT ignored, and `dagster dev`
    # maps SIGTERM to its SIGINT handler: it would then ignore both and never stop.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen, group: bool, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    try:
        if group:
            os.killpg(proc.pid, signal.SIGTERM)  # the group this module started
        else:
            proc.terminate()
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


@dataclass
class Sandbox:
    """`python -m activecampaign_sandbox` in its own process (its own 5 requests/s)."""

    contacts: int
    rate_limit: float = 5.0
    log_path: Path | None = None
    proc: subprocess.Popen | None = None
    base_url: str = ""

    def start(self) -> Sandbox:
        port = free_port()
        log = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(SANDBOX_PYTHON), "-m", "activecampaign_sandbox", "--port", str(port),
             "--seed", "demo", "--contacts", str(self.contacts), "--api-key", SANDBOX_KEY,
             "--rate-limit", str(self.rate_limit)],
            stdout=log, stderr=subprocess.STDOUT)
        self.base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the sandbox exited ({self.proc.returncode}); "
                                   f"see {self.log_path}")
            try:
                self.stats()
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the sandbox on {self.base_url} did not answer in 120 s")

    def get(self, path: str) -> Any:
        req = urllib.request.Request(self.base_url + path, headers={"Api-Token": SANDBOX_KEY})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)

    def stats(self) -> dict[str, Any]:
        return self.get("/_sandbox/stats")

    def emails(self) -> set[str]:
        """Every contact's email, read through the API (the sandbox's unlimited stats don't
        count: these requests go through its rate limit, so call it when no run is active)."""
        out: set[str] = set()
        offset = 0
        while True:
            page = self.get(f"/api/3/contacts?limit=100&offset={offset}&orders%5Bid%5D=ASC")
            contacts = page.get("contacts") or []
            out.update(c["email"].strip().lower() for c in contacts if c.get("email"))
            if len(contacts) < 100:
                return out
            offset += 100
            time.sleep(0.25)  # stay under its 5 requests/s

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc, group=False)


@dataclass
class DagsterDev:
    """`dagster dev` for the code location abmatic_dagster.definitions."""

    home: Path
    accounts_file: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    def start(self, timeout: float = 240) -> DagsterDev:
        self.port = self.port or free_port()
        env = {**os.environ, **self.env, "DAGSTER_HOME": str(self.home),
               "ABMATIC_ACCOUNTS_FILE": str(self.accounts_file)}
        self.log_path = self.log_path or self.home / "dagster-dev.log"
        log = open(self.log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(DAGSTER_BIN), "dev", "-m", "abmatic_dagster.definitions", "-h", "127.0.0.1",
             "-p", str(self.port)],
            env=env, cwd=str(self.home), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_default_signals)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited ({self.proc.returncode}); "
                                   f"see {self.log_path}:\n{self.log_path.read_text()[-3000:]}")
            try:
                if self._location_loaded():
                    return self
            except OSError:
                pass
            time.sleep(1)
        raise RuntimeError(f"dagster dev did not load the code location in {timeout:.0f} s; "
                           f"see {self.log_path}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def graphql(self, query: str, variables: dict | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(self.url + "/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)

    def _location_loaded(self) -> bool:
        data = self.graphql("{ workspaceOrError { ... on Workspace { locationEntries { "
                            "name loadStatus locationOrLoadError { __typename } } } } }")
        entries = data["data"]["workspaceOrError"]["locationEntries"]
        return bool(entries) and all(e["loadStatus"] == "LOADED" and
                                     e["locationOrLoadError"]["__typename"] ==
                                     "RepositoryLocation" for e in entries)

    def submit(self, job: str, account: str) -> str:
        from dagster_graphql import DagsterGraphQLClient

        client = DagsterGraphQLClient("127.0.0.1", port_number=self.port, timeout=60)
        return client.submit_job_execution(
            job, tags={"account": account, "dagster/partition": account})

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc, group=True, timeout=30)


def instance_for(home: Path):
    from dagster import DagsterInstance

    return DagsterInstance.from_config(str(home))


def register_accounts(home: Path, names: list[str]) -> None:
    instance = instance_for(home)
    known = set(instance.get_dynamic_partitions("accounts"))
    new = [n for n in names if n not in known]
    if new:
        instance.add_dynamic_partitions("accounts", new)


def wait_for_runs(home: Path, run_ids: list[str], timeout: float) -> dict[str, Any]:
    """Run records once every run has finished (success, failure or cancel)."""
    from dagster import DagsterRunStatus

    done = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    instance = instance_for(home)
    deadline = time.monotonic() + timeout
    while True:
        records = {r.dagster_run.run_id: r for r in instance.get_run_records()
                   if r.dagster_run.run_id in run_ids}
        if len(records) == len(run_ids) and all(r.dagster_run.status in done
                                                for r in records.values()):
            return records
        if time.monotonic() > deadline:
            states = {k[:8]: r.dagster_run.status.value for k, r in records.items()}
            raise TimeoutError(f"runs not finished in {timeout:.0f} s: {states}")
        time.sleep(1)


def latest_metadata(home: Path, key_path: list[str], partition: str) -> dict[str, Any]:
    """The metadata of the latest materialization of asset ``key_path`` for ``partition``."""
    from dagster import AssetKey, AssetRecordsFilter

    instance = instance_for(home)
    result = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(key_path), asset_partitions=[partition]), limit=1)
    if not result.records:
        return {}
    mat = result.records[0].asset_materialization
    assert mat is not None
    return {k: v.value for k, v in mat.metadata.items()}
