"""What one load run measured, whichever driver ran it, and percentiles from raw latencies."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(sorted_ms: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of values already sorted ascending (0 for an empty list)."""
    if not sorted_ms:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_ms)))
    return float(sorted_ms[min(rank, len(sorted_ms)) - 1])


@dataclass(frozen=True)
class LoadResult:
    """One load run. `failed`: no HTTP response at all (refused, reset, closed without an
    answer, timed out); `non_2xx`: an HTTP response outside 200-299."""

    driver: str
    requests: int  # asked for
    complete: int  # that ended one way or another
    failed: int
    non_2xx: int
    duration_s: float
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    failed_detail: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        """What the seed's "0 failed requests" mark counts: failures and non-2xx answers
        (ab alone reports 1000 answers of 500 as 0 failed)."""
        return self.failed + self.non_2xx

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("requests_per_second", "p50_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms"):
            data[key] = round(data[key], 2)
        data["duration_s"] = round(self.duration_s, 3)
        return data


def from_latencies(
    driver: str,
    requests: int,
    latencies_ms: Sequence[float],
    failed: int,
    non_2xx: int,
    duration_s: float,
    failed_detail: dict[str, int] | None = None,
) -> LoadResult:
    """A result from per-request latencies (of the requests that got an answer)."""
    ordered = sorted(latencies_ms)
    complete = len(ordered) + failed
    return LoadResult(
        driver=driver,
        requests=requests,
        complete=complete,
        failed=failed,
        non_2xx=non_2xx,
        duration_s=duration_s,
        requests_per_second=complete / duration_s if duration_s > 0 else 0.0,
        p50_ms=percentile(ordered, 50),
        p95_ms=percentile(ordered, 95),
        p99_ms=percentile(ordered, 99),
        max_ms=ordered[-1] if ordered else 0.0,
        mean_ms=sum(ordered) / len(ordered) if ordered else 0.0,
        failed_detail=failed_detail or {},
    )
