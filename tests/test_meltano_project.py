"""Static checks of the Meltano project (meltano.yml, demo files, scripts): no Meltano run.

They keep the wiring honest between the packages: every job names defined plugins, mappings
never share a state id, the demo export files stay in the Abmatic model's shape, and the
target-duckdb wrapper starts the real target only once input arrives.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from abmatic_mapper import model

ROOT = Path(__file__).resolve().parents[1]
PROJECT: dict[str, Any] = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))


def plugins(kind: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in PROJECT["plugins"].get(kind, [])}


MAPPINGS = {m["name"]: m for p in plugins("mappers").values() for m in p.get("mappings", [])}


def blocks() -> list[tuple[str, list[str]]]:
    return [(job["name"], task.split()) for job in PROJECT["jobs"] for task in job["tasks"]]


def test_telemetry_and_version_checks_are_off() -> None:
    assert PROJECT["send_anonymous_usage_stats"] is False
    assert PROJECT["cli"]["disable_version_check"] is True
    assert PROJECT["snowplow"]["collector_endpoints"] == []


@pytest.mark.parametrize("kind", ["extractors", "mappers", "loaders"])
def test_every_plugin_is_defined_without_the_hub(kind: str) -> None:
    for name, plugin in plugins(kind).items():
        if "inherit_from" in plugin:
            assert plugin["inherit_from"] in plugins(kind), name
            continue
        assert {"namespace", "pip_url", "executable"} <= plugin.keys(), name
        assert "variant" not in plugin, name


def test_jobs_run_tap_mapping_target_blocks_of_defined_plugins() -> None:
    for job, (tap, *middle, target) in blocks():
        assert tap in plugins("extractors"), (job, tap)
        assert target in plugins("loaders"), (job, target)
        assert all(m in MAPPINGS for m in middle), (job, middle)


def test_a_tap_target_pair_always_uses_the_same_mapping() -> None:
    # Mapping names are not part of Meltano's state id (<env>:<tap>-to-<target>).
    seen: dict[tuple[str, str], list[str]] = {}
    for job, (tap, *middle, target) in blocks():
        previous = seen.setdefault((tap, target), middle)
        assert previous == middle, f"{job}: {tap}-to-{target} shares a state id across mappings"


def test_mappings_cover_both_directions() -> None:
    directions = {m["config"]["direction"] for m in MAPPINGS.values()}
    assert directions == {"import", "push"}


def test_schedules_follow_the_frequency_table() -> None:
    """README "Schedules": every 30 minutes under 10,000 contacts, hourly above (incremental
    imports cost what changed; the membership tables are read in full once a day)."""
    jobs = {j["name"] for j in PROJECT["jobs"]}
    schedules = {s["name"]: s for s in PROJECT["schedules"]}
    assert all(s["job"] in jobs for s in schedules.values())
    assert schedules["sync-manual"]["interval"] == "@manual"
    expected = {"sync-under-10k-contacts": "*/30 * * * *",
                "sync-10k-to-50k-contacts": "0 * * * *",
                "sync-over-50k-contacts": "30 * * * *"}
    assert {name: schedules[name]["interval"] for name in expected} == expected
    tap = next(p for p in PROJECT["plugins"]["extractors"] if p["name"] == "tap-activecampaign")
    assert "membership_reconcile_hours" in {s["name"] for s in tap["settings"]}


def test_environments_sandbox_by_default_and_prod_from_variables() -> None:
    envs = {e["name"]: e for e in PROJECT["environments"]}
    assert PROJECT["default_environment"] == "sandbox" and {"sandbox", "prod"} <= envs.keys()
    prod = json.dumps(envs["prod"])
    assert "${TAP_ACTIVECAMPAIGN_API_KEY}" in prod and "sandbox-demo-key" not in prod
    assert "${ABMATIC_PG_URL}" in json.dumps(PROJECT["plugins"])


def test_demo_export_files_are_abmatic_records() -> None:
    allowed = {
        "contacts": set(model.CONTACTS.field_names),
        "accounts": set(model.ACCOUNTS.field_names),
    }
    files = {"contacts": "visitors*.jsonl", "accounts": "accounts*.jsonl"}
    for stream, pattern in files.items():
        paths = sorted((ROOT / "demo").glob(pattern))
        assert paths, pattern
        for path in paths:
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                record = json.loads(line)
                assert set(record) <= allowed[stream], f"{path.name}:{n}"


def test_target_duckdb_executable_is_the_wrapper_script() -> None:
    exe = plugins("loaders")["target-duckdb"]["executable"]
    venv_bin = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin"
    resolved = Path(os.path.normpath(venv_bin / exe))
    assert resolved == ROOT / "scripts" / "start-on-input.py"
    assert resolved.stat().st_mode & stat.S_IXUSR


def test_wrapper_starts_the_target_only_when_input_arrives(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    fake = venv / "bin" / "target-duckdb"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, time\n"
        "started = time.time()\n"
        "data = sys.stdin.read()\n"
        "print(json.dumps({'started': started, 'args': sys.argv[1:], 'data': data}))\n"
    )
    fake.chmod(0o755)
    config = tmp_path / "config.json"
    store = tmp_path / "not-yet" / "abmatic.duckdb"
    config.write_text(json.dumps({"path": str(store)}))
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "start-on-input.py"), "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    time.sleep(0.5)
    sent = time.time()
    out, _ = proc.communicate('{"type": "SCHEMA"}\n', timeout=20)
    result = json.loads(out)
    assert result["started"] >= sent - 0.05
    assert result["args"] == ["--config", str(config)]
    assert result["data"] == '{"type": "SCHEMA"}\n'
    assert store.parent.is_dir()
