"""Benchmark tap-activecampaign against the sandbox at the real 5 requests/s limit.

    .venv/bin/python benchmarks/bench_tap.py [--contacts 10000]

Starts an in-process sandbox (rate limit 5 req/s, like a real account), then runs the
``tap-activecampaign`` console script as a subprocess three times:
1. a full sync of ``contacts`` (with custom fields),
2. a full sync of the whole catalog,
3. after touching 1% of the contacts, an incremental sync of ``contacts`` from run 1's state,
and prints one table: records/s, requests per 1,000 contacts, 429s, share of the request
ceiling used and the tap process's own peak RSS (see childrss.py). Takes about five minutes
for 10,000 contacts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from childrss import run_measured

from activecampaign_sandbox import Sandbox

RATE = 5
TAP = str(Path(sys.executable).with_name("tap-activecampaign"))


def _catalog(config_path: Path, streams: set[str] | None, workdir: Path) -> Path:
    proc = subprocess.run([TAP, "--config", str(config_path), "--discover"], capture_output=True,
                          text=True, check=True)
    catalog = json.loads(proc.stdout)
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = streams is None or entry["stream"] in streams
    path = workdir / f"catalog-{'all' if streams is None else '-'.join(sorted(streams))}.json"
    path.write_text(json.dumps(catalog))
    return path


def _run(sb: Sandbox, config_path: Path, catalog_path: Path, workdir: Path,
         state: dict | None = None) -> dict[str, Any]:
    args = [TAP, "--config", str(config_path), "--catalog", str(catalog_path)]
    if state is not None:
        state_path = workdir / "state.json"
        state_path.write_text(json.dumps(state))
        args += ["--state", str(state_path)]
    time.sleep(1.1)  # the account's 1-second window forgets the previous process's requests
    sb.reset_stats()
    out_path = workdir / "out.jsonl"
    log_path = workdir / "tap.log"
    with out_path.open("w") as out, log_path.open("w") as log:
        # the tap's own peak RSS, not the harness's (which holds the sandbox): see childrss
        measured = run_measured(args, stdout=out, stderr=log, result_dir=workdir)
    elapsed = measured.seconds
    if measured.returncode:
        raise SystemExit(f"tap failed:\n{log_path.read_text()[-3000:]}")
    peak_kb = measured.maxrss_kib
    records: dict[str, int] = {}
    last_state: dict = {}
    with out_path.open() as lines:
        for line in lines:
            message = json.loads(line)
            if message["type"] == "RECORD":
                records[message["stream"]] = records.get(message["stream"], 0) + 1
            elif message["type"] == "STATE":
                last_state = message["value"]
    stats = sb.stats()
    return {"elapsed": elapsed, "records": records, "state": last_state, "stats": stats,
            "peak_mb": peak_kb / 1024}


def _row(label: str, run: dict[str, Any], contacts: int) -> list[str]:
    stats, total_records = run["stats"], sum(run["records"].values())
    requests = stats["total_requests"]
    share = requests / (run["elapsed"] * RATE)
    return [label, f"{total_records:,}", f"{run['elapsed']:.1f}",
            f"{total_records / run['elapsed']:,.0f}", f"{requests:,}",
            f"{requests * 1000 / contacts:.1f}", str(stats["throttled_429"]), f"{share:.1%}",
            f"{run['peak_mb']:.0f}"]


def _log(message: str) -> None:
    print(f"[bench_tap] {message}", file=sys.stderr, flush=True)


def measure(n: int, runs: tuple[str, ...] = ("contacts", "catalog", "incremental"),
            ) -> dict[str, Any]:
    """Run the tap against a fresh sandbox of ``n`` demo contacts at 5 requests/s.

    ``runs`` picks, in this order, ``contacts`` (full sync of contacts with custom fields),
    ``catalog`` (full sync of the whole catalog) and ``incremental`` (contacts from the
    ``contacts`` run's state after touching 1% of the contacts; needs ``contacts``).
    Returns ``{run name: result of _run}`` plus ``touched`` and ``streams`` (catalog size).
    """
    results: dict[str, Any] = {}
    _log(f"seeding a sandbox with {n:,} demo contacts")
    with tempfile.TemporaryDirectory() as tmp, \
            Sandbox(seed="demo", contacts=n, rate_limit=RATE, api_key="bench-key") as sb:
        workdir = Path(tmp)
        config_path = workdir / "config.json"
        config_path.write_text(json.dumps({"api_url": sb.base_url, "api_key": "bench-key",
                                           "requests_per_second": RATE}))
        os.environ.pop("TAP_ACTIVECAMPAIGN_API_KEY", None)
        contacts_catalog = _catalog(config_path, {"contacts"}, workdir)
        if "contacts" in runs:
            _log(f"full sync of contacts + custom fields ({n:,} contacts)")
            results["contacts"] = _run(sb, config_path, contacts_catalog, workdir)
        if "catalog" in runs:
            all_catalog = _catalog(config_path, None, workdir)
            _log(f"full sync of the whole catalog ({n:,} contacts)")
            results["catalog"] = _run(sb, config_path, all_catalog, workdir)
            results["streams"] = len(results["catalog"]["records"])
        if "incremental" in runs:
            ids = sorted(int(c["id"]) for c in sb.store.objects("contacts"))
            touched = ids[:: max(1, len(ids) // max(1, n // 100))][: max(1, n // 100)]
            sb.store.touch_contacts(touched)
            _log(f"incremental sync of contacts ({len(touched)} touched)")
            results["incremental"] = _run(sb, config_path, contacts_catalog, workdir,
                                          state=results["contacts"]["state"])
            results["touched"] = len(touched)
    return results


# ---- incremental runs: what an hourly import costs --------------------------------------------
#: mode -> (label, tap settings, the account sideloads, the reconciliation is due)
INCREMENTAL_MODES: dict[str, tuple[str, dict[str, Any], bool, bool]] = {
    "today": ("today: membership tables read in full (membership_reconcile_hours 0)",
              {"membership_reconcile_hours": 0}, True, False),
    "sideloads": ("memberships ride along (include=), account sideloads", {}, True, False),
    "no-sideloads": ("memberships ride along, account ignores include= (cheaper fallback)",
                     {}, False, False),
    "reconcile": ("reconciliation due (full membership and account tables)", {}, True, True),
}
CHANGES = (("no change", 0.0), ("1% changed", 0.01))


def _aged(state: dict, hours: float) -> dict:
    """The state with every recorded full read ``hours`` older (a due reconciliation)."""
    out = json.loads(json.dumps(state))
    for entry in out.get("bookmarks", {}).values():
        if "reconciled_at" in entry:
            at = dt.datetime.fromisoformat(entry["reconciled_at"]) - dt.timedelta(hours=hours)
            entry["reconciled_at"] = at.isoformat()
    return out


def measure_incremental(n: int) -> dict[str, Any]:
    """Whole-catalog incremental runs from one full run's state, side by side in one sandbox.

    Requests are counted by the sandbox with its rate limit off (the tap's too), so the runs
    take CPU time only; ``seconds`` is what those requests take at the real 5 requests/s
    (requests / 5), the account's budget they use. Returns ``{"full": run, "rows": [...]}``
    with one row per (change, mode): label, change, mode, requests, seconds, records.
    """
    _log(f"incremental: seeding a sandbox with {n:,} demo contacts (rate limit off)")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, \
            Sandbox(seed="demo", contacts=n, rate_limit=None, api_key="bench-key") as sb:
        workdir = Path(tmp)
        base = {"api_url": sb.base_url, "api_key": "bench-key", "requests_per_second": 10_000}
        os.environ.pop("TAP_ACTIVECAMPAIGN_API_KEY", None)

        def config(extra: dict[str, Any]) -> Path:
            path = workdir / f"config-{'-'.join(f'{k}{v}' for k, v in sorted(extra.items()))}.json"
            path.write_text(json.dumps({**base, **extra}))
            return path

        config_path = config({})
        catalog = _catalog(config_path, None, workdir)
        _log(f"incremental: full run of the whole catalog ({n:,} contacts)")
        full = _run(sb, config_path, catalog, workdir)
        for change, share in CHANGES:
            if share:
                ids = sorted(int(c["id"]) for c in sb.store.objects("contacts"))
                k = max(1, int(n * share))
                sb.store.touch_contacts(ids[:: max(1, len(ids) // k)][:k])
            for mode, (label, extra, sideloads, due) in INCREMENTAL_MODES.items():
                sb.api.behaviour.sideloads = sideloads
                state = _aged(full["state"], 25) if due else full["state"]
                _log(f"incremental: {change}, {mode}")
                result = _run(sb, config(extra), catalog, workdir, state=state)
                requests = result["stats"]["total_requests"]
                rows.append({"label": label, "change": change, "mode": mode,
                             "requests": requests, "seconds": requests / RATE,
                             "records": sum(result["records"].values()),
                             "contacts": result["records"].get("contacts", 0)})
            sb.api.behaviour.sideloads = True
    return {"full": full, "rows": rows}


# ---- steady-state hourly runs: the fixed two-day filter margin vs the learned one ----------
def _with_check(state: dict, check: dict) -> dict:
    """The state with ``check`` as the contacts' and deals' filter verdict (rows kept)."""
    out = json.loads(json.dumps(state))
    for name in ("contacts", "deals"):
        entry = out.get("bookmarks", {}).get(name)
        if entry is not None:
            entry["filter_check"] = {**entry.get("filter_check", {}), **check}
            rows = entry["filter_check"].get("rows") or [{}]
            stamp = str(rows[0].get("stamp", ""))
            entry["filter_check"]["offset"] = stamp[-6:] if len(stamp) > 19 else None
    return out


def measure_hourly(n: int) -> list[dict[str, Any]]:
    """1% of the contacts changed in each of the last 48 hours (udates spread over each hour),
    the last hourly run an hour ago (its state: a full run taken then), and this hour's 1%:
    the whole catalog's incremental run with the two-day margin (a filter verdict of "later")
    and with the learned 5-minute margin (the verdict a probe gave). Requests counted by the
    sandbox with its rate limit off; seconds = requests / 5."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, \
            Sandbox(seed="demo", contacts=n, rate_limit=None, api_key="bench-key") as sb:
        workdir = Path(tmp)
        path = workdir / "config.json"
        path.write_text(json.dumps({"api_url": sb.base_url, "api_key": "bench-key",
                                    "requests_per_second": 10_000}))
        os.environ.pop("TAP_ACTIVECAMPAIGN_API_KEY", None)
        catalog = _catalog(path, None, workdir)
        ids = sorted(int(c["id"]) for c in sb.store.objects("contacts"))
        k, now = max(1, n // 100), time.time()

        def touch(hour: int) -> None:  # hour h: udates spread over [now - h h, now - h h + 1 h)
            chunk = ids[(hour - 1) * k: hour * k]
            for i, cid in enumerate(chunk):
                sb.store.touch_contacts([cid], ts=now - hour * 3600 + i * 3600 / len(chunk))

        for hour in range(48, 1, -1):
            touch(hour)
        _log(f"hourly: full run an hour ago ({n:,} contacts, 47 hours of 1% changes)")
        full = _run(sb, path, catalog, workdir)
        touch(1)  # this hour's changes
        learn = _run(sb, path, catalog, workdir, state=_with_check(full["state"], {}))
        learned = learn["state"]["bookmarks"]["contacts"]["filter_check"]
        _log(f"hourly: probe verdict {learned.get('shift')} ({learned.get('probes')} requests)")
        fixed_check = {"shift": "later", "checked_at": learned["checked_at"]}
        for label, check in (("fixed 2-day margin", fixed_check), ("learned margin", learned)):
            result = _run(sb, path, catalog, workdir, state=_with_check(full["state"], check))
            requests = result["stats"]["total_requests"]
            rows.append({"contacts_total": n, "label": label, "requests": requests,
                         "seconds": requests / RATE,
                         "contacts": result["records"].get("contacts", 0),
                         "probes": learned.get("probes", 0)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--hourly", action="store_true",
                        help="steady-state hourly runs (1%% of contacts changed per hour): the "
                             "two-day filter margin vs the learned one")
    parser.add_argument("--incremental", action="store_true",
                        help="only the whole-catalog incremental runs (requests at an unlimited "
                             "rate, seconds at 5 requests/s)")
    args = parser.parse_args()
    n = args.contacts
    if args.hourly:
        print("| contacts | filter margin | contacts read | requests | seconds at 5 req/s |")
        print("|---:|---|---:|---:|---:|")
        for row in measure_hourly(n):
            print(f"| {row['contacts_total']:,} | {row['label']} | {row['contacts']:,} | "
                  f"{row['requests']:,} | {row['seconds']:,.1f} |")
        return
    if args.incremental:
        rows = measure_incremental(n)["rows"]
        print("| change | run | contacts read | records | requests | seconds at 5 req/s |")
        print("|---|---|---:|---:|---:|---:|")
        for row in rows:
            print(f"| {row['change']} | {row['label']} | {row['contacts']:,} | "
                  f"{row['records']:,} | {row['requests']:,} | {row['seconds']:,.1f} |")
        return
    results = measure(n)
    full_contacts, full_all, incremental = (results["contacts"], results["catalog"],
                                            results["incremental"])
    touched = results["touched"]

    header = ["run", "records", "seconds", "records/s", "requests", "req/1k contacts", "429s",
              "share of 5 req/s", "peak RSS MB"]
    rows = [
        _row(f"full: contacts + custom fields ({n:,})", full_contacts, n),
        _row(f"full: whole catalog ({len(full_all['records'])} streams)", full_all, n),
        _row(f"incremental: contacts, {touched} touched (1%)", incremental, n),
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, ["-" * w for w in widths], *rows]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
    print(f"\nincremental contacts read: {incremental['records'].get('contacts', 0)} "
          f"(touched {touched}, plus any at the old bookmark)")
    print("routes (whole catalog):", json.dumps(full_all["stats"]["routes"]))


if __name__ == "__main__":
    main()
