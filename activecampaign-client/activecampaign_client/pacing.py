"""Client-side pacing: one request budget for the whole process.

ActiveCampaign allows 5 requests per second per account, shared by every caller. The pacer
lets at most ``rate`` requests into any sliding window of ``window`` seconds, and a 429's
``Retry-After`` pauses every caller, not just the one that got it.

A request is counted from its start until its answer arrives: ``with pacer.slot(): send()``
records the *answer* time, an upper bound of when the server saw the request. Measuring from
the start would let a request that was slow to leave (a busy CPU, a new connection) land at
the server inside the next window, which is where stray 429s come from.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# 2% margin on the one-second window for clock granularity at the server.
DEFAULT_WINDOW_SECONDS = 1.02


class RequestPacer:
    """Thread-safe sliding-window pacer."""

    def __init__(self, rate: float, window: float = DEFAULT_WINDOW_SECONDS) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.window = window
        # Each entry is [timestamp]: the start of a request in flight, then its answer time.
        self._slots: list[list[float]] = []
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def _capacity(self) -> int:
        # Fractional rates (e.g. 0.5/s) become one request per 1/rate seconds.
        return max(1, int(self.rate)) if self.rate >= 1 else 1

    def _span(self) -> float:
        if self.rate >= 1:
            return self.window * (self._capacity() / self.rate)
        return self.window / self.rate

    def _acquire(self) -> list[float]:
        while True:
            with self._lock:
                now = time.monotonic()
                span = self._span()
                self._slots = [s for s in self._slots if now - s[0] < span]
                delay = self._paused_until - now
                if delay <= 0 and len(self._slots) < self._capacity():
                    slot = [now]
                    self._slots.append(slot)
                    return slot
                if delay <= 0:
                    delay = min(s[0] for s in self._slots) + span - now
            delay = max(delay, 0.0005)
            self.waited_seconds += delay
            time.sleep(delay)

    def wait(self) -> None:
        """Block until a request may start, counting it from now (prefer ``slot()``)."""
        self._acquire()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Block until a request may start; count it until its answer has arrived."""
        entry = self._acquire()
        try:
            yield
        finally:
            with self._lock:
                entry[0] = max(entry[0], time.monotonic())

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` (a server's Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)


_shared: dict[float, RequestPacer] = {}
_shared_lock = threading.Lock()


def shared_pacer(rate: float) -> RequestPacer:
    """The process-wide pacer for ``rate`` (one budget for all streams and sinks)."""
    with _shared_lock:
        pacer = _shared.get(rate)
        if pacer is None:
            pacer = _shared[rate] = RequestPacer(rate)
        return pacer
