"""CPU seconds, peak memory, requests and seconds of one account-run (import + push, the
`sync_account` Dagster run) at 10,000 contacts, through the real deployment: a sandbox at
5 requests/s, `dagster dev`, the run queue, Pipes, `meltano run`.

    .tools/dagster/bin/python benchmarks/bench_accounts.py [--contacts 10000] [--accounts 1]
        [--runs 1] [--touch-percent 1]

(run `bash scripts/dagster.sh --ensure` first). `--runs N` submits `sync_account` N times one
after another (each once the previous finished): run 1 is the first, full import; runs 2+ are
incremental imports (and a push of unchanged files). Before each of runs 2+, `--touch-percent`
of the sandbox's contacts are changed through the API (`PUT /api/3/contacts/{id}`, a new
phone number, paced under the sandbox's rate limit) so the incremental import has changes to
bring; those requests are not counted in the next run's requests. While the runs execute,
every process of the `dagster dev` session that was started after the submission (the run
worker, the Pipes wrapper, meltano, the tap, the mapper, the targets) is sampled from /proc
every 0.2 s: CPU is the sum of each process's last utime+stime, peak memory the largest sum of
their RSS at one moment. The idle webserver, daemon and code server are reported apart (a fixed
cost of the deployment, not of an account-run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "orchestration"))
from abmatic_dagster.deployment import (
    SANDBOX_KEY,
    DagsterDev,
    Sandbox,
    instance_for,
    latest_metadata,
    register_accounts,
    wait_for_runs,
)
from abmatic_dagster.environment import REPO_ROOT
from abmatic_dagster.instance import write_instance

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def session_procs(sid: int) -> dict[int, tuple[float, int]]:
    """{pid: (cpu seconds, rss bytes)} of the live processes of session ``sid``."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) != sid:  # field 6 of stat: the session id
            continue
        cpu = (int(fields[11]) + int(fields[12])) / TICK
        out[int(entry)] = (cpu, int(fields[21]) * PAGE)
    return out


def measure(dev: DagsterDev, home: Path, sid: int, idle: dict, names: list[str]
            ) -> tuple[dict[str, str], dict, float, int]:
    """Submit ``sync_account`` for every account, sample the run's processes until all
    finished: (run ids, run records, CPU seconds of the run's processes, peak RSS bytes)."""
    runs = {n: dev.submit("sync_account", n) for n in names}
    cpu: dict[int, float] = {}
    peak = 0
    t0 = time.monotonic()
    ids = list(runs.values())
    instance = instance_for(home)
    while True:
        procs = {p: v for p, v in session_procs(sid).items() if p not in idle}
        for pid, (c, _) in procs.items():
            cpu[pid] = max(cpu.get(pid, 0.0), c)
        peak = max(peak, sum(r for _, r in procs.values()))
        done = [r for r in instance.get_run_records() if r.dagster_run.run_id in ids and
                r.dagster_run.status.value in ("SUCCESS", "FAILURE", "CANCELED")]
        if len(done) == len(ids):
            break
        if time.monotonic() - t0 > 1800:
            raise TimeoutError("runs did not finish in 30 minutes")
        time.sleep(0.2)
    return runs, wait_for_runs(home, ids, timeout=60), sum(cpu.values()), peak


def account_rows(home: Path, names: list[str], runs: dict[str, str], records: dict,
                 sandboxes: dict[str, Sandbox], before: dict[str, dict]) -> list[dict[str, Any]]:
    """One row per account; requests and 429s are the sandbox's counts since ``before``."""
    rows = []
    for n in names:
        rec = records[runs[n]]
        imp = latest_metadata(home, ["abmatic", "contacts"], n)
        push = latest_metadata(home, ["activecampaign", "push"], n)
        stats = sandboxes[n].stats()
        base = before.get(n, {})
        rows.append({
            "account": n, "status": rec.dagster_run.status.value,
            "contacts": imp.get("rows_in_store"), "contacts_written": imp.get("rows_written"),
            "requests": stats["total_requests"] - base.get("total_requests", 0),
            "429s": stats["throttled_429"] - base.get("throttled_429", 0),
            "import_requests": imp.get("requests"), "push_requests": push.get("requests"),
            "seconds": round(rec.end_time - rec.start_time, 1),
            "import_seconds": imp.get("seconds"), "push_seconds": push.get("seconds"),
            "meltano_cpu_s": round(float(imp.get("cpu_seconds", 0)) +
                                   float(push.get("cpu_seconds", 0)), 1),
            "import_cpu_s": imp.get("cpu_seconds"), "push_cpu_s": push.get("cpu_seconds"),
        })
    return rows


