"""One rate budget per account across processes (spec §3 and §11: the 5 requests/s window is
the account's, shared by every key, run and integration).

Real plugin executables against a sandbox that enforces 5 requests/s: two tap runs back to
back, and a tap and a target at the same time, must see 0 x 429. A control run with each
process pacing itself alone (the old behaviour) shows the same runs do draw 429s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # bad_input_helpers (pytest runs importlib mode)
from bad_input_helpers import BIN, lines, record, schema

from activecampaign_client.pacing import BUDGET_DIR_ENV


@pytest.fixture
def sandbox() -> Iterator[Any]:
    from activecampaign_sandbox import Sandbox

    with Sandbox(seed="demo", contacts=60, rate_limit=5, api_key="budget-key") as sb:
        yield sb


def start(plugin: str, config: dict[str, Any], workdir: Path, budget_dir: Path,
          stdin: str = "") -> subprocess.Popen[str]:
    """Start ``plugin`` at the account's real 5 requests/s, with its budget in budget_dir."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.json").write_text(json.dumps({**config, "requests_per_second": 5}))
    (workdir / "stdin").write_text(stdin)
    with (workdir / "stdin").open() as given, (workdir / "stderr").open("w") as log:
        return subprocess.Popen([str(BIN / plugin), "--config", str(workdir / "config.json")],
                                stdin=given, stdout=subprocess.DEVNULL, stderr=log, text=True,
                                cwd=workdir, env={**os.environ, BUDGET_DIR_ENV: str(budget_dir)})


def finish(proc: subprocess.Popen[str]) -> None:
    proc.wait(timeout=240)
    assert proc.returncode == 0, (Path(str(proc.args[2])).parent / "stderr").read_text()[-3000:]


def push_input(count: int) -> str:
    return lines(schema("contacts"), *[
        record("contacts", {"email": f"budget{i}@example.org", "firstName": f"Budget{i}"})
        for i in range(count)])


def config_of(sandbox: Any, workdir: Path) -> dict[str, Any]:
    return {"api_url": sandbox.base_url, "api_key": "budget-key",
            "activity_log_path": str(workdir / "activity.jsonl"),
            "rejects_path": str(workdir / "rejects.jsonl"), "bulk_threshold": 1000}


def test_two_tap_runs_back_to_back_see_no_429(sandbox: Any, tmp_path: Path) -> None:
    cfg = {"api_url": sandbox.base_url, "api_key": "budget-key"}
    finish(start("tap-activecampaign", cfg, tmp_path / "first", tmp_path / "budget"))
    # The second run starts while the server still counts the first one's last second.
    finish(start("tap-activecampaign", cfg, tmp_path / "second", tmp_path / "budget"))
    stats = sandbox.stats()
    assert stats["total_requests"] > 30
    assert stats["throttled_429"] == 0, stats["statuses"]
    assert stats["peak_rate"] <= 5


def test_a_tap_and_a_target_at_once_see_no_429(sandbox: Any, tmp_path: Path) -> None:
    cfg = {"api_url": sandbox.base_url, "api_key": "budget-key"}
    tap = start("tap-activecampaign", cfg, tmp_path / "tap", tmp_path / "budget")
    target = start("target-activecampaign", config_of(sandbox, tmp_path / "target"),
                   tmp_path / "target", tmp_path / "budget", push_input(25))
    finish(tap)
    finish(target)
    stats = sandbox.stats()
    assert stats["routes"].get("POST /api/3/contact/sync", 0) == 25  # both really ran
    assert stats["throttled_429"] == 0, stats["statuses"]
    assert stats["peak_rate"] <= 5


def test_control_processes_pacing_alone_draw_429s(sandbox: Any, tmp_path: Path) -> None:
    """Without the shared budget (each process its own, as before) the same pair is refused:
    the test above could fail."""
    cfg = {"api_url": sandbox.base_url, "api_key": "budget-key"}
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # the budget cannot live here: each process falls back alone
    tap = start("tap-activecampaign", cfg, tmp_path / "tap", blocked / "budget")
    target = start("target-activecampaign", config_of(sandbox, tmp_path / "target"),
                   tmp_path / "target", blocked / "budget", push_input(25))
    finish(tap)
    finish(target)
    assert sandbox.stats()["throttled_429"] > 0
