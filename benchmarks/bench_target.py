"""Benchmark target-activecampaign against a sandbox at ActiveCampaign's real limits.

    .venv/bin/python benchmarks/bench_target.py [--contacts 10000] [--baseline 100]
    .venv/bin/python benchmarks/bench_target.py --memory [--before DIR] [--memory-runs ...]

The sandbox runs in its own process (5 requests/s, bulk import 100 multi-contact requests/min,
20 single-contact/min) so the target's memory is measured alone. Phases:
  1. push N new contacts;
  2. push the same N contacts again, half of them with a changed last name (N/2 updates,
     N/2 unchanged);
  3. baseline: one POST /contact/sync per contact for a smaller sample, extrapolated to N.
Requests are counted by the sandbox (/_sandbox/stats), not by the client.

``--memory`` measures instead how the target's peak RSS follows the push, not the account: a
fixed push of 10,000 contacts (1,000 of them already in the account, so the read is a scan)
into accounts of 10,000, 100,000 and 300,000 contacts, and a push of 100,000 (1,000 of them
existing, spread over the batches) into the account of 10,000, also into one that ignores
``ids[]`` (``--no-ids-filter``: later batches then read by email or a new scan). The rate
limits are raised for speed (the requests are what the limits would pace). ``--before DIR``
also runs each push with another ``target_activecampaign`` first on PYTHONPATH (e.g. the
last commit's, written to DIR with ``git archive HEAD target-activecampaign/target_activecampaign
| tar -x -C /tmp/old`` and DIR = /tmp/old/target-activecampaign).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr
from pathlib import Path
from typing import Any

import requests
from childrss import run_measured

from activecampaign_client import ActiveCampaignSession, RequestPacer
from target_activecampaign.objects.contacts import CONTACT_SCHEMA
from target_activecampaign.target import TargetActiveCampaign

API_KEY = "bench-key"
BULK_CEILING_PER_S = 100 * 250 / 60  # 100 requests/min x 250 contacts
TARGET = str(Path(sys.executable).with_name("target-activecampaign"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


REAL_LIMITS = ("--rate-limit", "5")
# --memory: no request limits in the sandbox; the target's own pace is raised to match
RAISED_LIMITS = ("--no-rate-limit", "--no-bulk-limits", "--import-delay", "0.05")
RAISED_CONFIG = {"requests_per_second": 200, "bulk_requests_per_minute": 6000,
                 "bulk_poll_interval": 0.05}


def start_sandbox(port: int, seeded: int,
                  limits: tuple[str, ...] = REAL_LIMITS) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "activecampaign_sandbox", "--port", str(port), "--seed", "demo",
         "--contacts", str(seeded), "--api-key", API_KEY, *limits],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200 + seeded // 100):  # seeding takes ~0.12 s per 1,000 contacts
        try:
            requests.get(f"http://127.0.0.1:{port}/_sandbox/stats", timeout=1)
            return proc
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("sandbox did not start")


def stats(base: str) -> dict[str, Any]:
    return dict(requests.get(f"{base}/_sandbox/stats", timeout=10).json())


def reset(base: str) -> None:
    requests.post(f"{base}/_sandbox/reset-stats", timeout=10)


def records(n: int, changed_every: int = 0, prefix: str = "bench") -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        last = f"Person{i}"
        if changed_every and i % changed_every == 0:
            last += "-v2"
        out.append({"email": f"{prefix}{i:06d}@bench-corp.io", "firstName": f"B{i}",
                    "lastName": last, "phone": f"+1 555 {i:06d}", "event": "revealed"})
    return out


def _input_and_config(base: str, recs: list[dict[str, Any]], workdir: Path,
                      name: str, extra_config: dict[str, Any] | None = None,
                      ) -> tuple[list[str], dict[str, Any]]:
    schema = {**CONTACT_SCHEMA, "x-sync": {"operations": {"create": True, "update": True},
                                           "modes": {"lastName": "overwrite"}}}
    lines = [json.dumps({"type": "SCHEMA", "stream": "contacts", "schema": schema,
                         "key_properties": ["email"]})]
    lines += [json.dumps({"type": "RECORD", "stream": "contacts", "record": r}) for r in recs]
    config = {"api_url": base, "api_key": API_KEY,
              "activity_log_path": str(workdir / f"{name}-activity.jsonl"),
              "rejects_path": str(workdir / f"{name}-rejects.jsonl"),
              "bulk_poll_interval": 0.5, **(extra_config or {})}
    return lines, config


def _result(base: str, recs: list[dict[str, Any]], workdir: Path, name: str,
            elapsed: float, peak_mb: float) -> dict[str, Any]:
    st = stats(base)
    routes = st["routes"]
    writes = sum(v for k, v in routes.items() if not k.startswith("GET "))
    total = sum(routes.values())
    summary = next(json.loads(x) for x in (workdir / f"{name}-activity.jsonl").read_text()
                   .splitlines() if '"type": "summary"' in x)
    counts = summary["counts"][0]
    return {"phase": name, "records": len(recs), "seconds": elapsed, "requests": total,
            "writes": writes, "throttled": st.get("throttled_429", 0),
            "bulk_requests": routes.get("POST /api/3/import/bulk_import", 0),
            "written": counts["created"] + counts["updated"], "counts": counts,
            "contact_reads": routes.get("GET /api/3/contacts", 0), "peak_mb": peak_mb}


def push(base: str, recs: list[dict[str, Any]], workdir: Path, name: str) -> dict[str, Any]:
    """Run the target in this process; ``peak_mb`` is tracemalloc's peak (MB)."""
    lines, config = _input_and_config(base, recs, workdir, name)
    reset(base)
    tracemalloc.start()
    started = time.monotonic()
    with redirect_stderr(io.StringIO()):
        TargetActiveCampaign(config=config).listen(io.StringIO("\n".join(lines) + "\n"))
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return _result(base, recs, workdir, name, elapsed, peak / 1e6)


