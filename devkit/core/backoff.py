"""Restart pacing: exponential backoff and crash-loop detection (pure, clock injected)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable


class Backoff:
    """initial, initial*2, ... capped at `cap`; `reset()` after a run that stayed up."""

    def __init__(self, initial: float = 0.25, cap: float = 30.0, factor: float = 2.0) -> None:
        self.initial, self.cap, self.factor = initial, cap, factor
        self.failures = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.initial * self.factor**self.failures)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


class CrashLoopDetector:
    """True from `record()` once `limit` crashes happened within `window` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._times: deque[float] = deque()

    def record(self) -> bool:
        now = self.clock()
        self._times.append(now)
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()
        return self.limit > 0 and len(self._times) >= self.limit

    def reset(self) -> None:
        self._times.clear()


def restart_decision(policy: str, exit_code: int | None) -> bool:
    """Whether a run that ended by itself is restarted (None = failed to start)."""
    if policy == "always":
        return True
    if policy == "on-failure":
        return exit_code != 0
    return False
