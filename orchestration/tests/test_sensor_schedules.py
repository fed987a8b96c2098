"""The push sensor (one per account) and the size schedules, evaluated against a real Dagster
instance: what they would start, tick after tick."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from abmatic_dagster import definitions
from abmatic_dagster.accounts import SIZE_TIERS
from dagster import (
    DagsterInstance,
    build_schedule_context,
    build_sensor_context,
    partition_loading_context,
)


@pytest.fixture
def accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    entries = [{"name": n, "api_url": f"http://127.0.0.1:{port}", "api_key_env": "X_KEY",
                "export_dir": f"exports/{n}", "contacts": c}
               for port, (n, c) in enumerate((("tiny", 800), ("mid", 20_000), ("huge", 80_000)), 1)]
    path = tmp_path / "accounts.yml"
    path.write_text(yaml.safe_dump({"accounts": entries}), encoding="utf-8")
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("ABMATIC_ACCOUNTS_FILE", str(path))
    return tmp_path


def _tick(sensor, instance, cursor):
    repo = definitions.build_definitions().get_repository_def()
    # the daemon evaluates sensors inside this context; build_sensor_context does not
    with partition_loading_context(dynamic_partitions_store=instance):
        data = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor,
                                                         repository_def=repo))
    return data.run_requests or [], data.cursor


def test_push_sensor_fires_once_per_new_or_changed_file(accounts: Path) -> None:
    folder = accounts / "exports" / "tiny"
    folder.mkdir(parents=True)
    sensor = definitions.build_definitions().get_sensor_def("auto_push_tiny")
    with DagsterInstance.from_config(str(accounts / "home")) as instance:
        instance.add_dynamic_partitions("accounts", ["tiny"])  # as accounts_from_file does
        runs, cursor = _tick(sensor, instance, None)
        assert runs == []  # an empty folder starts nothing

        (folder / "visitors-1.jsonl").write_text('{"work_email": "a@x.example"}\n')
        (folder / "notes.txt").write_text("not an export file")
        runs, cursor = _tick(sensor, instance, cursor)
        assert len(runs) == 1
        assert runs[0].partition_key == "tiny" and runs[0].tags["account"] == "tiny"
        assert runs[0].job_name in (None, "push_account")
        assert runs[0].tags["abmatic/changed_files"] == "visitors-1.jsonl"

        for _ in range(2):  # unchanged: nothing, however often it ticks
            again, cursor = _tick(sensor, instance, cursor)
            assert again == []
        # touching the file without changing it is no change either
        (folder / "visitors-1.jsonl").write_text('{"work_email": "a@x.example"}\n')
        again, cursor = _tick(sensor, instance, cursor)
        assert again == []

        (folder / "accounts-2.jsonl").write_text('{"website_domain": "x.example"}\n')
        runs2, cursor = _tick(sensor, instance, cursor)
        assert len(runs2) == 1 and runs2[0].tags["abmatic/changed_files"] == "accounts-2.jsonl"
        assert runs2[0].run_key != runs[0].run_key

        (folder / "visitors-1.jsonl").write_text('{"work_email": "b@x.example"}\n')  # changed
        runs3, cursor = _tick(sensor, instance, cursor)
        assert len(runs3) == 1 and runs3[0].tags["abmatic/changed_files"] == "visitors-1.jsonl"
        assert _tick(sensor, instance, cursor)[0] == []


def test_each_account_syncs_at_the_frequency_of_its_size(accounts: Path) -> None:
    assert [(t.name, t.cron) for t in SIZE_TIERS] == [
        ("small", "*/30 * * * *"), ("medium", "0 * * * *"), ("large", "30 * * * *")]
    schedules = {s.name: s for s in definitions.build_definitions().schedules}
    when = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
    with DagsterInstance.from_config(str(accounts / "home")) as instance:
        instance.add_dynamic_partitions("accounts", ["tiny", "mid", "huge"])
        got = {}
        for tier, name in (("small", "tiny"), ("medium", "mid"), ("large", "huge")):
            schedule = schedules[f"sync_{tier}_accounts"]
            assert schedule.cron_schedule == next(t.cron for t in SIZE_TIERS if t.name == tier)
            assert schedule.job_name == "sync_account"
            data = schedule.evaluate_tick(build_schedule_context(
                instance=instance, scheduled_execution_time=when,
                repository_def=definitions.build_definitions().get_repository_def()))
            got[tier] = [(r.partition_key, r.tags["account"]) for r in data.run_requests or []]
            assert got[tier] == [(name, name)], got
