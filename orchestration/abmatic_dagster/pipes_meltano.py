"""The Dagster Pipes side of an account run: runs `meltano run --state-id-suffix ACCOUNT JOB`
and reports what it did back to Dagster as asset materializations with metadata.

Started by the assets (definitions.py) through PipesSubprocessClient, with the account's
environment (environment.py) and the extras {job, account, project, store_url, ...}.
`meltano run` itself knows nothing about Dagster; this wrapper is the Pipes-aware process.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dagster_pipes import PipesContext, open_dagster_pipes

from . import parse
from .environment import DUCKDB_PYTHON, MELTANO_ENVIRONMENT, MELTANO_SH, PG_PYTHON

STORE_TABLES = ("contacts", "accounts", "opportunities")
# Variables of the deployment that would leak into an account's run unless the asset set them.
_LEAKY = re.compile(r"^(MELTANO_|TAP_|TARGET_|ABMATIC_|DUCKDB_)")


def _path_meta(path: Path) -> dict[str, Any]:
    return {"raw_value": str(path), "type": "path"}


def store_counts(url: str, schema: str | None = None) -> dict[str, int]:
    """Rows per Abmatic table of ``schema`` (PostgreSQL: the account's own; DuckDB: its file's
    default), read with the store's own plugin venv (same duckdb version). A table not
    written yet counts 0."""
    script = (
        "import json, sys\n"
        "url, schema, tables = sys.argv[1], sys.argv[2], sys.argv[3].split(',')\n"
        "if url.startswith('postgresql'):\n"
        "    import psycopg\n"
        "    con = psycopg.connect(url.replace('postgresql+psycopg://', 'postgresql://'),\n"
        "                          autocommit=True)\n"  # a missing table aborts no transaction
        "else:\n"
        "    import duckdb\n"
        "    con = duckdb.connect(url.removeprefix('duckdb:///'), read_only=True)\n"
        "prefix = '\"' + schema.replace('\"', '\"\"') + '\".' if schema else ''\n"
        "out = {}\n"
        "for t in tables:\n"
        "    try:\n"
        "        out[t] = con.execute(f'select count(*) from {prefix}\"{t}\"').fetchone()[0]\n"
        "    except Exception:\n"
        "        out[t] = 0\n"
        "print(json.dumps(out))\n"
    )
    python = PG_PYTHON if url.startswith("postgresql") else DUCKDB_PYTHON
    proc = subprocess.run([str(python), "-c", script, url, schema or "", ",".join(STORE_TABLES)],
                          capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"could not count the rows of the store: {proc.stderr[-1000:]}")
    return {k: int(v) for k, v in json.loads(proc.stdout).items()}


def run_meltano(pipes: PipesContext) -> int:
    job = str(pipes.get_extra("job"))
    account = str(pipes.get_extra("account"))
    project = Path(str(pipes.get_extra("project")))
    names = set(pipes.get_extra("env_names"))
    env = {k: v for k, v in os.environ.items() if not _LEAKY.match(k) or k in names}
    logs = project.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    log_path = logs / f"{job}-{stamp}-{pipes.run_id[:8]}.log"
    activity = Path(env["TARGET_ACTIVECAMPAIGN_ACTIVITY_LOG_PATH"])
    activity_offset = activity.stat().st_size if activity.exists() else 0

    cmd = ["bash", str(MELTANO_SH), "run", "--state-id-suffix", account, job]
    pipes.log.info(f"account {account}: meltano run --state-id-suffix {account} {job} "
                   f"(project {project}, log {log_path})")
    started = time.monotonic()
    lines: list[str] = []
    with log_path.open("w", encoding="utf-8") as log, subprocess.Popen(
            cmd, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace") as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if "METRIC" not in line:
                lines.append(line)
                sys.stdout.write(line)  # the run's compute log in the UI
    seconds = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    text = "".join(lines)
    if proc.returncode != 0:
        tail = "".join(lines[-25:])
        raise RuntimeError(f"account {account}: `meltano run {job}` exited {proc.returncode} "
                           f"(full log: {log_path}). Last lines:\n{tail}")

    common: dict[str, Any] = {
        "account": account,
        "meltano_job": job,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "run_log": _path_meta(log_path),
    }
    mapper = parse.mapper_summaries(text)
    if job.startswith("import"):
        tap = parse.tap_usage(text)
        url = str(pipes.get_extra("store_url"))
        counts = store_counts(url, str(pipes.get_extra("store_schema") or "") or None)
        for table in STORE_TABLES:
            summary = mapper.get(table, {})
            pipes.report_asset_materialization(asset_key=f"abmatic/{table}", metadata={
                **common,
                "rows_written": summary.get("out", 0),
                "rows_in_store": counts.get(table, 0),
                "rejected": summary.get("rejected", 0),
                "requests": int(tap.get("requests", 0)),
                "throttled_429": int(tap.get("throttled_429", 0)),
                "retries": int(tap.get("retries", 0)),
                "share_of_rate_budget": float(tap.get("share_of_rate_budget", 0.0)),
                "state_id": f"{MELTANO_ENVIRONMENT}:tap-activecampaign-to-target-"
                            f"{'duckdb' if job == 'import' else 'postgres'}:{account}",
                "store": {"raw_value": str(pipes.get_extra("store_display")), "type": "text"},
                "rejects_file": _path_meta(project / "output" / "rejects-import.jsonl"),
            })
    else:
        totals = parse.push_totals(parse.activity_summaries(activity, activity_offset))
        mapper_rejected = sum(s.get("rejected", 0) for s in mapper.values())
        pipes.report_asset_materialization(metadata={
            **common,
            **{k: int(totals[k]) for k in parse.OUTCOMES},
            "rejected": int(totals["rejected"]) + mapper_rejected,
            "requests": int(totals["requests"]),
            "throttled_429": int(totals["throttled_429"]),
            "retries": int(totals["retries"]),
            "share_of_rate_budget": float(totals["share_of_rate_budget"]),
            "unchanged_files_skipped": parse.skipped_files(text),
            "activity_log": _path_meta(activity),
            "rejects_file": _path_meta(Path(env["TARGET_ACTIVECAMPAIGN_REJECTS_PATH"])),
            "mapper_rejects_file": _path_meta(project / "output" / "rejects-push-mapper.jsonl"),
        })
    return 0


def main() -> int:
    with open_dagster_pipes() as pipes:
        return run_meltano(pipes)


if __name__ == "__main__":
    sys.exit(main())