def run_summary(run_no: int, kind: str, rows: list[dict[str, Any]], cpu: float, peak: int,
                names: list[str], touched: int) -> dict[str, Any]:
    """Per account-run figures of one round (averaged over the accounts run at once)."""
    k = len(names)
    return {"run": run_no, "kind": kind, "touched": touched,
            "contacts_written": rows[0]["contacts_written"],
            "status": ",".join(sorted({r["status"] for r in rows})),
            "requests": round(sum(r["requests"] for r in rows) / k),
            "import_requests": rows[0]["import_requests"],
            "push_requests": rows[0]["push_requests"],
            "429s": sum(r["429s"] for r in rows),
            "seconds": max(r["seconds"] for r in rows),
            "import_seconds": rows[0]["import_seconds"], "push_seconds": rows[0]["push_seconds"],
            "meltano_cpu_s": round(sum(r["meltano_cpu_s"] for r in rows) / k, 1),
            "import_cpu_s": rows[0]["import_cpu_s"], "push_cpu_s": rows[0]["push_cpu_s"],
            "cpu_s": round(cpu / k, 1), "peak_rss_mib": round(peak / 2**20 / k)}


def print_series(series: list[dict[str, Any]], accounts: int) -> None:
    print(f"\nruns one after another (per account-run; {accounts} account(s) each round)\n")
    print("| run | kind | contacts touched before | contacts imported | status |"
          " requests (import / push) | 429s |"
          " seconds (import / push) | CPU s, all processes (meltano import / push) |"
          " peak memory MiB |")
    print("|--:|---|--:|--:|---|--:|--:|--:|--:|--:|")
    for r in series:
        print(f"| {r['run']} | {r['kind']} | {r['touched']} | {r['contacts_written']} | "
              f"{r['status']} | {r['requests']} "
              f"({r['import_requests']} / {r['push_requests']}) | {r['429s']} | {r['seconds']} "
              f"({r['import_seconds']} / {r['push_seconds']}) | {r['cpu_s']} "
              f"({r['import_cpu_s']} / {r['push_cpu_s']}) | {r['peak_rss_mib']} |")
    print(json.dumps({"runs": series}))


