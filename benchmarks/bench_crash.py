"""The crashed API's answer time: after a syntax error, how long a request takes to get the
503 JSON error from the warm parent (before: it waited in the backlog until the client gave
up). Median and p95 over N requests, each on a new connection (HTTP/1.0 GET /status).

Runs `devkit up --headless` (components = ["api"], fork reloading) on a copy of the project's
server/, breaks server/status.py, measures, then fixes it and checks the new code serves again.
The machine is shared by parallel jobs: read the median.

Run: .venv/bin/python benchmarks/bench_crash.py [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_reload import Tool, get  # noqa: E402
from tests.support.ports import free_port  # noqa: E402


def status_code(answer: bytes | None) -> int:
    if not answer:
        return 0
    try:
        return int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def wait_status(port: int, code: int, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = get(port, "/status", timeout=5)
        if status_code(answer) == code:
            return answer or b""
        time.sleep(0.01)
    raise RuntimeError(f"GET /status never answered {code}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-crash-") as tmp:
        root = Path(tmp)
        shutil.copytree(
            ROOT / "server", root / "server", ignore=shutil.ignore_patterns("__pycache__")
        )
        port = free_port()
        tool = Tool("devkit-fork", root, port, {})
        tool.start()
        try:
            wait_status(port, 503, 60)  # up: /status says 503 while the database is unreachable
            status_py = root / "server" / "status.py"
            good = status_py.read_text()
            status_py.write_text(good + "\ndef broken(:\n")
            answer = wait_status(port, 503, 30)
            while b"api_crashed" not in answer:
                answer = wait_status(port, 503, 30)
            error = json.loads(answer.partition(b"\r\n\r\n")[2])["error"]
            print(f"crashed: {error['exception']} at {error['file']}, line {error['line']}")
            samples = []
            for _ in range(args.requests):
                begun = time.perf_counter()
                answer = get(port, "/status", timeout=5)
                samples.append(time.perf_counter() - begun)
                if status_code(answer) != 503:
                    raise RuntimeError(f"expected 503, got {answer[:80] if answer else answer!r}")
            samples.sort()
            median = statistics.median(samples) * 1000
            p95 = samples[int(len(samples) * 0.95) - 1] * 1000
            print(
                f"503 while crashed: median {median:.2f} ms, p95 {p95:.2f} ms, "
                f"max {samples[-1] * 1000:.1f} ms (n={len(samples)}; shared machine)"
            )
            status_py.write_text(good)
            begun = time.perf_counter()
            deadline = time.monotonic() + 30
            while status_code(get(port, "/openapi.json")) != 200:  # no database needed
                if time.monotonic() > deadline:
                    raise RuntimeError("the fix was never served")
                time.sleep(0.002)
            print(
                f"fixed: new code answering {(time.perf_counter() - begun) * 1000:.0f} ms after the save"
            )
        finally:
            tool.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
