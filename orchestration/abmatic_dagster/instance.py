"""The Dagster instance's dagster.yaml: the run queue that keeps one run per account at a
time and at most N runs in all."""

from __future__ import annotations

from pathlib import Path

import yaml

DEFAULT_MAX_CONCURRENT_RUNS = 4


def instance_config(max_concurrent_runs: int = DEFAULT_MAX_CONCURRENT_RUNS) -> dict:
    per_account = {"value": {"applyLimitPerUniqueValue": True}, "limit": 1}
    return {
        "run_coordinator": {
            "module": "dagster._core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {
                "max_concurrent_runs": max_concurrent_runs,
                # Every run we start is tagged `account`; a run started by hand in the UI
                # ("Materialize" a partition) carries only dagster/partition, which is the
                # account too. Either way: one run per account in the whole deployment.
                "tag_concurrency_limits": [
                    {"key": "account", **per_account},
                    {"key": "dagster/partition", **per_account},
                ],
                "dequeue_interval_seconds": 1,
            },
        },
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
    }


def write_instance(home: Path, max_concurrent_runs: int = DEFAULT_MAX_CONCURRENT_RUNS) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    path.write_text(
        "# Written by abmatic_dagster.instance (bash scripts/dagster.sh). Storage: SQLite under\n"
        "# this folder; on several machines use dagster-postgres (README.md).\n"
        + yaml.safe_dump(instance_config(max_concurrent_runs), sort_keys=False),
        encoding="utf-8")
    return path
