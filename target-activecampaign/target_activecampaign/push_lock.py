"""One push per ActiveCampaign account at a time on this machine.

Two pushes at once for the same new website domain would both read "no account has this
domain" and both create one, then split their contacts between the two. So a push holds an
exclusive ``fcntl.flock`` on one file per account (the normalized API URL, hashed like the rate
budget, in the same folder: ``$ACTIVECAMPAIGN_RATE_BUDGET_DIR``) from its first planning read
to its last write; a second push waits for it, saying so once. The operating system releases
the lock when the holder exits or dies, so a crash never leaves it taken.

The lock is per machine. Across machines nothing here helps: the deployment must run one push
per account at a time (orchestration/: the run queue keyed by account).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from activecampaign_client import normalize_api_url
from activecampaign_client.errors import ConfigError
from activecampaign_client.pacing import BUDGET_DIR_ENV, budget_path

# A process holds each account's lock once, however many run contexts it opens (in-process
# tests run the target again and again; a run that failed before closing its context must not
# block the next one in the same process).
_held: dict[Path, tuple[IO[str], int]] = {}
_held_lock = threading.Lock()


def lock_path(api_url: str, directory: Path | None = None) -> Path:
    """The account's lock file: the budget folder, a hash of the URL (never the API key)."""
    return budget_path(api_url, "push", directory).with_suffix(".lock")


def account_host(api_url: str) -> str:
    """What the messages name the account by: its host (and port), e.g. acme.api-us1.com."""
    with contextlib.suppress(ConfigError):
        api_url = normalize_api_url(api_url, allow_private_network=True)
    return urlsplit(api_url).netloc or api_url


class PushLock:
    """``acquire()`` waits until no other process of this machine pushes to the account."""

    def __init__(self, api_url: str, logger: logging.Logger,
                 directory: Path | None = None) -> None:
        self.path = lock_path(api_url, directory)
        self.host = account_host(api_url)
        self.logger = logger
        self.waited: float | None = None  # seconds spent waiting, when another push ran
        self._held = False

    def acquire(self) -> PushLock:
        with _held_lock:
            if self.path in _held:
                handle, count = _held[self.path]
                _held[self.path] = (handle, count + 1)
                self._held = True
                return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the run)
        except OSError as exc:
            self.logger.warning(
                "Cannot use the push lock at %s (%s); this push does not wait for others to "
                "the same account. Set %s to a writable folder that every process of this "
                "machine shares.", self.path, exc, BUDGET_DIR_ENV)
            return self
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            started = time.monotonic()
            self.logger.warning("another push to %s is running (%s); waiting for it to finish",
                                self.host, self._holder())
            fcntl.flock(handle, fcntl.LOCK_EX)  # released by the OS if the holder dies
            self.waited = time.monotonic() - started
            self.logger.info("the other push to %s finished after %.1f s; this push goes on",
                             self.host, self.waited)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "since": _now(), "account": self.host}))
        handle.flush()
        with _held_lock:
            _held[self.path] = (handle, 1)
        self._held = True
        return self

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        with _held_lock:
            handle, count = _held.pop(self.path)
            if count > 1:
                _held[self.path] = (handle, count - 1)
                return
        handle.close()  # closing the file releases the flock

    def _holder(self) -> str:
        """``pid N, since T`` from the holder's file (it writes it right after locking)."""
        for _ in range(5):
            try:
                info = json.loads(self.path.read_text(encoding="utf-8") or "{}")
            except (OSError, ValueError):
                info = {}
            if info.get("pid"):
                return f"pid {info['pid']}, since {info.get('since', '?')}"
            time.sleep(0.05)
        return "pid unknown"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
