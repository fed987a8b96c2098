"""Fault suite, end to end: the `import` and `push` jobs of meltano.yml under the sandbox's
fault switches, through the plugins and `meltano run`.

Faults: bursts of 429 with and without Retry-After, 5xx bursts and a 5xx storm beyond the retry
budget, slow answers, intermittent and permanent timeouts (answers later than the plugins'
`request_timeout`), truncated JSON, dropped connections, intermittent and permanent 403 on a
valid key, and the whole `meltano run` process group killed with SIGKILL at seeded points.

For each (fault, job): the faulted run either recovers by itself, or stops with a clear one-line
message and without moving its state; then a clean rerun (after a SIGKILL: `--force`, as
Meltano's message says) must leave the Abmatic store (DuckDB) and the sandbox's contacts and
accounts exactly as a clean run does: no record lost, none duplicated, no bookmark ahead of
written data. The scenarios run three at a time (each its own sandbox and project; most of
their time is backoff sleeps), and a table of them is printed at the end of the session
(and written to output/fault-report.md).
"""

from __future__ import annotations

import random
import shutil
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from e2e_helpers import ROOT, Project
from fault_helpers import (
    API_KEY,
    CONTACTS,
    FAULT_SEED,
    IMPORT_STATE,
    PUSH_STATES,
    TABLES,
    GateFaults,
    Outcome,
    change_contacts,
    clear_messages,
    fault_project,
    keyed,
    link_duplicates,
    marks,
    push_files,
    rows_behind_bookmark,
    run_and_kill,
    sandbox_snapshot,
    saved_state,
    store_duplicates,
    store_snapshot,
)

from activecampaign_sandbox import Sandbox

pytestmark = pytest.mark.e2e

WORKERS = 3
KILLS = 3  # SIGKILL points per job


@dataclass(frozen=True)
class Fault:
    name: str
    expect: str  # recover | fail | kill
    switches: dict[str, Any] = field(default_factory=dict)
    gate: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    message: str = ""  # text of the clear message when expect == fail
    kill_fraction: float = 0.0


_kill_rng = random.Random(FAULT_SEED)
_TIGHT = {"TARGET_ACTIVECAMPAIGN_MAX_RETRIES": "2"}  # the push's retry budget, for storms


def _faults(job: str) -> list[Fault]:
    push = job == "push"
    faults = [
        Fault("429 burst with Retry-After", "recover",
              {"throttle_next": 4, "throttle_retry_after": True}),
        Fault("429 burst without Retry-After", "recover",
              {"throttle_next": 4, "throttle_retry_after": False}),
        Fault("5xx burst (15%)", "recover", {"error_rate": 0.15}),
        Fault("5xx storm beyond the retry budget", "fail", {"error_rate": 1.0},
              env=_TIGHT if push else {}, message="failed after"),
        Fault("slow answers (60 ms each)", "recover", {"latency_ms": 60}),
        Fault("timeouts (10% of answers too late)", "recover", gate={"late_rate": 0.1}),
        Fault("timeouts (every answer too late)", "fail", {"latency_ms": 1600},
              env=_TIGHT if push else {}, message="timed out after 1"),
        Fault("truncated JSON (15%)", "recover", {"truncate_rate": 0.15}),
        Fault("dropped connections (15%)", "recover", {"drop_rate": 0.15}),
        Fault("intermittent 403 on a valid key (10%)", "recover", {"forbidden_rate": 0.1}),
        Fault("403 on every request", "fail", {"forbidden_rate": 1.0},
              message="rejected the API key"),
    ]
    if push:
        faults += [
            Fault("timeouts on the first write of each kind", "recover",
                  gate={"late_first_writes": True}),
            Fault("5xx on one record beyond its retries", "fail",
                  gate={"fail_route": "POST /api/3/contact/sync", "fail_from": 1,
                        "fail_count": 2},
                  env={"TARGET_ACTIVECAMPAIGN_MAX_RETRIES": "1"},
                  message="could not be written after retries"),
        ]
    faults += [Fault(f"SIGKILL #{i + 1}", "kill", kill_fraction=_kill_rng.random())
               for i in range(KILLS)]
    return faults


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