def push_process(base: str, recs: list[dict[str, Any]], workdir: Path,
                 name: str, extra_config: dict[str, Any] | None = None,
                 pythonpath: str | None = None) -> dict[str, Any]:
    """Run the ``target-activecampaign`` console script as a child process.

    Same phase figures as :func:`push`; ``peak_mb`` is the child's own peak RSS in MiB
    (``os.wait4`` via childrss.py) and ``seconds`` includes the process start. ``pythonpath``
    puts another ``target_activecampaign`` first (the ``--before`` runs).
    """
    lines, config = _input_and_config(base, recs, workdir, name, extra_config)
    time.sleep(1.1)  # the account's 1-second window forgets the previous phase's requests
    slug = "".join(c if c.isalnum() else "-" for c in name)
    config_path = workdir / f"{slug}-config.json"
    config_path.write_text(json.dumps(config))
    input_path = workdir / f"{slug}-input.singer"
    input_path.write_text("\n".join(lines) + "\n")
    log_path = workdir / f"{slug}-stderr.log"
    reset(base)
    with input_path.open("rb") as fin, log_path.open("wb") as log, _pythonpath(pythonpath):
        measured = run_measured([TARGET, "--config", str(config_path)], stdin=fin,
                                stdout=subprocess.DEVNULL, stderr=log, result_dir=workdir)
    if measured.returncode:
        raise SystemExit(f"target failed:\n{log_path.read_text()[-3000:]}")
    input_path.unlink()
    return _result(base, recs, workdir, name, measured.seconds, measured.peak_mib)


@contextmanager
def _pythonpath(path: str | None) -> Iterator[None]:
    """``path`` first on the PYTHONPATH of the processes started meanwhile."""
    old = os.environ.get("PYTHONPATH")
    if path:
        os.environ["PYTHONPATH"] = path
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


