"""Helpers of the end-to-end fault suite (tests/test_faults_e2e.py).

A *scenario* is one fault against one job (`import` or `push`), run with `meltano run` in its
own throw-away project (e2e_helpers.Project) against its own in-process sandbox (same seed and
size everywhere, so every sandbox starts identical):

- import scenarios start from the store and the Meltano state of a clean first import (copied
  from the baseline project), then a few contacts change in ActiveCampaign and the faulted run is
  an incremental one: a bookmark that moves past data the store does not hold is visible;
- push scenarios start from a fresh sandbox and push the same Abmatic export files.

The faulted run is followed, when it failed or was killed, by a clean rerun; the final Abmatic
store (DuckDB) and the sandbox's contacts / accounts are then compared with the baseline's, which
went through the same steps without faults.

Fault switches are the sandbox's own (`sb.set_faults`), plus two that it lacks, added here by
wrapping the sandbox's request gate: a seeded fraction of requests answered too late (so
`request_timeout` fires while the sandbox still carries the request out, like a slow real API),
and targeted 503s for given requests of one route.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e_helpers import DUCKDB_PY, MELTANO_SH, ROOT, RUN_TIMEOUT, SYS_DIR, Project, Run

from activecampaign_client import normalize_domain, normalize_email
from activecampaign_sandbox import Sandbox

CONTACTS = 300
API_KEY = "fault-key"
FAULT_SEED = int(os.environ.get("ABMATIC_FAULT_SEED", "20261126"))
IMPORT_STATE = "sandbox:tap-activecampaign-to-target-duckdb"
PUSH_STATES = (
    "sandbox:tap-abmatic-accounts-to-target-activecampaign",
    "sandbox:tap-abmatic-contacts-to-target-activecampaign",
)
TABLES = {"contacts": "work_email", "accounts": "website_domain",
          "opportunities": "activecampaign_id"}
# The tap's request_timeout is an integer number of seconds: 1 s, and "too late" is 1.1 s.
REQUEST_TIMEOUT = "1"
TOO_LATE_MS = 1100.0  # the late answer is carried out before the first retry arrives
TOUCHED_IDS = (5, 6, 7)
NEW_CONTACT = "fault.newcomer@example.org"


# ---- the project ---------------------------------------------------------------------------
def fault_project(path: Path, sb: Sandbox, **env: str) -> Project:
    """A throw-away project whose target-activecampaign also takes `batch_size_rows` (so a push
    uses the bulk importer for its first batch and contact/sync for the second)."""
    env = {
        "TAP_ACTIVECAMPAIGN_REQUEST_TIMEOUT": REQUEST_TIMEOUT,
        "TARGET_ACTIVECAMPAIGN_REQUEST_TIMEOUT": REQUEST_TIMEOUT,
        "TARGET_ACTIVECAMPAIGN_BULK_POLL_INTERVAL": "0",
        "TARGET_ACTIVECAMPAIGN_BATCH_SIZE_ROWS": "10",
        **env,
    }
    project = Project.create(path, sb, **env)
    yml = project.path / "meltano.yml"
    text = yml.read_text()
    anchor = "    config:\n      activity_log_path:"
    assert text.count(anchor) == 1, "meltano.yml changed: update fault_helpers.fault_project"
    yml.write_text(text.replace(
        anchor, "    - name: batch_size_rows\n      kind: integer\n" + anchor))
    # Scenarios run in parallel: each project gets its own Meltano system folder, whose `run/`
    # (generated plugin config and catalog files) is private, while the installed plugin venvs
    # are the repository's (symlinked).
    sys_dir = project.path / ".meltano"
    sys_dir.mkdir()
    for kind in ("extractors", "loaders", "mappers"):
        (sys_dir / kind).symlink_to(SYS_DIR / kind, target_is_directory=True)
    (project.path / "scripts").symlink_to(ROOT / "scripts", target_is_directory=True)
    project.env["MELTANO_SYS_DIR_ROOT"] = str(sys_dir)
    return project


def start_run(project: Project, job: str) -> subprocess.Popen[str]:
    """`meltano run JOB` in its own process group (so SIGKILL reaches every plugin)."""
    log = open(project.path / f"meltano-{len(project.runs) + 1:02d}.log", "w")  # noqa: SIM115
    return subprocess.Popen(
        ["bash", str(MELTANO_SH), "run", job], cwd=project.path, env=project.env,
        stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def finish_run(project: Project, job: str, proc: subprocess.Popen[str]) -> Run:
    try:
        proc.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    path = project.path / f"meltano-{len(project.runs) + 1:02d}.log"
    run = Run(("run", job), proc.returncode, path.read_text(errors="replace"))
    project.runs.append(run)
    return run


def run_and_kill(project: Project, job: str, sb: Sandbox, after_requests: int) -> Run:
    """Start the job, SIGKILL its whole process group once the sandbox has received
    `after_requests` API requests, and return the (killed) run."""
    proc = start_run(project, job)
    deadline = time.monotonic() + RUN_TIMEOUT
    while proc.poll() is None and time.monotonic() < deadline:
        if sb.stats()["total_requests"] >= after_requests:
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.002)
    return finish_run(project, job, proc)


# ---- fault switches the sandbox lacks --------------------------------------------------------
class GateFaults:
    """Extra faults, applied by wrapping the sandbox's request gate (in process)."""

    def __init__(self, sb: Sandbox, *, late_rate: float = 0.0, late_first_writes: bool = False,
                 fail_route: str | None = None, fail_from: int = 0, fail_count: int = 0,
                 seed: int = FAULT_SEED) -> None:
        self.late_rate = late_rate
        self.late_first_writes = late_first_writes
        self.fail_route, self.fail_from, self.fail_count = fail_route, fail_from, fail_count
        self.rng = random.Random(seed)
        self.served = 0
        self.routes: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._gate: Callable[[str], Any] = sb._gate
        sb._gate = self.gate  # type: ignore[method-assign]

    def gate(self, route: str) -> Any:
        verdict = self._gate(route)
        if verdict.action != "serve" or verdict.truncate or verdict.latency:
            with self._lock:
                self.served += 1  # a sandbox switch (throttle, error, drop, 403, late, cut)
            return verdict
        with self._lock:
            self.routes[route] += 1
            n = self.routes[route]
            if route == self.fail_route and self.fail_from <= n < self.fail_from + self.fail_count:
                self.served += 1
                verdict.action, verdict.status = "error", 503
            elif (self.late_first_writes and route.startswith("POST ") and n == 1) or (
                    self.late_rate and self.rng.random() < self.late_rate):
                self.served += 1
                verdict.latency = TOO_LATE_MS / 1000.0
        return verdict