SCENARIOS = {f"{job}:{_slug(f.name)}": (job, f) for job in ("import", "push")
             for f in _faults(job)}


def scenario_ids(expect: str | None = None) -> list[str]:
    return [sid for sid, (_, f) in SCENARIOS.items() if expect is None or f.expect == expect]


# ---- baselines: the same steps without faults ---------------------------------------------------
@dataclass
class Baseline:
    job: str
    store: dict[str, list[dict[str, Any]]]
    sandbox: dict[str, Any]
    requests: int  # API requests of the (second, for import) clean run
    seed_dir: Path | None = None  # import: store and state after the first import
    touch_ts: float = 0.0
    pushed: dict[str, list[str]] = field(default_factory=dict)


def import_baseline(tmp: Path) -> Baseline:
    with Sandbox(seed="demo", contacts=CONTACTS, rate_limit=None, api_key=API_KEY) as sb:
        project = fault_project(tmp / "import-baseline", sb)
        project.run("import")
        seed_dir = tmp / "import-seed"
        seed_dir.mkdir()
        shutil.copy(project.output / "abmatic.duckdb", seed_dir / "abmatic.duckdb")
        shutil.copy(project.path / "meltano.db", seed_dir / "meltano.db")
        touch_ts = float(int(time.time()) + 1)
        change_contacts(sb, touch_ts)
        sb.reset_stats()
        project.run("import")
        requests = sb.stats()["total_requests"]
        store = store_snapshot(project.output / "abmatic.duckdb")
        behind = rows_behind_bookmark(project, store, store)
        assert not behind, behind
        return Baseline("import", store, sandbox_snapshot(sb), requests, seed_dir, touch_ts)


def push_baseline(tmp: Path) -> Baseline:
    with Sandbox(seed="demo", contacts=CONTACTS, rate_limit=None, api_key=API_KEY) as sb:
        project = fault_project(tmp / "push-baseline", sb)
        pushed = push_files(project, sb)
        run = project.run("push")
        assert "bulk_requests=1" in run.output and "sync_requests=" in run.output
        return Baseline("push", {}, sandbox_snapshot(sb), sb.stats()["total_requests"],
                        pushed=pushed)


# ---- one scenario ---------------------------------------------------------------------------
def run_scenario(sid: str, base: Baseline, tmp: Path) -> Outcome:
    job, fault = SCENARIOS[sid]
    out = Outcome(fault.name, job, fault.expect)
    started = time.monotonic()
    with Sandbox(seed="demo", contacts=CONTACTS, rate_limit=None, api_key=API_KEY) as sb:
        project = fault_project(tmp / _slug(sid), sb, **fault.env)
        if job == "import":
            assert base.seed_dir is not None
            project.output.mkdir(parents=True, exist_ok=True)
            shutil.copy(base.seed_dir / "abmatic.duckdb", project.output / "abmatic.duckdb")
            shutil.copy(base.seed_dir / "meltano.db", project.path / "meltano.db")
            change_contacts(sb, base.touch_ts)
            out.state_before = saved_state(project, IMPORT_STATE)
        else:
            push_files(project, sb)
            out.state_before = {s: saved_state(project, s) for s in PUSH_STATES}
        sb.reset_stats()
        if fault.expect == "kill":
            out.kill_after = max(1, round(fault.kill_fraction * base.requests))
            out.runs.append(run_and_kill(project, job, sb, out.kill_after))
        else:
            sb.set_faults(seed=FAULT_SEED, **fault.switches)
            gate = GateFaults(sb, **fault.gate)
            out.runs.append(project.meltano("run", job, check=False))
            out.served = gate.served
            sb._gate = gate._gate  # type: ignore[method-assign]
            sb.clear_faults()
        check_state(out, project, sb, base)
        if out.first.returncode != 0:
            rerun = project.meltano("run", job, check=False)
            out.runs.append(rerun)
            if fault.expect == "kill" and rerun.returncode != 0:
                # Meltano refuses while the killed run looks alive; its message names --force.
                out.runs.append(project.meltano("run", "--force", job, check=False))
        compare(out, project, sb, base)
    out.seconds = time.monotonic() - started
    return out


