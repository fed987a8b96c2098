"""The per-account push lock: a second push on the machine waits, a crash releases it, and
the lock file names the account by a hash only."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from target_ac_testkit import run_target, singer

from target_activecampaign.push_lock import PushLock, lock_path

HOLDER = """
import logging, sys, time
from target_activecampaign.push_lock import PushLock
PushLock(sys.argv[1], logging.getLogger("holder")).acquire()
print("held", flush=True)
time.sleep(120)
"""


@pytest.fixture
def lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "budget"
    monkeypatch.setenv("ACTIVECAMPAIGN_RATE_BUDGET_DIR", str(folder))
    return folder


def hold(api_url: str) -> subprocess.Popen[str]:
    """Another process holding the account's push lock (as a push would)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, api_url], stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ))
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_a_second_push_waits_and_a_crashed_holder_releases_the_lock(lock_dir: Path) -> None:
    url = "https://acme.api-us1.com"
    holder = hold(url)
    logger, seen = logging.getLogger("test-push-lock"), Lines()
    logger.addHandler(seen)
    killer = threading.Timer(1.0, os.kill, (holder.pid, signal.SIGKILL))  # a crash, no cleanup
    killer.start()
    try:
        lock = PushLock(url + "/api/3/", logger).acquire()  # another spelling, same account
    finally:
        killer.join()
        holder.wait(10)
        logger.removeHandler(seen)
    try:
        assert lock.waited is not None and lock.waited >= 0.8
        waiting = [m for m in seen.lines if "waiting for it to finish" in m]
        assert len(waiting) == 1  # said once, however long the wait
        assert waiting[0].startswith(
            f"another push to acme.api-us1.com is running (pid {holder.pid}, since 20")
    finally:
        lock.release()


def lock_taken(api_url: str) -> bool:
    """Whether another process would have to wait for the account's lock now."""
    probe = ("import fcntl, sys\n"
             "from target_activecampaign.push_lock import lock_path\n"
             "with open(lock_path(sys.argv[1]), 'a') as f:\n"
             "    try:\n"
             "        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
             "    except BlockingIOError:\n"
             "        print('taken')\n")
    out = subprocess.run([sys.executable, "-c", probe, api_url], capture_output=True,
                         text=True, timeout=30, check=True)
    return out.stdout.strip() == "taken"


def test_a_process_holds_an_accounts_lock_once_however_many_runs_it_opens(
        lock_dir: Path) -> None:
    url = "https://acme.api-us1.com"
    first = PushLock(url, logging.getLogger("a")).acquire()
    second = PushLock(url, logging.getLogger("b")).acquire()  # no wait on itself
    assert first.waited is None and second.waited is None
    first.release()
    assert lock_taken(url)  # the second run still holds it
    second.release()
    assert not lock_taken(url)


def test_the_lock_file_is_in_the_budget_folder_named_by_a_hash(lock_dir: Path) -> None:
    path = lock_path("https://Acme.api-us1.com/api/3")
    assert path == lock_path("https://acme.api-us1.com/")
    assert path.parent == lock_dir and path.name.startswith("push-")
    assert "acme" not in path.name.lower() and path != lock_path("https://other.api-us1.com")


def test_a_dry_run_does_not_wait_for_a_push(lock_dir: Path, config: dict,
                                            sandbox: Any) -> None:
    holder = hold(config["api_url"])
    try:
        started = time.monotonic()
        result = run_target({**config, "dry_run": True},
                            singer("contacts", [{"email": "dry@x.io"}]))
        assert time.monotonic() - started < 20
        assert result.counts() == {"created": 1}
        assert "waiting for it to finish" not in result.stderr
    finally:
        holder.kill()
        holder.wait(10)