def touch_contacts(sandbox: Sandbox, percent: float, round_no: int) -> int:
    """Change ``percent`` of the sandbox's contacts through the API (a new phone number, so
    their ``udate`` moves and an incremental import must bring them); returns how many."""
    ids = sorted(int(c["id"]) for c in sandbox.get("/_sandbox/objects/contacts")["contacts"])
    step = max(1, round(100 / percent)) if percent > 0 else 0
    chosen = ids[round_no % step::step] if step else []
    for i, cid in enumerate(chosen):
        body = json.dumps({"contact": {"phone": f"+1555{round_no:02d}{i:05d}"}}).encode()
        for _attempt in range(5):
            req = urllib.request.Request(
                f"{sandbox.base_url}/api/3/contacts/{cid}", data=body, method="PUT",
                headers={"Api-Token": SANDBOX_KEY, "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=10):
                    break
            except urllib.error.HTTPError as exc:
                if exc.code != 429:
                    raise RuntimeError(f"touching contact {cid} failed: HTTP {exc.code}") from exc
                time.sleep(1.0)
        else:
            raise RuntimeError(f"touching contact {cid}: still 429 after 5 attempts")
        time.sleep(0.22)  # stay under the sandbox's 5 requests/s
    return len(chosen)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=10_000)
    ap.add_argument("--accounts", type=int, default=1, help="accounts run in parallel")
    ap.add_argument("--rate", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=1,
                    help="account-runs one after another (2+ are incremental)")
    ap.add_argument("--touch-percent", type=float, default=1.0,
                    help="percent of the contacts changed before each of runs 2+ (0 = none)")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    root = Path(tempfile.mkdtemp(prefix="bench-accounts-"))
    names = [f"acct{i + 1}" for i in range(args.accounts)]
    sandboxes = {n: Sandbox(args.contacts, args.rate, root / f"sandbox-{n}.log").start()
                 for n in names}
    entries = []
    for n in names:
        exports = root / "exports" / n
        exports.mkdir(parents=True)
        for src in (REPO_ROOT / "demo").glob("*.jsonl"):
            shutil.copy(src, exports / src.name)
        entries.append({"name": n, "api_url": sandboxes[n].base_url,
                        "api_key_env": f"{n.upper()}_KEY", "export_dir": str(exports),
                        "contacts": args.contacts})
    accounts_file = root / "accounts.yml"
    accounts_file.write_text(yaml.safe_dump({"work_dir": "work", "accounts": entries}))
    home = root / "home"
    write_instance(home, max_concurrent_runs=max(1, args.accounts))
    env = {f"{n.upper()}_KEY": SANDBOX_KEY for n in names}
    env.update({"ABMATIC_DAGSTER_AUTOMATION": "off",
                "ACTIVECAMPAIGN_RATE_BUDGET_DIR": str(root / "rate-budget")})
    dev = DagsterDev(home, accounts_file, env, log_path=root / "dagster-dev.log").start()
    try:
        register_accounts(home, names)
        time.sleep(3)
        assert dev.proc is not None
        sid = os.getsid(dev.proc.pid)
        idle = session_procs(sid)
        idle_rss = sum(r for _, r in idle.values()) / 2**20
        runs, records, total_cpu, peak = measure(dev, home, sid, idle, names)
        rows = account_rows(home, names, runs, records, sandboxes, {})
        print(f"\n{args.accounts} account-run(s) of {args.contacts} contacts at "
              f"{args.rate:g} requests/s, through dagster dev (2-core machine)\n")
        print("| account | run | contacts in store | requests | 429s | seconds (import / push) |"
              " CPU s (meltano + plugins) |")
        print("|---|---|--:|--:|--:|--:|--:|")
        for r in rows:
            print(f"| {r['account']} | {r['status']} | {r['contacts']} | {r['requests']} | "
                  f"{r['429s']} | {r['seconds']} ({r['import_seconds']} / {r['push_seconds']}) "
                  f"| {r['meltano_cpu_s']} |")
        print(f"\nall processes of the run(s) (run worker, Pipes wrapper, meltano, plugins): "
              f"CPU {total_cpu:.1f} s ({total_cpu / len(names):.1f} s per account-run), "
              f"peak RSS {peak / 2**20:.0f} MiB together "
              f"({peak / 2**20 / len(names):.0f} MiB per account-run)")
        wall = max(r["seconds"] for r in rows)
        print(f"CPU share of one core while running: {total_cpu / len(names) / wall:.1%} "
              f"per account-run (the rest is waiting for the 5 requests/s)")
        print(f"idle deployment (webserver + daemon + code server): {idle_rss:.0f} MiB RSS")
        print(json.dumps({"rows": rows, "cpu_s": round(total_cpu, 1),
                          "peak_rss_mib": round(peak / 2**20), "idle_rss_mib": round(idle_rss)}))
        series = [run_summary(1, "first (full)", rows, total_cpu, peak, names, 0)]
        ok = all(r["status"] == "SUCCESS" and r["429s"] == 0 for r in rows)
        for run_no in range(2, args.runs + 1):
            touched = sum(touch_contacts(sandboxes[n], args.touch_percent, run_no)
                          for n in names)
            before = {n: sandboxes[n].stats() for n in names}
            runs, records, run_cpu, run_peak = measure(dev, home, sid, idle, names)
            run_rows = account_rows(home, names, runs, records, sandboxes, before)
            ok = ok and all(r["status"] == "SUCCESS" and r["429s"] == 0 for r in run_rows)
            series.append(run_summary(run_no, "incremental", run_rows, run_cpu, run_peak,
                                      names, touched))
        if args.runs > 1:
            print_series(series, args.accounts)
        return 0 if ok else 1
    finally:
        dev.stop()
        for s in sandboxes.values():
            s.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
