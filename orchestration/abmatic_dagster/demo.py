"""`bash scripts/dagster.sh demo` and `bash scripts/dagster.sh dev`: three sandbox accounts of
different sizes, each its own sandbox process at 5 requests/s, synced through Dagster.

demo: one `sync_account` run (import + push) per account, all three submitted at once and run
      in parallel by the run queue; prints one table and exits 0 when every run succeeded with
      no 429 at any sandbox.
dev:  the same accounts and instance, with the UI (and the schedules and push sensors on)
      until Ctrl-C.

Everything lives under output/dagster-demo/ (accounts.yml, home/ = DAGSTER_HOME, work/ = the
accounts' Meltano projects and state, stores/, exports/, logs/).
Knobs: ABMATIC_DAGSTER_DEMO_CONTACTS="400,1500,4000", ABMATIC_DAGSTER_DEMO_RATE=5,
ABMATIC_DAGSTER_PORT (dev: 3000).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

import yaml

from .deployment import (
    SANDBOX_KEY,
    DagsterDev,
    Sandbox,
    latest_metadata,
    register_accounts,
    wait_for_runs,
)
from .environment import REPO_ROOT
from .instance import write_instance

DEMO_DIR = REPO_ROOT / "output" / "dagster-demo"
NAMES = ("small-co", "mid-co", "big-co")


def _sizes() -> list[int]:
    raw = os.environ.get("ABMATIC_DAGSTER_DEMO_CONTACTS", "400,1500,4000")
    sizes = [int(x) for x in raw.split(",") if x.strip()]
    if len(sizes) != len(NAMES):
        sys.exit(f"ABMATIC_DAGSTER_DEMO_CONTACTS needs {len(NAMES)} numbers, got {raw!r}")
    return sizes


def key_env(name: str) -> str:
    return name.upper().replace("-", "_") + "_AC_API_KEY"


def write_accounts_file(root: Path, urls: dict[str, str], sizes: dict[str, int]) -> Path:
    accounts = []
    for name in NAMES:
        accounts.append({
            "name": name, "api_url": urls[name], "api_key_env": key_env(name),
            "store": {"duckdb": f"stores/{name}.duckdb"}, "export_dir": f"exports/{name}",
            "contacts": sizes[name]})
    path = root / "accounts.yml"
    path.write_text("# Written by `bash scripts/dagster.sh demo` (sandbox accounts).\n"
                    + yaml.safe_dump({"work_dir": "work", "accounts": accounts},
                                     sort_keys=False), encoding="utf-8")
    return path


def _exports(root: Path) -> None:
    for name in NAMES:
        folder = root / "exports" / name
        folder.mkdir(parents=True, exist_ok=True)
        for src in sorted((REPO_ROOT / "demo").glob("*.jsonl")):
            if not (folder / src.name).exists():
                shutil.copy(src, folder / src.name)


def start(root: Path, clean: bool, automation: bool, port: int = 0):
    if clean and root.exists():
        shutil.rmtree(root)
    (root / "logs").mkdir(parents=True, exist_ok=True)
    rate = float(os.environ.get("ABMATIC_DAGSTER_DEMO_RATE", "5"))
    sizes = dict(zip(NAMES, _sizes(), strict=True))
    sandboxes: dict[str, Sandbox] = {}
    dev: DagsterDev | None = None
    try:
        for name in NAMES:
            sandboxes[name] = Sandbox(sizes[name], rate, root / "logs" / f"sandbox-{name}.log")
            sandboxes[name].start()
            print(f"  sandbox {name:<9} {sizes[name]:>6} contacts  {sandboxes[name].base_url}"
                  f"  ({rate:g} requests/s)", flush=True)
        accounts_file = write_accounts_file(
            root, {n: s.base_url for n, s in sandboxes.items()}, sizes)
        _exports(root)
        home = root / "home"
        write_instance(home, max_concurrent_runs=len(NAMES))
        env = {key_env(n): SANDBOX_KEY for n in NAMES}
        env["ABMATIC_DAGSTER_AUTOMATION"] = "on" if automation else "off"
        env["ACTIVECAMPAIGN_RATE_BUDGET_DIR"] = str(root / "rate-budget")
        dev = DagsterDev(home, accounts_file, env, port=port, log_path=root / "logs" /
                         "dagster-dev.log")
        print("  starting dagster dev (webserver, daemon, code server) ...", flush=True)
        dev.start()
        register_accounts(home, list(NAMES))
        return sandboxes, dev
    except BaseException:
        if dev:
            dev.stop()
        for s in sandboxes.values():
            s.stop()
        raise


def demo() -> int:
    t0 = time.monotonic()
    print(f"==> Dagster demo: three ActiveCampaign sandbox accounts ({DEMO_DIR})", flush=True)
    sandboxes, dev = start(DEMO_DIR, clean=True, automation=False)
    home = DEMO_DIR / "home"
    try:
        print(f"  UI while it runs: {dev.url}", flush=True)
        runs = {name: dev.submit("sync_account", name) for name in NAMES}
        print("  submitted sync_account (import + push) for " + ", ".join(
            f"{n} (run {r[:8]})" for n, r in runs.items()), flush=True)
        records = wait_for_runs(home, list(runs.values()), timeout=1200)
        rows = []
        ok = True
        for name in NAMES:
            rec = records[runs[name]]
            contacts = latest_metadata(home, ["abmatic", "contacts"], name)
            push = latest_metadata(home, ["activecampaign", "push"], name)
            stats = sandboxes[name].stats()
            seconds = (rec.end_time or 0) - (rec.start_time or 0)
            status = rec.dagster_run.status.value
            ok = ok and status == "SUCCESS" and stats["throttled_429"] == 0
            rows.append([name, status, contacts.get("rows_in_store", "-"),
                         push.get("created", "-"), push.get("updated", "-"),
                         push.get("rejected", "-"),
                         int(contacts.get("requests", 0)) + int(push.get("requests", 0)),
                         stats["total_requests"], stats["throttled_429"], f"{seconds:.0f}"])
        header = ["account", "run", "contacts in store", "created", "updated", "rejected",
                  "requests (runs)", "requests (sandbox)", "429s", "seconds"]
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        print()
        for r in [header, ["-" * w for w in widths], *rows]:
            print("  " + "  ".join(str(v).rjust(w) if i else str(v).ljust(w)
                                   for i, (v, w) in enumerate(zip(r, widths, strict=True))))
        print(f"\n  stores: {DEMO_DIR / 'stores'}/<account>.duckdb; activity logs: "
              f"{DEMO_DIR / 'work'}/<account>/project/output/activity-log.jsonl")
        print("  the UI on these accounts: bash scripts/dagster.sh dev")
        print(f"Done in {time.monotonic() - t0:.0f} s: "
              f"{'every run succeeded, no 429' if ok else 'FAILED (see above)'}.")
        return 0 if ok else 1
    finally:
        dev.stop()
        for s in sandboxes.values():
            s.stop()


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def dev_ui() -> int:
    # Ctrl-C, and `kill PID`, stop the UI and the sandboxes (even when started in background)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    port = int(os.environ.get("ABMATIC_DAGSTER_PORT", "3000"))
    print(f"==> dagster dev on the demo accounts ({DEMO_DIR})", flush=True)
    sandboxes, dev = start(DEMO_DIR, clean=False, automation=True, port=port)
    try:
        print(f"  Dagster UI: {dev.url}/assets (Ctrl-C to stop); log: {dev.log_path}", flush=True)
        while dev.proc is not None and dev.proc.poll() is None:
            time.sleep(1)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        dev.stop()
        for s in sandboxes.values():
            s.stop()