def check_state(out: Outcome, project: Project, sb: Sandbox, base: Baseline) -> None:
    """After the faulted run: no bookmark ahead of what was written."""
    if out.job == "import":
        store = store_snapshot(project.output / "abmatic.duckdb")
        out.ahead += rows_behind_bookmark(project, store, base.store)
        out.state_after_fault = saved_state(project, IMPORT_STATE)
        return
    out.state_after_fault = {s: saved_state(project, s) for s in PUSH_STATES}
    snap = sandbox_snapshot(sb)
    for state_id, stream in zip(PUSH_STATES, ("accounts", "contacts"), strict=True):
        if marks(out.state_after_fault[state_id]) != marks(out.state_before[state_id]):
            out.ahead += [f"{state_id} moved, but {stream} {k} is not as a clean push leaves it"
                          for k in base.pushed[stream]
                          if snap[stream].get(k) != base.sandbox[stream].get(k)]


def compare(out: Outcome, project: Project, sb: Sandbox, base: Baseline) -> None:
    snap = sandbox_snapshot(sb)
    out.duplicates = snap["duplicates"] + link_duplicates(snap, base.sandbox)
    for kind in ("contacts", "accounts"):
        for key in sorted(set(snap[kind]) | set(base.sandbox[kind])):
            if snap[kind].get(key) != base.sandbox[kind].get(key):
                out.mismatches.append(f"sandbox {kind} {key}: {snap[kind].get(key)} != "
                                      f"clean {base.sandbox[kind].get(key)}")
    if out.job == "push":
        keys = [("contacts", k) for k in base.pushed["contacts"]] + [
            ("accounts", k) for k in base.pushed["accounts"]]
        out.expected = len(keys)
        out.found = sum(1 for kind, k in keys
                        if k in snap[kind] and snap[kind][k] == base.sandbox[kind][k])
        return
    store = store_snapshot(project.output / "abmatic.duckdb")
    out.duplicates += store_duplicates(store)
    out.ahead += rows_behind_bookmark(project, store, base.store)
    for table, key in TABLES.items():
        have, want = keyed(store[table], key), keyed(base.store[table], key)
        out.expected += len(want)
        out.found += sum(1 for k, row in want.items() if have.get(k) == row)
        out.mismatches += [f"store {table} {k}: {'missing' if k not in have else 'differs'}"
                           for k in sorted(want) if have.get(k) != want[k]]
        out.mismatches += [f"store {table} {k}: extra" for k in sorted(set(have) - set(want))]


# ---- fixtures: run what the session selected, three at a time, report a table ---------------
REPORT: list[Outcome] = []


class _Report:
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not REPORT:
            return
        lines = report_table(REPORT)
        terminalreporter.section(f"fault suite (seed {FAULT_SEED}, {CONTACTS} contacts)")
        for line in lines:
            terminalreporter.write_line(line)


def report_table(rows: list[Outcome]) -> list[str]:
    head = ("fault", "job", "runs", "records expected", "records found", "duplicates",
            "outcome")
    body = [(o.fault, o.job, str(len(o.runs)), str(o.expected), str(o.found),
             str(o.duplicates), f"{o.outcome()} ({o.seconds:.0f} s)")
            for o in sorted(rows, key=lambda o: (o.job, list(SCENARIOS).index(
                f"{o.job}:{_slug(o.fault)}")))]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]

    def fmt(r: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    return [fmt(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
            *[fmt(r) for r in body]]


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, meltano_installed: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Future[Outcome]]]:
    """Every selected scenario, started at once on a pool of WORKERS threads."""
    wanted = sorted({item.callspec.params["sid"] for item in request.session.items
                     if hasattr(item, "callspec") and "sid" in item.callspec.params})
    tmp = tmp_path_factory.mktemp("faults")
    request.config.pluginmanager.register(_Report(), "fault-suite-report")
    pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="fault")
    jobs = {SCENARIOS[sid][0] for sid in wanted}
    bases = {job: pool.submit(import_baseline if job == "import" else push_baseline, tmp)
             for job in sorted(jobs)}

    def task(sid: str) -> Outcome:
        outcome = run_scenario(sid, bases[SCENARIOS[sid][0]].result(), tmp)
        REPORT.append(outcome)
        return outcome

    # the long sleepers (backoff through a whole retry budget) first
    order = sorted(wanted, key=lambda s: (SCENARIOS[s][1].expect != "fail", s))
    futures = {sid: pool.submit(task, sid) for sid in order}
    yield futures
    pool.shutdown(wait=True)
    report = ROOT / "output" / "fault-report.md"
    report.parent.mkdir(exist_ok=True)
    report.write_text(f"# Fault suite (seed {FAULT_SEED}, {CONTACTS} contacts)\n\n"
                      + "\n".join(report_table(REPORT)) + "\n")