@contextmanager
def sandbox(seeded: int, limits: tuple[str, ...] = REAL_LIMITS) -> Iterator[str]:
    """A sandbox in its own process (at the real limits by default); yields its base URL."""
    port = free_port()
    proc = start_sandbox(port, seeded, limits)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def baseline(base: str, n: int) -> dict[str, Any]:
    session = ActiveCampaignSession(base, API_KEY, requests_per_second=5,
                                    pacer=RequestPacer(5))
    time.sleep(1.1)  # the account's 1-second window forgets the previous phase's requests
    reset(base)
    started = time.monotonic()
    for r in records(n):
        session.post("contact/sync", {"contact": {
            "email": f"base-{r['email']}", "firstName": r["firstName"],
            "lastName": r["lastName"], "phone": r["phone"]}})
    elapsed = time.monotonic() - started
    total = sum(stats(base)["routes"].values())
    return {"phase": f"baseline: contact/sync x{n}", "records": n, "seconds": elapsed,
            "requests": total, "writes": total, "written": n}


def row(r: dict[str, Any], scale_to: int | None = None) -> str:
    per_write = r["written"] / r["writes"] if r["writes"] else float("nan")
    per_1000 = r["requests"] / r["records"] * 1000
    rate = r["records"] / r["seconds"]
    wrate = r["written"] / r["seconds"]
    extra = ""
    if scale_to:
        extra = f" (extrapolated to {scale_to:,}: {scale_to / rate / 60:.1f} min)"
    return (f"| {r['phase']} | {r['records']:,} | {r['written']:,} | {r['requests']:,} | "
            f"{r['writes']:,} | {per_write:,.1f} | {per_1000:,.1f} | {r['seconds']:.1f} | "
            f"{rate:,.1f} | {wrate:,.1f} ({wrate / BULK_CEILING_PER_S:.0%}) | "
            f"{r.get('peak_mb', float('nan')):.1f} |{extra}")

# ---- --memory: the target's peak RSS follows the push, not the account ------------------------
# (contacts in account, contacts pushed, whether the account honours ids[])
MEMORY_RUNS = ((10_000, 10_000, True), (100_000, 10_000, True), (300_000, 10_000, True),
               (10_000, 100_000, True), (10_000, 100_000, False))
EXISTING = 1_000  # pushed contacts already in the account, spread over the push


