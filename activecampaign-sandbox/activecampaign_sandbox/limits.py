"""Sliding-window limits by arrival time (pure; the clock is injected for tests)."""

from __future__ import annotations

import math
from collections import deque


class SlidingWindow:
    """At most ``limit`` accepted events in any ``window`` seconds; rejections do not count."""

    def __init__(self, limit: int | None, window: float = 1.0) -> None:
        self.limit = limit
        self.window = window
        self.accepted: deque[float] = deque()
        self.peak = 0

    def _expire(self, now: float) -> None:
        edge = now - self.window
        while self.accepted and self.accepted[0] <= edge:
            self.accepted.popleft()

    def try_accept(self, now: float) -> float | None:
        """None when accepted; otherwise the seconds until a slot frees."""
        self._expire(now)
        if self.limit is not None and len(self.accepted) >= self.limit:
            return max(0.0, self.accepted[0] + self.window - now)
        self.accepted.append(now)
        self.peak = max(self.peak, len(self.accepted))
        return None

    def reset_peak(self) -> None:
        self.peak = 0


def retry_after_header(wait: float) -> str:
    """Whole seconds, at least 1 (clients sleep on it; 0 would mean retry at once)."""
    return str(max(1, math.ceil(wait)))
