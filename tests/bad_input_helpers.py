"""Helpers for the bad-input catalogue and the secret scan: run a console script as a user
would (config file + stdin), and read back everything the run produced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
PLUGINS = ("tap-activecampaign", "abmatic-mapper", "target-activecampaign")


@dataclass
class Run:
    """One finished console-script run and the files it wrote in its work directory."""

    plugin: str
    returncode: int
    stdout: str
    stderr: str
    workdir: Path
    files: dict[str, str] = field(default_factory=dict)

    def jsonl(self, name: str) -> list[dict[str, Any]]:
        text = self.files.get(name, "")  # split on "\n" only: splitlines() breaks at U+2028
        return [json.loads(line) for line in text.split("\n") if line.strip()]

    @property
    def activity(self) -> list[dict[str, Any]]:
        return self.jsonl("activity.jsonl")

    @property
    def rejects(self) -> list[dict[str, Any]]:
        return self.jsonl("rejects.jsonl")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.split("\n") if line.strip()]

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages
                if m.get("type") == "RECORD" and m.get("stream") == stream]

    def outcomes(self, obj: str = "contact") -> dict[str, str]:
        """Activity log: key -> outcome, for one object type."""
        return {a["key"]: a["outcome"] for a in self.activity
                if a.get("object") == obj and "outcome" in a}

    def everything(self) -> str:
        """Every byte of output: stdout, stderr and each file written in the work dir."""
        return "\n".join([self.stdout, self.stderr, *self.files.values()])


def run_plugin(plugin: str, config: dict[str, Any], workdir: Path, stdin: str = "",
               args: tuple[str, ...] = (), timeout: float = 60,
               env: dict[str, str] | None = None) -> Run:
    """Run ``plugin --config config.json [args]`` in ``workdir`` with ``stdin``.

    The target's activity log and rejects file, and the mapper's rejects file, are pointed at
    ``activity.jsonl`` / ``rejects.jsonl`` in ``workdir`` unless the config names them.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config = dict(config)
    if plugin == "target-activecampaign":
        config.setdefault("activity_log_path", str(workdir / "activity.jsonl"))
        config.setdefault("rejects_path", str(workdir / "rejects.jsonl"))
        config.setdefault("requests_per_second", 1000)
        config.setdefault("bulk_requests_per_minute", 6000)
        config.setdefault("bulk_poll_interval", 0.05)
    elif plugin == "abmatic-mapper":
        config.setdefault("rejects_path", str(workdir / "rejects.jsonl"))
    elif plugin == "tap-activecampaign":
        config.setdefault("requests_per_second", 1000)
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    before = set(workdir.iterdir())
    proc = subprocess.run([str(BIN / plugin), "--config", str(config_path), *args],
                          input=stdin, capture_output=True, text=True, cwd=workdir,
                          timeout=timeout, check=False,
                          env={**os.environ, **env} if env else None)
    files = {p.name: p.read_text(encoding="utf-8", errors="replace")
             for p in sorted(workdir.iterdir())
             if p.is_file() and (p not in before or p.name.endswith(".jsonl"))}
    return Run(plugin, proc.returncode, proc.stdout, proc.stderr, workdir, files)


def lines(*messages: dict[str, Any] | str) -> str:
    """Singer input: dicts encoded as JSON lines, strings taken as raw lines."""
    return "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)


def schema(stream: str, body: dict[str, Any] | None = None,
           key: str | None = None) -> dict[str, Any]:
    from target_activecampaign.objects.accounts import ACCOUNT_SCHEMA
    from target_activecampaign.objects.contacts import CONTACT_SCHEMA

    if body is None:
        body = CONTACT_SCHEMA if stream == "contacts" else ACCOUNT_SCHEMA
    keys = [key] if key else (["email"] if stream == "contacts" else ["accountUrl"])
    return {"type": "SCHEMA", "stream": stream, "schema": body, "key_properties": keys}


