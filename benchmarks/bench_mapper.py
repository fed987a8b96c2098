"""Throughput and memory of abmatic-mapper (import) vs meltano-map-transform 0.12.3.

    .venv/bin/python benchmarks/bench_mapper.py [--records 200000] [--small 20000]

Generates tap-shaped ``contacts`` records (tap-activecampaign's field names, a STATE every
10,000 records), pipes them through ``abmatic-mapper`` (direction import, default mapping) and
through meltano-map-transform with an equivalent rename map, and prints records/s, the ratio
and each child's own peak RSS (``os.wait4`` via childrss.py), also at the small size to show
memory is flat.
meltano-map-transform runs from its own venv (``.venv-bench/map-transform``), created here
with ``python -m venv`` + pip when missing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from childrss import run_measured

ROOT = Path(__file__).resolve().parent.parent
MAPPER = ROOT / ".venv" / "bin" / "abmatic-mapper"
MT_VENV = ROOT / ".venv-bench" / "map-transform"
MT_BIN = MT_VENV / "bin" / "meltano-map-transform"
MT_VERSION = "0.12.3"

CONTACT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "email": {"type": ["string", "null"]},
        "firstName": {"type": ["string", "null"]},
        "lastName": {"type": ["string", "null"]},
        "phone": {"type": ["string", "null"]},
        "cdate": {"type": ["string", "null"], "format": "date-time"},
        "udate": {"type": ["string", "null"], "format": "date-time"},
        "bounced_hard": {"type": ["integer", "null"]},
        "custom_fields": {"type": ["object", "null"]},
    },
}
RENAME_MAP = {
    "stream_maps": {
        "contacts": {
            "work_email": "email",
            "first_name": "firstName",
            "last_name": "lastName",
            "phone": "phone",
            "activecampaign_id": "id",
            "created_at": "cdate",
            "updated_at": "udate",
            "custom_fields": "custom_fields",
            "__else__": None,
            "__key_properties__": ["work_email"],
        }
    }
}


def generate(path: Path, n: int) -> None:
    with path.open("w") as fh:
        fh.write(json.dumps({"type": "SCHEMA", "stream": "contacts", "schema": CONTACT_SCHEMA,
                             "key_properties": ["id"]}) + "\n")
        for i in range(1, n + 1):
            rec = {
                "id": str(i),
                "email": f" User{i}@Example{i % 500}.com ",
                "firstName": f"First{i}",
                "lastName": f"Last{i}" if i % 7 else "",
                "phone": "" if i % 3 else f"+1555{i:07d}",
                "cdate": "2024-01-01T09:00:00-05:00",
                "udate": "2024-03-05T10:30:00-05:00",
                "bounced_hard": 0,
                "custom_fields": {"Lead Score": str(i % 100), "Industry": "Software"},
            }
            fh.write(json.dumps({"type": "RECORD", "stream": "contacts", "record": rec}) + "\n")
            if i % 10_000 == 0:
                fh.write(json.dumps({"type": "STATE",
                                     "value": {"bookmarks": {"contacts": {"id": i}}}}) + "\n")


def ensure_map_transform() -> None:
    if MT_BIN.exists():
        return
    print(f"creating {MT_VENV} with meltano-map-transform=={MT_VERSION} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(MT_VENV)], check=True)
    subprocess.run([str(MT_VENV / "bin" / "pip"), "install", "-q",
                    f"meltano-map-transform=={MT_VERSION}"], check=True)


def run(cmd: list[str], data: Path, cwd: Path) -> tuple[float, int, int]:
    """(seconds, peak RSS in MiB, RECORD lines out) of one child process."""
    out_path = cwd / "out.jsonl"
    with data.open("rb") as fin, out_path.open("wb") as fout:
        measured = run_measured(cmd, stdin=fin, stdout=fout, stderr=subprocess.DEVNULL,
                                cwd=cwd, result_dir=cwd)
    elapsed = measured.seconds
    if measured.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed with exit code {measured.returncode}")
    with out_path.open("rb") as fh:
        records = sum(1 for line in fh if line.startswith(b'{"type":"RECORD"')
                      or line.startswith(b'{"type": "RECORD"'))
    return elapsed, measured.maxrss_kib // 1024, records


MT_TOOL = f"meltano-map-transform {MT_VERSION}"


def measure(sizes: list[int], work: Path,
            repeat: int = 1) -> dict[str, dict[int, tuple[float, int, int]]]:
    """``{tool: {n: (seconds, peak RSS MiB, RECORD lines out)}}`` for each size, in ``work``.

    Tools: ``abmatic-mapper`` (direction import, default mapping) and meltano-map-transform
    (``MT_TOOL``) with the equivalent rename map, each a child process fed the same file.
    With ``repeat`` > 1 the tools alternate ``repeat`` times per size and the run with the
    median seconds is kept (peak RSS: the highest of the runs).
    """
    ensure_map_transform()
    (work / "mapper.json").write_text(json.dumps(
        {"direction": "import", "rejects_path": str(work / "rejects.jsonl")}))
    (work / "map-transform.json").write_text(json.dumps(RENAME_MAP))
    tools = {
        "abmatic-mapper": [str(MAPPER), "--config", str(work / "mapper.json")],
        MT_TOOL: [str(MT_BIN), "--config", str(work / "map-transform.json")],
    }
    results: dict[str, dict[int, tuple[float, int, int]]] = {t: {} for t in tools}
    for n in sizes:
        data = work / f"contacts-{n}.singer"
        generate(data, n)
        runs: dict[str, list[tuple[float, int, int]]] = {t: [] for t in tools}
        for i in range(repeat):
            for tool, cmd in tools.items():
                print(f"[bench_mapper] {tool}: {n:,} records (run {i + 1}/{repeat})",
                      file=sys.stderr, flush=True)
                runs[tool].append(run(cmd, data, work))
        for tool, done in runs.items():
            seconds, _rss, out = sorted(done)[len(done) // 2]
            results[tool][n] = (seconds, max(r[1] for r in done), out)
        data.unlink()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mapper-") as tmp:
        results = measure([args.small, args.records], Path(tmp))
    base = results[MT_TOOL][args.records]
    rate_base = args.records / base[0]
    print(f"\n{args.records:,} tap-shaped contact records, {os.cpu_count()} cores\n")
    print(f"| tool | records out | seconds | records/s | ratio | peak RSS @ {args.small:,} "
          f"| peak RSS @ {args.records:,} |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for tool in results:
        seconds, rss, out = results[tool][args.records]
        rate = args.records / seconds
        print(f"| {tool} | {out:,} | {seconds:.2f} | {rate:,.0f} | {rate / rate_base:.2f}x "
              f"| {results[tool][args.small][1]} MiB | {rss} MiB |")


if __name__ == "__main__":
    main()
