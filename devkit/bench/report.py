"""Print a bench run: figures, the pass marks with ✓/✗, or all of it as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass

from devkit.bench.load import LoadSpec
from devkit.bench.marks import Mark
from devkit.bench.stats import LoadResult


@dataclass(frozen=True)
class BenchReport:
    spec: LoadSpec
    result: LoadResult
    marks: list[Mark]
    account: str  # how the token was had
    driver_note: str  # which driver ran and why

    @property
    def passed(self) -> bool:
        return all(mark.passed for mark in self.marks)

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"url": self.spec.shown_url}
        data.update(self.result.as_dict())
        data.update(
            concurrency=self.spec.concurrency,
            keep_alive=self.spec.keep_alive,
            driver_note=self.driver_note,
            account=self.account,
            marks=[m.as_dict() for m in self.marks],
            passed=self.passed,
        )
        return data


def as_json(report: BenchReport) -> str:
    return json.dumps(report.as_dict(), indent=2)


def as_text(report: BenchReport) -> str:
    r, spec = report.result, report.spec
    lines = [
        f"{spec.shown_url}: {r.requests} requests, {spec.concurrency} at a time "
        f"({'keep-alive' if spec.keep_alive else 'new connection per request'})",
        f"driver: {report.driver_note}",
        f"account: {report.account}",
        "",
        f"requests/s   {r.requests_per_second:10.1f}   ({r.complete} in {r.duration_s:.2f} s)",
        f"failed       {r.failed:10d}" + (f"   {_detail(r)}" if r.failed else ""),
        f"non-2xx      {r.non_2xx:10d}",
        f"latency ms   p50 {r.p50_ms:.1f} · p95 {r.p95_ms:.1f} · p99 {r.p99_ms:.1f} · "
        f"max {r.max_ms:.1f}",
        "",
        "pass marks:",
    ]
    width = max(len(m.name) for m in report.marks)
    for mark in report.marks:
        sign = "✓" if mark.passed else "✗"
        lines.append(f"  {sign} {mark.name.ljust(width)}  {mark.want:<12} got {mark.got}")
    lines.append("")
    lines.append("PASSED" if report.passed else "FAILED: a pass mark was missed")
    return "\n".join(lines)


def _detail(result: LoadResult) -> str:
    return ", ".join(f"{k} {v}" for k, v in result.failed_detail.items() if v)
