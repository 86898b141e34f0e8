"""The probe contract: one probe's result (Health) and how a run of results becomes the state
shown (HealthGate). Probes (host) make results; services and the supervisor (core) pass them on.

A single failed probe does not make a component unhealthy, nor does one pass make it healthy
again: like Compose, Kubernetes and process-compose, the state changes after
`failure_threshold` consecutive failures (or `success_threshold` consecutive passes), so a slow
answer during a cold Metro bundle build does not flap the dashboard.

A Problem is the other axis: the component serves (healthy) but what it serves is broken, e.g.
Metro answers /status while the app's bundle fails to build.
"""

from __future__ import annotations

from dataclasses import dataclass

FAILURE_THRESHOLD = 3
SUCCESS_THRESHOLD = 1
# Passes in a row after which a healthy component counts as steady: probed less often (the
# service's health_interval_steady) until a probe fails.
STEADY_PASSES = 5


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Problem:
    """Something wrong with what a healthy component serves: a one-line summary for tables
    and status, and the lines that explain it (message, code frame) for the error panel."""

    summary: str
    lines: tuple[str, ...] = ()


class HealthGate:
    """Consecutive-result counting for one run of a component (pure; reset per run)."""

    def __init__(
        self, failure_threshold: int = FAILURE_THRESHOLD, success_threshold: int = SUCCESS_THRESHOLD
    ) -> None:
        self.failure_threshold = max(1, failure_threshold)
        self.success_threshold = max(1, success_threshold)
        self.healthy = False
        self.failures = 0  # consecutive
        self.passes = 0  # consecutive

    def reset(self) -> None:
        self.healthy, self.failures, self.passes = False, 0, 0

    @property
    def steady(self) -> bool:
        """Healthy, with STEADY_PASSES passes in a row."""
        return self.healthy and self.passes >= STEADY_PASSES

    def record(self, ok: bool) -> bool:
        """Count one result; True when it changed `healthy`."""
        if ok:
            self.passes, self.failures = self.passes + 1, 0
            if not self.healthy and self.passes >= self.success_threshold:
                self.healthy = True
                return True
        else:
            self.failures, self.passes = self.failures + 1, 0
            if self.healthy and self.failures >= self.failure_threshold:
                self.healthy = False
                return True
        return False