def record(stream: str, rec: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": rec}


def sandbox_objects(base_url: str, name: str) -> list[dict[str, Any]]:
    """The sandbox's stored rows of one table (inspection route, no auth)."""
    with urllib.request.urlopen(f"{base_url}/_sandbox/objects/{name}", timeout=10) as resp:
        return list(json.loads(resp.read())[name])


def emails_in(base_url: str) -> list[str]:
    return [str(c.get("email") or "").strip().lower()
            for c in sandbox_objects(base_url, "contacts")]


# ----------------------------------------------------------------------------- the catalogue
# Cases live in test_bad_input.py and in the bad_input_cases_*.py modules it imports; each
# registers itself with @case and runs once per kind of account (ACCOUNTS).
KEY = "bad-input-key"
ACCOUNTS = ("sideloads", "no-sideloads")


@dataclass
class Env:
    """One case's sandbox account and work directory. ``account`` is "sideloads" (the
    default sandbox) or "no-sideloads" (an account that ignores include=, spec §11)."""

    base_url: str
    store: Any
    workdir: Path
    account: str = "sideloads"

    def target(self, stdin: str, **config: Any) -> Run:
        cfg = {"api_url": self.base_url, "api_key": KEY, **config}
        return run_plugin("target-activecampaign", cfg, self.workdir, stdin)

    def mapper(self, stdin: str, **config: Any) -> Run:
        return run_plugin("abmatic-mapper", {"direction": "push", **config}, self.workdir, stdin)

    def tap(self, **config: Any) -> Run:
        cfg = {"api_url": self.base_url, "api_key": KEY, **config}
        return run_plugin("tap-activecampaign", cfg, self.workdir)

    def emails(self) -> list[str]:
        return emails_in(self.base_url)

    def objects(self, name: str) -> list[dict[str, Any]]:
        return sandbox_objects(self.base_url, name)


CASES: dict[str, Callable[[Env], None]] = {}


def case(name: str) -> Callable[[Callable[[Env], None]], Callable[[Env], None]]:
    def register(fn: Callable[[Env], None]) -> Callable[[Env], None]:
        assert name not in CASES
        CASES[name] = fn
        return fn
    return register


# ----------------------------------------------------------------------------- assertions
def failed_cleanly(run: Run, *fragments: str) -> None:
    """Non-zero exit, a message with every fragment, and no Python traceback."""
    assert run.returncode != 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    for fragment in fragments:
        assert fragment in run.stderr, (fragment, run.stderr[-2000:])


def rejected(run: Run, key: str, *fragments: str, obj: str = "contact") -> dict[str, Any]:
    """The activity log holds a rejected line for ``key`` whose message has every fragment,
    and the record is in the rejects file."""
    found = [a for a in run.activity if a.get("object") == obj and key in str(a.get("key"))
             and a.get("outcome") == "rejected"]
    assert found, (key, run.activity)
    for fragment in fragments:
        assert fragment in found[0]["message"], (fragment, found[0]["message"])
    kept = [r for r in run.rejects if key in str(r.get("record", {}).get(
        "email" if obj == "contact" else "accountUrl", "")).lower() or
        key == f"input line {r.get('line')}"]
    assert kept, (key, run.rejects)
    return found[0]


def written(run: Run, env: Env, *emails: str) -> None:
    """The valid neighbours were created in ActiveCampaign (and logged as such)."""
    stored = env.emails()
    for email in emails:
        assert stored.count(email) == 1, (email, run.stderr[-1500:])
        assert run.outcomes().get(email) == "created", run.activity


def mapper_rejected(run: Run, line: int, field: str, reason: str) -> None:
    """The mapper logged and kept the reject, naming the input line and the field."""
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"at input line {line} " in run.stderr and f"field={field}:" in run.stderr, \
        run.stderr[-2000:]
    kept = [r for r in run.rejects if r.get("line") == line]
    assert kept and kept[0]["field"] == field and reason in kept[0]["reason"], run.rejects
