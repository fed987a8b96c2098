"""Client-side pacing: one request budget for the whole process.

ActiveCampaign allows 5 requests per second per account, shared by every caller. The pacer
lets at most ``rate`` requests start in any sliding window of ``window`` seconds (slightly more
than one second, so network jitter never pushes the server's count over the limit), and a 429's
``Retry-After`` pauses every caller, not just the one that got it.
"""

from __future__ import annotations

import threading
import time
from collections import deque

# 3% safety margin on the one-second window: 97% of the ceiling, no 429 from jitter.
DEFAULT_WINDOW_SECONDS = 1.03


class RequestPacer:
    """Thread-safe sliding-window pacer."""

    def __init__(self, rate: float, window: float = DEFAULT_WINDOW_SECONDS) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.window = window
        self._starts: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def wait(self) -> None:
        """Block until a request may start, then record its start."""
        while True:
            with self._lock:
                now = time.monotonic()
                while self._starts and now - self._starts[0] >= self._span():
                    self._starts.popleft()
                delay = self._paused_until - now
                if delay <= 0 and len(self._starts) < self._slots():
                    self._starts.append(now)
                    return
                if delay <= 0:
                    delay = self._starts[0] + self._span() - now
            delay = max(delay, 0.0005)
            self.waited_seconds += delay
            time.sleep(delay)

    def _slots(self) -> int:
        # Fractional rates (e.g. 0.5/s) become one request per 1/rate seconds.
        return max(1, int(self.rate)) if self.rate >= 1 else 1

    def _span(self) -> float:
        if self.rate >= 1:
            return self.window * (self._slots() / self.rate)
        return self.window / self.rate

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