# ---- what the sandbox holds ------------------------------------------------------------------
def sandbox_snapshot(sb: Sandbox) -> dict[str, Any]:
    """Contacts by normalized email and accounts by normalized domain (or name), with what a
    push writes, ids and timestamps left out; and the duplicate counts."""
    s = sb.store
    with s.lock:
        names = {
            "tags": {o["id"]: o["tag"] for o in s.objects("tags")},
            "lists": {o["id"]: o["name"] for o in s.objects("lists")},
            "automations": {o["id"]: o["name"] for o in s.objects("automations")},
            "fields": {o["id"]: o["title"] for o in s.objects("fields")},
            "accounts": {o["id"]: o["name"] for o in s.objects("accounts")},
            "acf": {o["id"]: o["fieldLabel"] for o in s.objects("accountCustomFieldMeta")},
        }
        by_contact: dict[str, dict[str, list[Any]]] = {}

        def link(table: str, fields: Callable[[dict[str, Any]], Any]) -> None:
            for row in s.objects(table):
                by_contact.setdefault(str(row["contact"]), {}).setdefault(table, []).append(
                    fields(row))

        link("contactTags", lambda r: names["tags"].get(str(r["tag"]), r["tag"]))
        link("contactLists", lambda r: (names["lists"].get(str(r["list"])), str(r["status"])))
        link("contactAutomations", lambda r: names["automations"].get(str(r["seriesid"])))
        link("accountContacts", lambda r: (names["accounts"].get(str(r["account"])),
                                           r.get("jobTitle") or ""))
        link("fieldValues", lambda r: (names["fields"].get(str(r["field"])), r.get("value")))
        contacts: dict[str, Any] = {}
        emails: Counter[str] = Counter()
        for c in s.objects("contacts"):
            key = normalize_email(c.get("email")) or f"id:{c['id']}"
            emails[key] += 1
            links = by_contact.get(str(c["id"]), {})
            contacts[key] = {
                "firstName": c.get("firstName"), "lastName": c.get("lastName"),
                "phone": c.get("phone"),
                **{t: sorted(map(json.dumps, v)) for t, v in links.items()},
            }
        acc_values: dict[str, list[Any]] = {}
        for d in s.objects("accountCustomFieldData"):
            owner = str(d.get("accountId") or d.get("customerAccountId"))
            acc_values.setdefault(owner, []).append(
                (names["acf"].get(str(d.get("customFieldId"))), d.get("fieldValue")))
        accounts: dict[str, Any] = {}
        account_keys: Counter[str] = Counter()
        for a in s.objects("accounts"):
            key = normalize_domain(a.get("accountUrl")) or f"name:{a['name'].lower()}"
            account_keys[key] += 1
            accounts[key] = {"name": a.get("name"), "accountUrl": a.get("accountUrl"),
                             "fields": sorted(map(json.dumps, acc_values.get(str(a["id"]), [])))}
    return {
        "contacts": contacts, "accounts": accounts,
        "duplicates": sum(n - 1 for n in emails.values()) + sum(
            n - 1 for n in account_keys.values()),
    }


