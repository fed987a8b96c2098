"""The per-account rate budget shared by every process of a machine (spec §3, §11).

ActiveCampaign counts 5 requests per second per account, whoever sends them: these tests
take slots from several processes at once and check the merged timeline never exceeds it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from activecampaign_client.pacing import (
    BUDGET_DIR_ENV,
    AccountBudget,
    RequestPacer,
    budget_path,
    shared_pacer,
)

# A child process that takes ``n`` slots of the budget at ``path`` and prints their times.
CHILD = """
import json, sys, time
from pathlib import Path
from activecampaign_client.pacing import AccountBudget
budget = AccountBudget(Path(sys.argv[1]), float(sys.argv[2]))
times = []
for _ in range(int(sys.argv[3])):
    with budget.slot():
        times.append(time.time())
print(json.dumps(times))
"""


def max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def run_children(path: Path, rate: float, n: int, count: int) -> list[float]:
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(rate), str(n)],
                              stdout=subprocess.PIPE, text=True) for _ in range(count)]
    times: list[float] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        times += json.loads(out)
    return times


def test_three_processes_share_one_budget(tmp_path: Path) -> None:
    times = run_children(tmp_path / "budget.sqlite", 10, 15, 3)
    assert len(times) == 45
    assert max_in_window(times) <= 10
    # 45 requests at 10/s cannot take less than ~3.5 windows, whoever sends them.
    assert max(times) - min(times) >= 3.4


def test_a_second_process_right_after_a_first_waits_for_the_window(tmp_path: Path) -> None:
    path = tmp_path / "budget.sqlite"
    first = run_children(path, 5, 5, 1)
    second = run_children(path, 5, 5, 1)  # a new run: no fresh burst the server would refuse
    assert max_in_window(first + second) <= 5


def test_a_pause_holds_every_process(tmp_path: Path) -> None:
    path = tmp_path / "budget.sqlite"
    AccountBudget(path, 5).pause(1.5)  # a 429's Retry-After seen by another process
    started = time.time()
    (first,) = run_children(path, 5, 1, 1)
    assert first - started >= 1.4


def test_a_slot_counts_until_the_answer_arrives(tmp_path: Path) -> None:
    budget = AccountBudget(tmp_path / "budget.sqlite", 2)
    with budget.slot():
        time.sleep(0.3)
    budget.wait()
    start = time.monotonic()
    budget.wait()  # the third must wait for the first's answer + the window
    assert time.monotonic() - start >= 0.3 + 1.02 - 0.35


def test_every_spelling_of_an_account_url_is_one_budget(tmp_path: Path) -> None:
    a = budget_path("https://acme.api-us1.com", directory=tmp_path)
    b = budget_path("https://ACME.api-us1.com/api/3/", directory=tmp_path)
    c = budget_path("https://other.api-us1.com", directory=tmp_path)
    assert a == b != c
    assert "acme" not in a.name  # the file name does not spell out the account


def test_shared_pacer_is_per_account_and_file_backed(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BUDGET_DIR_ENV, str(tmp_path))
    one = shared_pacer(5, "https://budget-test-a.api-us1.com")
    assert isinstance(one, AccountBudget)
    assert one.path.parent == tmp_path
    assert shared_pacer(5, "https://budget-test-a.api-us1.com") is one
    assert shared_pacer(5, "https://budget-test-b.api-us1.com") is not one
    assert isinstance(shared_pacer(5), RequestPacer)  # no account: this process only


def test_an_unwritable_budget_folder_falls_back_to_this_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(BUDGET_DIR_ENV, str(blocker / "budgets"))
    pacer = shared_pacer(5, "https://budget-test-unwritable.api-us1.com")
    assert isinstance(pacer, RequestPacer)
    assert BUDGET_DIR_ENV in caplog.text
