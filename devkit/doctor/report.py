"""Render doctor results: aligned text lines (fix under each problem) or JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from devkit.doctor.model import CheckResult

LABELS = {"pass": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


def summary(results: Sequence[CheckResult]) -> dict[str, int]:
    counts: Counter[str] = Counter(r.status for r in results)
    return {status: counts.get(status, 0) for status in ("pass", "warn", "fail", "skip")}


def as_text(results: Sequence[CheckResult]) -> str:
    width = max((len(r.name) for r in results), default=0)
    lines = []
    for result in results:
        lines.append(f"{LABELS[result.status]}  {result.name.ljust(width)}  {result.detail}")
        if result.fix and result.status in ("warn", "fail"):
            lines.append(f"{'':4}  {'':{width}}  fix: {result.fix}")
    counts = summary(results)
    lines.append(
        f"\n{counts['pass']} passed, {counts['warn']} warning(s), {counts['fail']} "
        f"failed, {counts['skip']} skipped"
    )
    return "\n".join(lines)


def as_json(results: Sequence[CheckResult]) -> str:
    counts = summary(results)
    return json.dumps(
        {"ok": counts["fail"] == 0, "summary": counts, "checks": [r.as_dict() for r in results]},
        indent=2,
    )
