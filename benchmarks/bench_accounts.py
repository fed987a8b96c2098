"""CPU seconds, peak memory, requests and seconds of one account-run (import + push, the
`sync_account` Dagster run) at 10,000 contacts, through the real deployment: a sandbox at
5 requests/s, `dagster dev`, the run queue, Pipes, `meltano run`.

    .tools/dagster/bin/python benchmarks/bench_accounts.py [--contacts 10000] [--accounts 1]

(run `bash scripts/dagster.sh --ensure` first). While the runs execute, every process of the
`dagster dev` session that was started after the submission (the run worker, the Pipes
wrapper, meltano, the tap, the mapper, the targets) is sampled from /proc every 0.2 s: CPU is
the sum of each process's last utime+stime, peak memory the largest sum of their RSS at one
moment. The idle webserver, daemon and code server are reported apart (a fixed cost of the
deployment, not of an account-run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=10_000)
    ap.add_argument("--accounts", type=int, default=1, help="accounts run in parallel")
    ap.add_argument("--rate", type=float, default=5.0)
    args = ap.parse_args()

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
        records = wait_for_runs(home, ids, timeout=60)
        rows = []
        for n in names:
            rec = records[runs[n]]
            imp = latest_metadata(home, ["abmatic", "contacts"], n)
            push = latest_metadata(home, ["activecampaign", "push"], n)
            stats = sandboxes[n].stats()
            rows.append({
                "account": n, "status": rec.dagster_run.status.value,
                "contacts": imp.get("rows_in_store"),
                "requests": stats["total_requests"], "429s": stats["throttled_429"],
                "seconds": round(rec.end_time - rec.start_time, 1),
                "import_seconds": imp.get("seconds"), "push_seconds": push.get("seconds"),
                "meltano_cpu_s": round(float(imp.get("cpu_seconds", 0)) +
                                       float(push.get("cpu_seconds", 0)), 1),
            })
        total_cpu = sum(cpu.values())
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
        return 0 if all(r["status"] == "SUCCESS" and r["429s"] == 0 for r in rows) else 1
    finally:
        dev.stop()
        for s in sandboxes.values():
            s.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