def result(outcomes: dict[str, Future[Outcome]], sid: str) -> Outcome:
    return outcomes[sid].result()


# ---- the tests --------------------------------------------------------------------------------
@pytest.mark.parametrize("sid", scenario_ids())
def test_final_store_and_activecampaign_equal_a_clean_run(
    outcomes: dict[str, Future[Outcome]], sid: str
) -> None:
    out = result(outcomes, sid)
    assert out.runs[-1].returncode == 0, out.runs[-1].output[-3000:]
    assert out.mismatches == [], "\n".join(out.mismatches[:20])
    assert out.found == out.expected > 0


@pytest.mark.parametrize("sid", scenario_ids())
def test_no_record_is_duplicated_in_activecampaign_or_the_store(
    outcomes: dict[str, Future[Outcome]], sid: str
) -> None:
    assert result(outcomes, sid).duplicates == 0


@pytest.mark.parametrize("sid", scenario_ids())
def test_no_bookmark_is_ahead_of_written_data(
    outcomes: dict[str, Future[Outcome]], sid: str
) -> None:
    # import: every row updated before a saved bookmark is in the store as a clean run has it
    # (checked after the faulted run and at the end); push: a file is marked as pushed only
    # once every record of it is in ActiveCampaign as a clean push leaves it.
    out = result(outcomes, sid)
    assert out.ahead == [], "\n".join(out.ahead[:20])


@pytest.mark.parametrize("sid", scenario_ids("recover"))
def test_recoverable_fault_is_retried_within_the_run(
    outcomes: dict[str, Future[Outcome]], sid: str
) -> None:
    out = result(outcomes, sid)
    assert out.served > 0, "the fault was never served: the scenario tested nothing"
    assert out.first.returncode == 0, out.first.output[-3000:]
    assert len(out.runs) == 1


@pytest.mark.parametrize("sid", scenario_ids("fail"))
def test_unrecoverable_fault_stops_with_a_clear_message_and_keeps_the_state(
    outcomes: dict[str, Future[Outcome]], sid: str
) -> None:
    out = result(outcomes, sid)
    _, fault = SCENARIOS[sid]
    assert out.served > 0, "the fault was never served: the scenario tested nothing"
    assert out.first.returncode != 0
    said = clear_messages(out.first.output)
    assert any(fault.message in m for m in said), out.first.output[-3000:]
    assert "Traceback" not in out.first.output, out.first.output[-3000:]
    if out.job == "import":
        assert marks(out.state_after_fault) == marks(out.state_before)
    else:  # the accounts block may have passed (its state is checked against the sandbox)
        contacts = PUSH_STATES[1]
        assert marks(out.state_after_fault[contacts]) == marks(out.state_before[contacts])


@pytest.mark.parametrize("sid", scenario_ids("kill"))
def test_killed_run_is_completed_by_the_next_run(
    outcomes: dict[str, Future[Outcome]], sid: str
) -> None:
    out = result(outcomes, sid)
    assert out.first.returncode == -9, "the run ended before its kill point"
    if len(out.runs) == 3:  # Meltano refused the plain rerun: it must say what to do
        assert "already running" in out.runs[1].output and "--force" in out.runs[1].output
    assert out.runs[-1].returncode == 0, out.runs[-1].output[-3000:]
