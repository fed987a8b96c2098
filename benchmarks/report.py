"""One benchmark report for the tap, the mapper and the target, measured in one run.

    .venv/bin/python benchmarks/report.py [--sizes 10000,100000] [--out benchmarks/REPORT.md]

Reuses the standalone benchmarks (bench_tap.py, bench_mapper.py, bench_target.py) and runs,
for each size N:
- tap-activecampaign: a full sync of ``contacts`` with custom fields from a sandbox of N demo
  contacts at the real 5 requests/s (plus the whole catalog at the sizes in
  ``--catalog-sizes``, default 10,000 only: 100,000 would take about 25 minutes);
- abmatic-mapper vs meltano-map-transform 0.12.3 on N tap-shaped contacts (median of 3);
- target-activecampaign: N new contacts into a fresh sandbox at the real limits (5 req/s,
  bulk import 100 requests/min), then, at the sizes in ``--update-sizes`` (default 10,000),
  the same N again with half of them changed; against one ``POST /contact/sync`` per contact,
  measured once on ``--baseline`` contacts and extrapolated to N.
and the tap's whole-catalog incremental runs (no change, 1% changed; today's full-table
memberships, riding memberships with and without sideloads, a due reconciliation) at the
sizes in ``--incremental-sizes`` (requests counted at an unlimited rate, seconds at 5/s).
Peak memory is each plugin process's own peak RSS (``os.wait4`` on the child). Prints one
Markdown table on stdout (progress on stderr) and writes it with the targets, the date, the
machine and the command to ``--out``. About 25 minutes with the defaults on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_mapper
import bench_tap
import bench_target

ROOT = Path(__file__).resolve().parent.parent
STARTED = time.monotonic()

HEADER = ["N", "plugin", "run", "records", "seconds", "records/s", "requests",
          "requests / 1,000 records", "share of ceiling", "429s", "contacts / write request",
          "vs baseline", "peak RSS MiB"]
ALIGN_RIGHT = {0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}


def log(message: str) -> None:
    elapsed = time.monotonic() - STARTED
    print(f"[report {elapsed / 60:5.1f} min] {message}", file=sys.stderr, flush=True)


def sizes_arg(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x.strip()]


# ---- measurements ---------------------------------------------------------------------------
def measure_tap(sizes: list[int], catalog_sizes: set[int]) -> dict[int, dict[str, Any]]:
    out = {}
    for n in sizes:
        runs = ("contacts", "catalog") if n in catalog_sizes else ("contacts",)
        log(f"tap: {n:,} contacts ({' + '.join(runs)})")
        out[n] = bench_tap.measure(n, runs)
    return out


def measure_incremental(sizes: list[int]) -> dict[int, list[dict[str, Any]]]:
    """bench_tap.measure_incremental at each size: whole-catalog incremental runs."""
    out = {}
    for n in sizes:
        log(f"tap incremental: {n:,} contacts (no change, 1% changed; 4 kinds of run)")
        out[n] = bench_tap.measure_incremental(n)["rows"]
    return out


def measure_mapper(sizes: list[int], repeat: int) -> dict[str, dict[int, tuple[float, int, int]]]:
    """bench_mapper.measure at 0 records (the process start alone) and at each size."""
    log(f"mapper: {', '.join(f'{n:,}' for n in sizes)} records, {repeat} runs each")
    with tempfile.TemporaryDirectory(prefix="bench-mapper-") as tmp:
        return bench_mapper.measure([0, *sizes], Path(tmp), repeat=repeat)


def measure_target(sizes: list[int], update_sizes: set[int], baseline_n: int,
                   seeded: int) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    base_r: dict[str, Any] = {}
    for n in sizes:
        with bench_target.sandbox(seeded) as base, tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            log(f"target: {n:,} new contacts")
            out[n] = {"new": bench_target.push_process(base, bench_target.records(n), work,
                                                       "new contacts")}
            if n in update_sizes:
                log(f"target: {n:,} contacts again, half changed")
                out[n]["updates"] = bench_target.push_process(
                    base, bench_target.records(n, changed_every=2), work, "updates")
            if not base_r:
                log(f"target baseline: one contact/sync per contact x {baseline_n}")
                base_r = bench_target.baseline(base, baseline_n)
                base_r["throttled"] = bench_target.stats(base).get("throttled_429", 0)
    return out, base_r


# ---- table ----------------------------------------------------------------------------------
def _f(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def incremental_rows(n: int, runs: list[dict[str, Any]]) -> list[list[str]]:
    """One row per incremental run; seconds = requests at the real 5 requests/s."""
    return [[f"{n:,}", "tap-activecampaign", f"incremental, {r['change']}: {r['label']}",
             _f(r["records"]), _f(r["seconds"], 1), "", _f(r["requests"]),
             _f(r["requests"] * 1000 / max(1, r["records"]), 1), "seconds at 5 req/s", "n/a",
             "", "", ""] for r in runs]


def build_rows(sizes: list[int], tap: dict[int, dict[str, Any]],
               mapper: dict[str, dict[int, tuple[float, int, int]]],
               target: dict[int, dict[str, Any]], base_r: dict[str, Any],
               incremental: dict[int, list[dict[str, Any]]] | None = None) -> list[list[str]]:
    rows: list[list[str]] = []
    base_rate = base_r["records"] / base_r["seconds"]
    base_req_per_record = base_r["requests"] / base_r["records"]
    for n in sizes:
        size = f"{n:,}"
        for key, label in (("contacts", "full sync: contacts + custom fields"),
                           ("catalog", "full sync: whole catalog")):
            if key not in tap[n]:
                continue
            r = tap[n][key]
            records = sum(r["records"].values())
            requests = r["stats"]["total_requests"]
            if key == "catalog":
                label += f" ({tap[n]['streams']} streams)"
            rows.append([size, "tap-activecampaign", label, _f(records), _f(r["elapsed"], 1),
                         _f(records / r["elapsed"]), _f(requests),
                         _f(requests * 1000 / records, 1),
                         f"{requests / (r['elapsed'] * bench_tap.RATE):.1%} of 5 req/s",
                         str(r["stats"]["throttled_429"]), "", "", _f(r["peak_mb"])])
        rows.extend(incremental_rows(n, (incremental or {}).get(n, [])))
        mt_seconds = mapper[bench_mapper.MT_TOOL][n][0]
        for tool, label in (("abmatic-mapper", "import, default mapping"),
                            (bench_mapper.MT_TOOL, "equivalent rename map (baseline)")):
            seconds, rss, out = mapper[tool][n]
            rows.append([size, tool, label, _f(out), _f(seconds, 2), _f(n / seconds), "", "",
                         "", "", "", f"{mt_seconds / seconds:.2f}x", str(rss)])
        for key, label in (("new", "push: new contacts (bulk importer)"),
                           ("updates", "push: same contacts, half changed")):
            if key not in target[n]:
                continue
            r = target[n][key]
            rate = r["records"] / r["seconds"]
            per_write = r["written"] / r["writes"] if r["writes"] else float("nan")
            ceiling = r["written"] / r["seconds"] / bench_target.BULK_CEILING_PER_S
            rows.append([size, "target-activecampaign", label, _f(r["records"]),
                         _f(r["seconds"], 1), _f(rate), _f(r["requests"]),
                         _f(r["requests"] * 1000 / r["records"], 1),
                         f"{ceiling:.0%} of bulk importer", str(r["throttled"]),
                         _f(per_write, 1), f"{rate / base_rate:.0f}x", _f(r["peak_mb"])])
        rows.append([size, "baseline (target)",
                     f"one contact/sync per contact (measured on {base_r['records']}, "
                     "extrapolated)", _f(n), _f(n / base_rate), _f(base_rate, 1),
                     _f(n * base_req_per_record), _f(base_req_per_record * 1000, 1),
                     f"{base_r['requests'] / (base_r['seconds'] * 5):.0%} of 5 req/s",
                     str(base_r["throttled"]),
                     _f(base_r["written"] / base_r["writes"], 2), "1x", "n/a"])
    return rows


def markdown_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if i in ALIGN_RIGHT else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" if i in ALIGN_RIGHT else "-" * (w + 2)
                          for i, w in enumerate(widths)) + "|"
    return "\n".join([line(HEADER), rule, *(line(r) for r in rows)])


# ---- targets --------------------------------------------------------------------------------
def check_targets(sizes: list[int], tap: dict[int, dict[str, Any]],
                  mapper: dict[str, dict[int, tuple[float, int, int]]],
                  target: dict[int, dict[str, Any]],
                  incremental: dict[int, list[dict[str, Any]]] | None = None) -> list[str]:
    lines = []

    def verdict(ok: bool, text: str) -> None:
        lines.append(f"- {'MET' if ok else 'MISSED'}: {text}")

    for n in sizes:
        r = tap[n]["contacts"]
        requests = r["stats"]["total_requests"]
        share = requests / (r["elapsed"] * bench_tap.RATE)
        per_1k = requests * 1000 / max(1, r["records"].get("contacts", 0))
        verdict(share >= 0.95, f"tap, {n:,} contacts: >= 95% of the 5 req/s ceiling "
                               f"(measured {share:.1%})")
        verdict(r["stats"]["throttled_429"] == 0,
                f"tap, {n:,} contacts: zero 429s (measured {r['stats']['throttled_429']})")
        verdict(per_1k <= 12, f"tap, {n:,} contacts: <= 12 requests per 1,000 contacts on a "
                              f"full contacts sync with custom fields (measured {per_1k:.1f})")
        if "catalog" in tap[n]:
            c = tap[n]["catalog"]
            c_share = c["stats"]["total_requests"] / (c["elapsed"] * bench_tap.RATE)
            verdict(c_share >= 0.95 and c["stats"]["throttled_429"] == 0,
                    f"tap, whole catalog at {n:,} contacts: >= 95% of the ceiling, zero 429s "
                    f"(measured {c_share:.1%}, {c['stats']['throttled_429']} 429s)")
    for n, runs in sorted((incremental or {}).items()):
        by = {(r["change"], r["mode"]): r for r in runs}
        quiet = by.get(("no change", "sideloads"))
        if quiet:
            verdict(quiet["requests"] <= 15,
                    f"tap, incremental at {n:,} contacts, no change, account that sideloads: "
                    f"<= 15 requests (measured {quiet['requests']})")
        today, ride = by.get(("1% changed", "today")), by.get(("1% changed", "sideloads"))
        if today and ride:
            verdict(ride["requests"] < today["requests"],
                    f"tap, incremental at {n:,} contacts, 1% changed: fewer requests than "
                    f"full-table memberships (measured {ride['requests']} vs "
                    f"{today['requests']})")
    for n in sizes:
        ratio = mapper[bench_mapper.MT_TOOL][n][0] / mapper["abmatic-mapper"][n][0]
        verdict(ratio >= 2, f"mapper, {n:,} records: >= 2x meltano-map-transform's records/s "
                            f"(measured {ratio:.2f}x)")
    rss = {n: mapper["abmatic-mapper"][n][1] for n in sizes}
    lo, hi = min(sizes), max(sizes)
    if lo != hi:
        verdict(rss[hi] <= rss[lo] * 1.10 + 2,
                f"mapper: memory flat, peak RSS at {hi:,} within 10% of {lo:,} "
                f"(measured {rss[lo]} -> {rss[hi]} MiB)")
    for n in sizes:
        r = target[n]["new"]
        per_write = r["written"] / r["writes"] if r["writes"] else 0.0
        ceiling = r["written"] / r["seconds"] / bench_target.BULK_CEILING_PER_S
        verdict(per_write >= 200, f"target, {n:,} new contacts: >= 200 contacts per write "
                                  f"request (measured {per_write:.1f})")
        verdict(ceiling >= 0.90, f"target, {n:,} new contacts: >= 90% of the bulk importer's "
                                 f"ceiling of {bench_target.BULK_CEILING_PER_S:.0f} contacts/s "
                                 f"(measured {ceiling:.0%})")
    return lines


# ---- report ---------------------------------------------------------------------------------
def machine() -> str:
    mem_kb = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines()
                  if x.startswith("MemTotal:"))
    cpu = next((x.split(":", 1)[1].strip() for x in Path("/proc/cpuinfo").read_text()
                .splitlines() if x.startswith("model name")), platform.processor() or "?")
    return (f"{len(os.sched_getaffinity(0))} cores (nproc; {cpu}), "
            f"{mem_kb / 1024 ** 2:.1f} GiB RAM, Python {platform.python_version()} "
            f"({platform.system()} {platform.release()})")


def revision() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                                capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, text=True, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}{' + uncommitted changes' if dirty.strip() else ''}"


def notes(sizes: list[int], tap: dict[int, dict[str, Any]],
          mapper: dict[str, dict[int, tuple[float, int, int]]],
          target: dict[int, dict[str, Any]], base_r: dict[str, Any], seeded: int) -> list[str]:
    catalog_sizes = [n for n in sizes if "catalog" in tap[n]]
    update_sizes = [n for n in sizes if "updates" in target[n]]
    out = [
        "- **tap**: `tap-activecampaign` as a child process against an in-process sandbox "
        "seeded with N demo contacts, rate limited to 5 requests/s like a real account. The "
        "`contacts` row is a full sync of the contacts stream with custom fields only; it is "
        "the only tap figure at the sizes without a whole-catalog row. The whole catalog is "
        "synced only at "
        f"{', '.join(f'{n:,}' for n in catalog_sizes) or 'no size'} (it needs ~5 requests per "
        "100 contacts: ~18 minutes at 100,000). Requests are counted by the sandbox; share of "
        "ceiling = requests / (seconds x 5).",
        "- **tap, incremental**: the whole catalog from one full run's state, in one sandbox "
        "of N demo contacts, with no change and after touching 1% of the contacts: today's "
        "behaviour (`membership_reconcile_hours: 0`: the membership and account tables in "
        "full every run), memberships riding along with the contacts (`include=`; an account "
        "that ignores it: per contact or the table, whichever costs fewer requests), and a "
        "due reconciliation (the tables in full, every 24 h by default). Requests are counted "
        "by the sandbox with the rate limit off; seconds = requests / 5, the time they take "
        "at the real 5 requests/s. Records include every stream's (small tables too).",
        "- **mapper**: N tap-shaped `contacts` records piped through `abmatic-mapper` (import, "
        f"default mapping) and `{bench_mapper.MT_TOOL}` (equivalent rename map, own venv "
        "`.venv-bench/map-transform`); seconds include the process start (with no records: "
        f"{mapper['abmatic-mapper'][0][0]:.2f} s for abmatic-mapper, "
        f"{mapper[bench_mapper.MT_TOOL][0][0]:.2f} s for meltano-map-transform), which weighs "
        "on the smaller size; median of 3 alternating runs, peak RSS the highest of the 3. "
        "vs baseline = records/s ratio.",
        "- **target**: `target-activecampaign` as a child process against a sandbox in its own "
        f"process (seeded with {seeded} contacts; 5 requests/s, bulk import 100 multi-contact "
        "requests/min). `new contacts` = N contacts that do not exist yet; `half changed` = "
        "the same N pushed again with every other last name changed (N/2 updates, N/2 "
        "unchanged; run at "
        f"{', '.join(f'{n:,}' for n in update_sizes) or 'no size'} only). Share of ceiling = "
        f"contacts written/s / {bench_target.BULK_CEILING_PER_S:.0f} contacts/s (100 "
        "requests/min x 250 contacts); a push of <= 100 bulk requests fits in one minute's "
        "allowance and can exceed it. Contacts / write request = contacts written / non-GET "
        "requests. vs baseline = records/s ratio.",
        f"- **baseline (target)**: one `POST /contact/sync` per contact through the shared "
        f"client's 5 req/s pacer, measured once on {base_r['records']} contacts "
        f"({base_r['seconds']:.1f} s, {base_r['requests']} requests, "
        f"{base_r['throttled']} 429s) and extrapolated linearly to N; it is the harness "
        "itself, so it has no plugin RSS.",
        "- Peak RSS: each plugin process's own maximum resident set (`os.wait4` on the "
        "child), not the harness's or the sandbox's.",
    ]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=sizes_arg, default=[10_000, 100_000],
                    help="comma-separated record counts (default 10000,100000)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "REPORT.md")
    ap.add_argument("--catalog-sizes", type=sizes_arg, default=[10_000],
                    help="sizes at which the tap also syncs the whole catalog")
    ap.add_argument("--update-sizes", type=sizes_arg, default=[10_000],
                    help="sizes at which the target also pushes the half-changed contacts")
    ap.add_argument("--baseline", type=int, default=100,
                    help="contacts in the contact/sync baseline sample")
    ap.add_argument("--seeded", type=int, default=200, help="contacts in the target's sandbox")
    ap.add_argument("--mapper-runs", type=int, default=3)
    ap.add_argument("--incremental-sizes", type=sizes_arg, default=[10_000, 100_000],
                    help="sizes at which the tap's whole-catalog incremental runs are measured")
    args = ap.parse_args()
    sizes = sorted(set(args.sizes))
    started_at = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()[0]

    mapper = measure_mapper(sizes, args.mapper_runs)
    tap = measure_tap(sizes, set(args.catalog_sizes))
    incremental = measure_incremental([n for n in sizes if n in set(args.incremental_sizes)])
    target, base_r = measure_target(sizes, set(args.update_sizes), args.baseline, args.seeded)
    minutes = (time.monotonic() - STARTED) / 60
    log("done")

    table = markdown_table(build_rows(sizes, tap, mapper, target, base_r, incremental))
    targets = check_targets(sizes, tap, mapper, target, incremental)
    argv = " ".join(shlex.quote(a) for a in sys.argv[1:])
    command = f".venv/bin/python benchmarks/report.py{' ' + argv if argv else ''}"
    print(table)
    print()
    print("\n".join(targets))

    md = [
        "# Benchmark report: tap, mapper and target",
        "",
        f"- Date: {started_at:%Y-%m-%d %H:%M} UTC (the run took {minutes:.1f} minutes)",
        f"- Machine: {machine()}; 1-minute load average {load_before:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end (the cores are shared)",
        f"- Code: {revision()}",
        f"- Command: `{command}` (from the repository root)",
        "",
        table,
        "",
        "## Targets",
        "",
        *targets,
        "",
        "## Notes",
        "",
        *notes(sizes, tap, mapper, target, base_r, args.seeded),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(md))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
