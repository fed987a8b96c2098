"""Client-side pacing: one request budget per ActiveCampaign account.

ActiveCampaign allows 5 requests per second per account, shared by every caller (spec §3,
§11): two runs back to back, or a tap and a target at once, spend from the same window at the
server. A pacer lets at most ``rate`` requests into any sliding window of ``window`` seconds,
and a 429's ``Retry-After`` pauses every caller, not just the one that got it.

A request is counted from its start until its answer arrives: ``with pacer.slot(): send()``
records the *answer* time, an upper bound of when the server saw the request. Measuring from
the start would let a request that was slow to leave (a busy CPU, a new connection) land at
the server inside the next window, which is where stray 429s come from.

Two implementations with one interface (``slot()``, ``wait()``, ``pause()``):

- ``RequestPacer``: in memory, one process (tests, benchmarks, a private budget).
- ``AccountBudget``: a SQLite file per account (keyed by the API URL) that every process on
  the machine shares, so a run started right after another one, or a tap and a target at
  the same time, never start with a full burst the server has not forgotten yet.
  ``shared_pacer(rate, api_url)`` gives it, one object per account and rate in a process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, TypeVar

from activecampaign_client.errors import ConfigError
from activecampaign_client.urls import normalize_api_url

LOGGER = logging.getLogger("activecampaign_client")
Slot = TypeVar("Slot")

# 2% margin on the one-second window for clock granularity at the server.
DEFAULT_WINDOW_SECONDS = 1.02


class _Pacer(Generic[Slot]):
    """``slot()`` and ``wait()`` over a subclass's ``_acquire()`` / ``_release()``."""

    def __init__(self, rate: float, window: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.window = window
        self._capacity, self._span = _capacity_and_span(rate, window)
        self.waited_seconds = 0.0
        self._lock = threading.Lock()

    def _acquire(self) -> Slot:
        raise NotImplementedError

    def _release(self, slot: Slot) -> None:
        raise NotImplementedError

    def wait(self) -> None:
        """Block until a request may start, counting it from now (prefer ``slot()``)."""
        self._acquire()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Block until a request may start; count it until its answer has arrived."""
        taken = self._acquire()
        try:
            yield
        finally:
            self._release(taken)


class RequestPacer(_Pacer[list[float]]):
    """Thread-safe sliding-window pacer for one process."""

    def __init__(self, rate: float, window: float = DEFAULT_WINDOW_SECONDS) -> None:
        super().__init__(rate, window)
        # Each entry is [timestamp]: the start of a request in flight, then its answer time.
        self._slots: list[list[float]] = []
        self._paused_until = 0.0

    def _acquire(self) -> list[float]:
        while True:
            with self._lock:
                now = time.monotonic()
                span = self._span
                self._slots = [s for s in self._slots if now - s[0] < span]
                delay = self._paused_until - now
                if delay <= 0 and len(self._slots) < self._capacity:
                    slot = [now]
                    self._slots.append(slot)
                    return slot
                if delay <= 0:
                    delay = min(s[0] for s in self._slots) + span - now
            delay = max(delay, 0.0005)
            self.waited_seconds += delay
            time.sleep(delay)

    def _release(self, entry: list[float]) -> None:
        with self._lock:
            entry[0] = max(entry[0], time.monotonic())

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` (a server's Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)


def _capacity_and_span(rate: float, window: float) -> tuple[int, float]:
    """How many requests may be counted at once, and for how long each is counted."""
    if rate >= 1:
        capacity = int(rate)
        return capacity, window * (capacity / rate)
    return 1, window / rate  # fractional rates: one request per 1/rate seconds


# Where the per-account budget files live; every process of a machine must agree on it.
BUDGET_DIR_ENV = "ACTIVECAMPAIGN_RATE_BUDGET_DIR"


def default_budget_dir() -> Path:
    """``$ACTIVECAMPAIGN_RATE_BUDGET_DIR``, else ``$XDG_CACHE_HOME`` or ``~/.cache``."""
    configured = os.environ.get(BUDGET_DIR_ENV)
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "activecampaign-rate-budget"


class AccountBudget(_Pacer[int]):
    """A sliding-window pacer whose window lives in a SQLite file shared by every process.

    One row per request counted (its start, then its answer time), one row for a pause.
    Each decision is one ``BEGIN IMMEDIATE`` transaction, so processes never both take the
    last slot. Times are wall-clock seconds (``time.time()``), the one clock all processes
    share; rows from a crashed process simply age out of the window.
    """

    def __init__(self, path: Path, rate: float, window: float = DEFAULT_WINDOW_SECONDS) -> None:
        super().__init__(rate, window)
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE), not the module's.
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")  # a lost row costs nothing but a slot
        self._db.execute("CREATE TABLE IF NOT EXISTS slots (id INTEGER PRIMARY KEY, t REAL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS pause (k INTEGER PRIMARY KEY, until REAL)")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _acquire(self) -> int:
        while True:
            with self._transaction() as db:
                now = time.time()
                # Rows "from the future" can only come from a clock step back: drop them.
                db.execute("DELETE FROM slots WHERE t <= ? OR t > ?",
                           (now - self._span, now + 3600))
                row = db.execute("SELECT until FROM pause WHERE k = 0").fetchone()
                delay = (row[0] - now) if row else 0.0
                count, oldest = db.execute("SELECT COUNT(*), MIN(t) FROM slots").fetchone()
                if delay <= 0 and count < self._capacity:
                    return int(db.execute("INSERT INTO slots (t) VALUES (?)", (now,)).lastrowid
                               or 0)
                if delay <= 0:
                    delay = oldest + self._span - now
            delay = max(delay, 0.0005)
            self.waited_seconds += delay
            time.sleep(delay)

    def _release(self, slot_id: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE slots SET t = MAX(t, ?) WHERE id = ?", (time.time(), slot_id))

    def pause(self, seconds: float) -> None:
        """Hold every caller of this account, in every process, for ``seconds``."""
        with self._transaction() as db:
            until = time.time() + seconds
            db.execute("INSERT INTO pause (k, until) VALUES (0, ?) ON CONFLICT(k) DO UPDATE "
                       "SET until = MAX(until, excluded.until)", (until,))

    def close(self) -> None:
        self._db.close()


Pacer = RequestPacer | AccountBudget

_shared: dict[tuple[str, float, float], Pacer] = {}
_shared_lock = threading.Lock()


def budget_path(api_url: str, name: str = "requests", directory: Path | None = None) -> Path:
    """The budget file of one account: a hash of its API URL (the URL is not a secret, but
    a file name is no place for it)."""
    try:  # every spelling of one account's URL (trailing /, /api/3) is one budget
        api_url = normalize_api_url(api_url, allow_private_network=True)
    except ConfigError:
        api_url = api_url.rstrip("/")
    digest = hashlib.sha256(api_url.lower().encode()).hexdigest()[:24]
    return (directory or default_budget_dir()) / f"{name}-{digest}.sqlite"


def shared_pacer(rate: float, api_url: str | None = None, *, name: str = "requests",
                 window: float = DEFAULT_WINDOW_SECONDS) -> Pacer:
    """The budget of ``api_url``'s account, shared by every process on this machine.

    Without an API URL (or when the budget directory cannot be written), a budget for
    this process only. One object per (account, budget, rate) in a process.
    """
    key = (f"{name}:{api_url or ''}", rate, window)
    with _shared_lock:
        pacer = _shared.get(key)
        if pacer is None:
            pacer = _shared[key] = _new_pacer(rate, api_url, name, window)
        return pacer


def _new_pacer(rate: float, api_url: str | None, name: str, window: float) -> Pacer:
    if api_url is None:
        return RequestPacer(rate, window)
    path = budget_path(api_url, name)
    try:
        return AccountBudget(path, rate, window)
    except (OSError, sqlite3.Error) as exc:
        LOGGER.warning("Cannot use the shared rate budget at %s (%s); pacing this process "
                       "alone. Set %s to a writable folder that every process of this "
                       "machine shares.", path, exc, BUDGET_DIR_ENV)
        return RequestPacer(rate, window)
