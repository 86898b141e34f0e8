"""The seed's pass marks (more than 100 requests/s, 0 failed requests, p95 under 500 ms),
each overridable, judged against a LoadResult."""

from __future__ import annotations

from dataclasses import dataclass

from devkit.bench.stats import LoadResult


@dataclass(frozen=True)
class Thresholds:
    min_rps: float = 100.0
    max_failed: int = 0
    max_p95_ms: float = 500.0


@dataclass(frozen=True)
class Mark:
    name: str
    want: str  # "> 100 req/s"
    got: str  # "263.4 req/s"
    passed: bool

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "want": self.want, "got": self.got, "passed": self.passed}


def judge(result: LoadResult, limits: Thresholds) -> list[Mark]:
    return [
        Mark(
            "requests/s",
            f"> {limits.min_rps:g}",
            f"{result.requests_per_second:.1f}",
            result.requests_per_second > limits.min_rps,
        ),
        Mark(
            "failed requests (incl. non-2xx)",
            f"<= {limits.max_failed}",
            f"{result.errors} ({result.failed} failed, {result.non_2xx} non-2xx)",
            result.errors <= limits.max_failed and result.complete > 0,
        ),
        Mark(
            "95th percentile",
            f"< {limits.max_p95_ms:g} ms",
            f"{result.p95_ms:.1f} ms",
            result.complete > result.failed and result.p95_ms < limits.max_p95_ms,
        ),
    ]
