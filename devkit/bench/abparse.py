"""Read ApacheBench's report: the summary on stdout, the -e CSV of percentiles and, with
`-v 2`, the response headers it logs (to count requests that got no answer at all).

Why the header count: a dynamic API needs `-l` (else every response of another length is a
"failed" request), and with `-l` ab counts a connection closed without any response as a
success. Requests minus responses seen is the number that got no answer.
"""

from __future__ import annotations

import re

from devkit.bench.stats import LoadResult
from devkit.errors import DevkitError

HEADER_LOG = "LOG: header received:"
_NUMBER = r"([0-9]+(?:\.[0-9]+)?)"
_FIELDS = {
    "complete": rf"^Complete requests:\s+{_NUMBER}",
    "failed": rf"^Failed requests:\s+{_NUMBER}",
    "non_2xx": rf"^Non-2xx responses:\s+{_NUMBER}",
    "duration_s": rf"^Time taken for tests:\s+{_NUMBER} seconds",
    "rps": rf"^Requests per second:\s+{_NUMBER}",
    "mean_ms": rf"^Time per request:\s+{_NUMBER} \[ms\] \(mean\)",
}
_FAILED_DETAIL = re.compile(
    r"\(Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)\)", re.MULTILINE
)
_TABLE_ROW = re.compile(r"^\s*(\d{1,3})%\s+(\d+)", re.MULTILINE)


def _field(text: str, name: str) -> float | None:
    match = re.search(_FIELDS[name], text, re.MULTILINE)
    return float(match.group(1)) if match else None


def parse_percentile_csv(text: str) -> dict[int, float]:
    """ab -e FILE: 'Percentage served,Time in ms' then one 'P,MS' line per percent 0..100."""
    table: dict[int, float] = {}
    for line in text.splitlines()[1:]:
        pct, _, ms = line.partition(",")
        try:
            table[int(pct)] = float(ms)
        except ValueError:
            continue
    return table


def parse_percentile_table(text: str) -> dict[int, float]:
    """The 'Percentage of the requests served within a certain time (ms)' table (whole ms)."""
    start = text.find("Percentage of the requests served")
    if start < 0:
        return {}
    return {int(p): float(ms) for p, ms in _TABLE_ROW.findall(text[start:])}


def _at(table: dict[int, float], pct: int) -> float:
    """The table's value at pct, or at the next percentage it has (the table has 50..100)."""
    for p in sorted(table):
        if p >= pct:
            return table[p]
    return table[max(table)] if table else 0.0


def parse_ab(
    stdout: str, csv_text: str = "", responses_seen: int | None = None, requests: int = 0
) -> LoadResult:
    """A LoadResult from ab's stdout (+ the -e CSV and the -v 2 header count when given)."""
    complete = _field(stdout, "complete")
    duration = _field(stdout, "duration_s")
    if complete is None or duration is None:
        tail = " / ".join(stdout.strip().splitlines()[-3:]) or "no output"
        raise DevkitError(
            f"ApacheBench's output has no summary ({tail})",
            "run the same ab command by hand to see what it says, or use --driver httpx",
        )
    ab_failed = int(_field(stdout, "failed") or 0)
    detail: dict[str, int] = {}
    match = _FAILED_DETAIL.search(stdout)
    if match:
        detail = dict(
            zip(
                ("connect", "receive", "length", "exceptions"),
                map(int, match.groups()),
                strict=True,
            )
        )
    failed = ab_failed
    if responses_seen is not None:
        detail["no_response"] = max(0, int(complete) - responses_seen)
        failed = max(ab_failed, detail["no_response"])
    table = parse_percentile_csv(csv_text) or parse_percentile_table(stdout)
    rps = _field(stdout, "rps")
    return LoadResult(
        driver="ab",
        requests=requests or int(complete),
        complete=int(complete),
        failed=failed,
        non_2xx=int(_field(stdout, "non_2xx") or 0),
        duration_s=duration,
        requests_per_second=rps if rps is not None else complete / duration if duration else 0.0,
        p50_ms=_at(table, 50),
        p95_ms=_at(table, 95),
        p99_ms=_at(table, 99),
        max_ms=_at(table, 100),
        mean_ms=_field(stdout, "mean_ms") or 0.0,
        failed_detail=detail,
    )


def count_responses(verbose_log: str) -> int:
    """How many response headers ab logged with -v 2."""
    return verbose_log.count(HEADER_LOG)


_PROGRESS = re.compile(r"^(?:Completed|Finished) (\d+) requests")


def progress_of(stderr_line: str) -> int | None:
    """ab's heartbeat on stderr ('Completed 100 requests', every 10% above 150 requests)."""
    match = _PROGRESS.match(stderr_line.strip())
    return int(match.group(1)) if match else None