def link_duplicates(snapshot: dict[str, Any], clean: dict[str, Any]) -> int:
    """Links (tags, lists, automations, account links) present more often than in the clean
    run, for the contacts of both."""
    extra = 0
    for key, rec in snapshot["contacts"].items():
        ref = clean["contacts"].get(key, {})
        for table in ("contactTags", "contactLists", "contactAutomations", "accountContacts"):
            extra += sum((Counter(rec.get(table, [])) - Counter(ref.get(table, []))).values())
    return extra


# ---- what the store holds --------------------------------------------------------------------
_DUMP = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
out = {}
for table in json.loads(sys.argv[2]):
    try:
        cur = con.execute(f"select * from {table}")
    except duckdb.CatalogException:
        out[table] = None
        continue
    cols = [d[0] for d in cur.description]
    out[table] = [dict(zip(cols, row)) for row in cur.fetchall()]
print(json.dumps(out, default=str))
"""


def store_snapshot(db: Path) -> dict[str, list[dict[str, Any]]]:
    """Every row of the Abmatic tables (empty when the store does not exist yet)."""
    if not db.exists():
        return {t: [] for t in TABLES}
    proc = subprocess.run([str(DUCKDB_PY), "-c", _DUMP, str(db), json.dumps(list(TABLES))],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"could not read {db}:\n{proc.stderr[-2000:]}"
    return {t: rows or [] for t, rows in json.loads(proc.stdout).items()}


def keyed(rows: list[dict[str, Any]], key: str) -> dict[str, str]:
    return {str(r[key]): json.dumps(r, sort_keys=True) for r in rows}


def store_duplicates(store: dict[str, list[dict[str, Any]]]) -> int:
    return sum(sum(n - 1 for n in Counter(str(r[k]) for r in store[t]).values())
               for t, k in TABLES.items())


# ---- Meltano's state -------------------------------------------------------------------------
def saved_state(project: Project, state_id: str) -> dict[str, Any]:
    """The state the next run starts from: completed state merged with partial state (read
    from the project's system database directly; `meltano state get` costs a second)."""
    import sqlite3

    db = project.path / "meltano.db"
    if not db.exists():
        return {}
    con = sqlite3.connect(db)
    try:
        row = con.execute("select completed_state, partial_state from state where state_id = ?",
                          (state_id,)).fetchone()
    except sqlite3.OperationalError:
        row = None
    finally:
        con.close()
    if row is None:
        return {}
    completed = json.loads(row[0] or "{}").get("singer_state") or {}
    partial = json.loads(row[1] or "{}").get("singer_state") or {}

    def merge(a: Any, b: Any) -> Any:
        if isinstance(a, dict) and isinstance(b, dict):
            return {**a, **{k: merge(a.get(k), v) for k, v in b.items()}}
        return b

    return t if isinstance(t := merge(completed, partial), dict) else {}


def bookmark(state: dict[str, Any], stream: str) -> str | None:
    return ((state.get("bookmarks") or {}).get(stream) or {}).get("replication_key_value")


def _utc(ts: str) -> str:
    """'2024-03-26 00:34:30' / '2024-03-26T00:34:30+00:00' -> comparable UTC text."""
    import datetime as dt

    value = dt.datetime.fromisoformat(ts.replace(" ", "T").replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def rows_behind_bookmark(project: Project, store: dict[str, list[dict[str, Any]]],
                         clean: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Rows of the clean store that the saved bookmarks say were read (updated before the
    bookmark) but that the store does not hold as the clean run does: what the next
    incremental run would skip for good. Empty when no bookmark is ahead of written data."""
    state = saved_state(project, IMPORT_STATE)
    missing = []
    for stream, table in (("contacts", "contacts"), ("deals", "opportunities")):
        mark = bookmark(state, stream)
        if mark is None:
            continue
        key = TABLES[table]
        have = keyed(store[table], key)
        for row in clean[table]:
            updated = row.get("updated_at")
            if updated and _utc(str(updated)) < _utc(mark) and \
                    have.get(str(row[key])) != json.dumps(row, sort_keys=True):
                missing.append(f"{table}:{row[key]} (updated {updated} < bookmark {mark})")
    return missing


# ---- the push input --------------------------------------------------------------------------
def push_files(project: Project, sb: Sandbox) -> dict[str, list[str]]:
    """The Abmatic export files of every push scenario (the same in every sandbox): 3 accounts
    (2 new, 1 existing), 13 visitors (9 new, 4 existing contacts updated) with lists, tags,
    automations, job titles and scores. Returns the keys pushed."""
    with sb.store.lock:
        existing = [c for c in sb.store.objects("contacts")
                    if normalize_email(c.get("email")) and c.get("bounced_hard") == "0"][:4]
        old_account = next(a for a in sb.store.objects("accounts")
                           if normalize_domain(a.get("accountUrl")))
        list_name = sb.store.objects("lists")[0]["name"]
        automation = sb.store.objects("automations")[1]["name"]
    project.write_jsonl("accounts-faults.jsonl", [
        {"website_domain": "fault-alpha.com", "company_name": "Fault Alpha",
         "phone": "+1 206 555 0100"},
        {"website_domain": "fault-beta.com", "company_name": "Fault Beta", "phone": None},
        {"website_domain": normalize_domain(old_account["accountUrl"]),
         "company_name": old_account["name"], "phone": "+1 206 555 0111"},
    ])
    new = [
        {"work_email": f"visitor{i}@fault-{'alpha' if i % 2 else 'beta'}.com",
         "first_name": f"Visitor{i}", "last_name": "Fault", "phone": f"+1 206 555 01{i:02d}",
         "company_name": "Fault Alpha" if i % 2 else "Fault Beta",
         "job_title": "Buyer" if i % 3 else None,
         "account_domain": f"fault-{'alpha' if i % 2 else 'beta'}.com",
         "engagement_score": 10 * i, "add_to_lists": [list_name],
         "add_tags": ["fault-revealed"],
         "start_automations": [automation] if i % 4 == 0 else None, "event": "revealed"}
        for i in range(1, 9)
    ]
    updates = [
        {"work_email": c["email"].upper(), "first_name": "Changed", "phone": "+1 312 555 0199",
         "engagement_score": 77 + i, "add_tags": ["fault-engaged" if i < 2 else "fault-late"],
         "start_automations": [automation] if i == 3 else None, "event": "enriched"}
        for i, c in enumerate(existing)
    ]
    late = {"work_email": "late.visitor@fault-alpha.com", "first_name": "Late",
            "last_name": "Visitor", "account_domain": "fault-alpha.com", "job_title": "CFO",
            "engagement_score": 55, "add_tags": ["fault-late"], "add_to_lists": [list_name],
            "start_automations": [automation], "event": "revealed"}
    # Batches of 10: the first (8 new + 2 updates) goes through the bulk importer, the second
    # (the late visitor + 2 updates) through contact/sync.
    project.write_jsonl("visitors-1.jsonl", new)
    project.write_jsonl("visitors-2.jsonl", [*updates[:2], late, *updates[2:]])
    return {
        "contacts": [normalize_email(r["work_email"]) or "" for r in [*new, late, *updates]],
        "accounts": ["fault-alpha.com", "fault-beta.com",
                     normalize_domain(old_account["accountUrl"]) or ""],
    }


# ---- import: what changes in ActiveCampaign between the first import and the faulted one ----
def change_contacts(sb: Sandbox, ts: float) -> None:
    """Three contacts renamed and one created, all at `ts` (after the first import)."""
    with sb.store.lock:
        for cid in TOUCHED_IDS:
            sb.store.update_contact(cid, {"firstName": f"Renamed{cid}"}, ts=ts)
        sb.store.new_contact(NEW_CONTACT, "New", "Comer", "+1 312 555 0123", cts=ts)


# ---- results ---------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What one scenario did and found (the table row and what the tests check)."""

    fault: str
    job: str
    expect: str  # recover | fail | kill
    runs: list[Run] = field(default_factory=list)
    served: int = 0  # faults the sandbox actually served during the faulted run
    kill_after: int | None = None
    expected: int = 0
    found: int = 0
    duplicates: int = 0
    mismatches: list[str] = field(default_factory=list)
    ahead: list[str] = field(default_factory=list)  # bookmark checks after every run
    state_after_fault: dict[str, Any] = field(default_factory=dict)
    state_before: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""

    @property
    def first(self) -> Run:
        return self.runs[0]

    def outcome(self) -> str:
        if self.error:
            return f"ERROR: {self.error[:60]}"
        if self.mismatches or self.duplicates or self.ahead:
            return f"DIFFERS ({len(self.mismatches)} rows, {len(self.ahead)} behind bookmark)"
        first = self.first.returncode
        if self.expect == "kill":
            rerun = "plain rerun refused (already running), --force rerun" \
                if len(self.runs) == 3 else "rerun"
            return f"killed after {self.kill_after} requests; {rerun} = clean run"
        if first == 0:
            return "recovered in the run (retries)"
        said = clear_messages(self.first.output)
        line = next((m for m in said if "Push stopped before completion" not in m),
                    said[0]) if said else f"exit {first}"
        return f"stopped: {line[:70]}; rerun = clean run"


def marks(state: dict[str, Any]) -> dict[str, Any]:
    """What a state says was done: replication bookmarks and pushed-file hashes per stream."""
    return {stream: b.get("replication_key_value") or b.get("file_hashes")
            for stream, b in (state.get("bookmarks") or {}).items()
            if isinstance(b, dict) and (b.get("replication_key_value") or b.get("file_hashes"))}


_PLUGIN_LINE = re.compile(r"\] (?:tap-activecampaign|target-activecampaign|abmatic-mapper|meltano)"
                          r"\s+(.*)$")
CLEAR_MESSAGES = ("rejected the API key", "failed after", "timed out after",
                  "already running", "in a row failed", "could not be written",
                  "STATE was not advanced")


def clear_messages(output: str) -> list[str]:
    """The one-line errors the plugins (or Meltano) printed for the user."""
    found = []
    for line in output.splitlines():
        m = _PLUGIN_LINE.search(line)
        if m and any(text in m.group(1) for text in CLEAR_MESSAGES) and "; retry " not in line:
            found.append(m.group(1).strip())
    return found
