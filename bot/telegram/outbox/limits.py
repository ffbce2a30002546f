"""The outbox's rate limiter: a sliding window, "at most N in *any* window", which is what Telegram measures
(a token bucket without the burst-then-refill overlap)."""

from __future__ import annotations

from collections import deque

__all__ = ["Window"]


class Window:
    """At most ``limit`` events in any ``period`` seconds (half-open windows)."""

    __slots__ = ("events", "limit", "period")

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.events: deque[float] = deque()

    @classmethod
    def per_second(cls, rate: float) -> Window:
        if rate <= 0:
            raise ValueError("a rate must be positive")
        n = max(1, round(rate))
        return cls(n, n / rate)

    def _prune(self, now: float) -> None:
        while self.events and self.events[0] <= now - self.period:
            self.events.popleft()

    def wait(self, now: float) -> float:
        self._prune(now)
        if len(self.events) < self.limit:
            return 0.0
        return self.events[0] + self.period - now

    def take(self, now: float) -> None:
        self.events.append(now)

    def idle(self, now: float) -> bool:
        self._prune(now)
        return not self.events
