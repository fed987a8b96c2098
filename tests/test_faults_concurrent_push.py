"""Two pushes at once to one account: one account per website domain, no contact doubled.

Two `target-activecampaign` processes start at the same moment against one sandbox, each
pushing the same NEW website domain under another spelling of the company name ("Acme",
"ACME Inc.") and contacts of that domain (one of them in both pushes). Without the per-account
push lock both read "no account has this domain" and both create one, so the contacts are
split between two accounts; with it the second push waits (saying so, naming the other
push's pid), then finds the first one's account and links its contacts to it.

The interleaving that makes the race certain is forced, not left to chance: the sandbox holds
its answer to `GET /accounts` until both pushes asked for it, or until the second push has
been in touch (its key check) for a while without asking (it is waiting for the lock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))  # bad_input_helpers (pytest runs importlib mode)
from bad_input_helpers import BIN, lines, record, schema

from activecampaign_client import normalize_domain
from activecampaign_sandbox import Sandbox

KEY = "concurrent-push-key"
DOMAIN = "newco-h3.io"
ACCOUNTS_READ = "GET /api/3/accounts"
KEY_CHECK = "GET /api/3/users/me"
GRACE = 2.0  # seconds after the second push's key check: without the lock it reads by then
MAX_HOLD = 60.0


class AccountsReadBarrier:
    """Holds each `GET /accounts` until two arrived, or GRACE after the second key check."""

    def __init__(self, sb: Sandbox) -> None:
        self.cond = threading.Condition()
        self.reads = 0
        self.key_checks: list[float] = []
        self._gate: Callable[[str], Any] = sb._gate
        sb._gate = self.gate  # type: ignore[method-assign]

    def gate(self, route: str) -> Any:
        with self.cond:
            if route == KEY_CHECK:
                self.key_checks.append(time.monotonic())
                self.cond.notify_all()
            elif route == ACCOUNTS_READ:
                self.reads += 1
                self.cond.notify_all()
                deadline = time.monotonic() + MAX_HOLD
                while not self._released() and time.monotonic() < deadline:
                    self.cond.wait(0.05)  # GRACE runs out without a notification
        return self._gate(route)

    def _released(self) -> bool:
        if self.reads >= 2:
            return True
        return len(self.key_checks) >= 2 and time.monotonic() - self.key_checks[1] >= GRACE


def push_input(company: str, website: str, emails: list[str]) -> str:
    return lines(schema("accounts"), record("accounts", {"accountUrl": website, "name": company}),
                 schema("contacts"),
                 *(record("contacts", {"email": e, "firstName": e.split("@")[0].title(),
                                       "account_domain": DOMAIN}) for e in emails))


def start_push(workdir: Path, base_url: str, stdin: str, lock_dir: Path) -> subprocess.Popen[str]:
    workdir.mkdir(parents=True)
    config = {"api_url": base_url, "api_key": KEY, "requests_per_second": 1000,
              "activity_log_path": str(workdir / "activity.jsonl"),
              "rejects_path": str(workdir / "rejects.jsonl")}
    (workdir / "config.json").write_text(json.dumps(config))
    (workdir / "input.jsonl").write_text(stdin)
    env = {**os.environ, "ACTIVECAMPAIGN_RATE_BUDGET_DIR": str(lock_dir)}
    with open(workdir / "input.jsonl", encoding="utf-8") as stdin_file:
        return subprocess.Popen([str(BIN / "target-activecampaign"), "--config",
                                 str(workdir / "config.json")], stdin=stdin_file,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=workdir, env=env)


def rows(sb: Sandbox, table: str) -> list[dict[str, Any]]:
    return list(sb.store.objects(table))


def test_two_pushes_at_once_make_one_account_and_link_every_contact_to_it(
        tmp_path: Path) -> None:
    with Sandbox(seed="demo", contacts=20, rate_limit=None, api_key=KEY) as sb:
        barrier = AccountsReadBarrier(sb)
        pushes = {
            "acme": push_input("Acme", f"https://www.{DOMAIN}/about",
                               [f"ann@{DOMAIN}", f"bob@{DOMAIN}", f"shared@{DOMAIN}"]),
            "acme-inc": push_input("ACME Inc.", DOMAIN,
                                   [f"cat@{DOMAIN}", f"dan@{DOMAIN}", f"Shared@{DOMAIN}"]),
        }
        procs = {name: start_push(tmp_path / name, sb.base_url, text, tmp_path / "locks")
                 for name, text in pushes.items()}
        outputs = {name: proc.communicate(timeout=240) for name, proc in procs.items()}

        for name, proc in procs.items():
            assert proc.returncode == 0, (name, outputs[name][1][-3000:])
        assert barrier.reads == 2  # each push read the accounts once

        accounts = [a for a in rows(sb, "accounts")
                    if normalize_domain(a.get("accountUrl")) == DOMAIN]
        assert len(accounts) == 1, [(a["id"], a["name"]) for a in accounts]
        assert accounts[0]["name"] in ("Acme", "ACME Inc.")

        emails = [str(c["email"]).lower() for c in rows(sb, "contacts")]
        ours = sorted(e for e in emails if e.endswith("@" + DOMAIN))
        assert ours == [f"{n}@{DOMAIN}" for n in ("ann", "bob", "cat", "dan", "shared")]
        ids = {str(c["id"]) for c in rows(sb, "contacts")
               if str(c["email"]).lower().endswith("@" + DOMAIN)}
        links = [ln for ln in rows(sb, "accountContacts") if str(ln["contact"]) in ids]
        assert sorted(str(ln["contact"]) for ln in links) == sorted(ids)  # one link each
        assert {str(ln["account"]) for ln in links} == {str(accounts[0]["id"])}

        waited = [name for name, (_out, err) in outputs.items()
                  if "waiting for it to finish" in err]
        assert len(waited) == 1, {n: e[-2000:] for n, (_o, e) in outputs.items()}
        other = procs["acme" if waited[0] == "acme-inc" else "acme-inc"]
        message = next(line for line in outputs[waited[0]][1].splitlines()
                       if "waiting for it to finish" in line)
        host = sb.base_url.split("://", 1)[1]
        assert f"another push to {host} is running (pid {other.pid}, since " in message
        assert f"the other push to {host} finished after " in outputs[waited[0]][1]
        (lock,) = (tmp_path / "locks").glob("push-*.lock")
        assert KEY not in message and KEY not in lock.name + lock.read_text()
        assert "/" not in lock.name.removeprefix("push-") and host not in lock.name