def existing_contacts(base: str, n: int) -> list[dict[str, Any]]:
    """``n`` contacts of the account, from pages spread over its ids, with a new last name."""
    session = ActiveCampaignSession(base, API_KEY, requests_per_second=100,
                                    pacer=RequestPacer(100))
    total = int(session.get("contacts", {"limit": 1})["meta"]["total"])
    pages = -(-n // 100)
    out: list[dict[str, Any]] = []
    for k in range(pages):
        body = session.get("contacts", {"orders[id]": "ASC", "limit": 100,
                                        "offset": (total - 100) * k // max(1, pages - 1)})
        out += [{"email": c["email"], "lastName": f"{c.get('lastName') or ''}-pushed"}
                for c in body["contacts"]]
    session.close()
    return out[:n]


def memory_push(n: int, existing: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """``n`` records: the ``existing`` ones spread evenly among new contacts."""
    new = iter(records(n - len(existing), prefix=prefix))
    at = {i * n // len(existing): e for i, e in enumerate(existing)} if existing else {}
    return [at[i] if i in at else next(new) for i in range(n)]


def memory_study(before: str | None,
                 runs: tuple[tuple[int, int, bool], ...] = MEMORY_RUNS) -> list[dict[str, Any]]:
    """Each (contacts in account, contacts pushed, ids[] honoured) of ``runs``, with the code
    under test
    (and ``before``'s when given), each into a freshly seeded account (the demo seed is the
    same for the same size), so that both versions do the same work."""
    versions = [("before", before), ("after", None)] if before else [("after", None)]
    rows: list[dict[str, Any]] = []
    for account, pushed, ids_filter in runs:
        limits = RAISED_LIMITS if ids_filter else (*RAISED_LIMITS, "--no-ids-filter")
        for version, path in versions:
            started = time.monotonic()
            with sandbox(account, limits) as base, \
                    tempfile.TemporaryDirectory() as tmp:
                seeded = time.monotonic() - started
                recs = memory_push(pushed, existing_contacts(base, EXISTING), "mem-")
                r = push_process(base, recs, Path(tmp), f"{version} {account} {pushed}",
                                 RAISED_CONFIG, path)
            r.update(version=version, account=account, pushed=pushed, ids_filter=ids_filter)
            print(f"  {version}: {pushed:,} into {account:,}"
                  f"{'' if ids_filter else ' (ignores ids[])'} (seeded in {seeded:.0f} s): "
                  f"{r['requests']:,} requests, {r['seconds']:.0f} s, {r['peak_mb']:.0f} MiB "
                  f"{r['counts']}", file=sys.stderr, flush=True)
            rows.append(r)
    return rows


def memory_table(rows: list[dict[str, Any]]) -> str:
    lines = ["Rate limits raised for speed (sandbox unlimited, target 200 req/s, bulk import "
             "6,000/min): at ActiveCampaign's 5 req/s a push needs at least requests / 5 "
             f"seconds. {EXISTING:,} of the pushed contacts exist (updated), the rest are new.",
             "| code | contacts in account | contacts pushed | requests | GET /contacts | "
             "seconds | peak RSS MiB (target process) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ignored = "" if r.get("ids_filter", True) else " (ignores `ids[]`)"
        lines.append(f"| {r['version']} | {r['account']:,}{ignored} | {r['pushed']:,} | "
                     f"{r['requests']:,} | {r['contact_reads']:,} | {r['seconds']:.1f} | "
                     f"{r['peak_mb']:.0f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=10_000)
    ap.add_argument("--baseline", type=int, default=100)
    ap.add_argument("--seeded", type=int, default=200)
    ap.add_argument("--process", action="store_true",
                    help="run the target as a child process and report its peak RSS "
                         "instead of tracemalloc's peak")
    ap.add_argument("--memory", action="store_true",
                    help="peak RSS of the target process against the account's size and the "
                         "push's (rate limits raised; see the module docstring)")
    ap.add_argument("--before", metavar="DIR",
                    help="with --memory: also run each push with the target_activecampaign "
                         "package found in DIR (put first on PYTHONPATH)")
    ap.add_argument("--memory-runs", metavar="ACCOUNT:PUSHED[:no-ids],...",
                    default=",".join(f"{a}:{p}{'' if i else ':no-ids'}"
                                     for a, p, i in MEMORY_RUNS),
                    help="with --memory: the (contacts in account, contacts pushed) pairs; "
                         ":no-ids = an account that ignores ids[]")
    args = ap.parse_args()
    if args.memory:
        runs = tuple((int(a), int(p), not rest) for a, p, *rest in (
            pair.split(":") for pair in args.memory_runs.split(",") if pair))
        print(memory_table(memory_study(args.before, runs)))
        return 0
    run_push = push_process if args.process else push
    with sandbox(args.seeded) as base, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        new = run_push(base, records(args.contacts), work, "1. new contacts")
        upd = run_push(base, records(args.contacts, changed_every=2), work,
                       "2. updates (half unchanged)")
        base_r = baseline(base, args.baseline)
    memory = "peak RSS MiB (child)" if args.process else "peak MB (tracemalloc)"
    print(f"Sandbox: demo seed with {args.seeded} contacts, 5 req/s, bulk import 100/min; "
          f"bulk importer ceiling = {BULK_CEILING_PER_S:.0f} contacts/s.")
    print("| phase | records | written | requests | write requests | contacts per write "
          "request | requests per 1,000 records | seconds | records/s | written/s (% of bulk "
          f"ceiling) | {memory} |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(row(new))
    print(row(upd))
    print(row(base_r, scale_to=args.contacts))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"outcomes: new={new['counts']}, updates={upd['counts']}; 429s: "
          f"{new['throttled']}+{upd['throttled']}; bulk requests: {new['bulk_requests']}+"
          f"{upd['bulk_requests']}; max RSS of the benchmark process {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
