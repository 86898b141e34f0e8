"""`devkit bench` figures on running API servers: both drivers, and ab's own figures (the
seed's exact command: `ab -n N -c C -H "Authorization: Bearer TOKEN" URL/api/notes`), in
interleaved rounds on each target, medians printed. One token per target (a user with 20
notes), so every tool loads the same page.

Start the targets first, e.g. the dev API under `devkit up --headless` and gunicorn on the
same database: `gunicorn -w 2 --threads 4 -b 127.0.0.1:PORT server.wsgi:app`.

Run: .venv/bin/python benchmarks/bench_load.py NAME=URL [NAME=URL ...] [--rounds 5] [-n 1000]
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import shutil
import statistics
import subprocess
import sys

import httpx

TOOLS = ("bench-ab", "bench-httpx", "ab")


def make_token(base: str) -> str:
    with httpx.Client(base_url=base, timeout=10) as client:
        made = client.post(
            "/api/auth/register",
            json={"username": f"load-{secrets.token_hex(4)}", "password": secrets.token_hex(12)},
        )
        made.raise_for_status()
        token = made.json()["token"]
        for i in range(20):
            client.post(
                "/api/notes",
                json={"title": f"note {i}", "body": "x" * 150},
                headers={"Authorization": f"Bearer {token}"},
            ).raise_for_status()
    return token


def run_tool(tool: str, base: str, token: str, n: int, c: int) -> tuple[float, float]:
    """(requests/s, p95 ms) of one run."""
    if tool == "ab":
        out = subprocess.run(
            ["ab", "-n", str(n), "-c", str(c), "-H", f"Authorization: Bearer {token}",
             base + "/api/notes"],
            capture_output=True, text=True, check=True, timeout=600,
        ).stdout  # fmt: skip
        rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        p95 = float(re.search(r"^\s*95%\s+(\d+)", out, re.M).group(1))  # type: ignore[union-attr]
        return rps, p95
    driver = tool.split("-")[1]
    done = subprocess.run(
        [sys.executable, "-m", "devkit", "bench", base, "--token", token, "-n", str(n),
         "-c", str(c), "--driver", driver, "--json"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    report = json.loads(done.stdout)
    if report["failed"] or report["non_2xx"]:
        print(f"  ! {tool}: {report['failed']} failed, {report['non_2xx']} non-2xx", flush=True)
    return report["requests_per_second"], report["p95_ms"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="+", help="NAME=URL")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("-c", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("ab") is None:
        print("ApacheBench not installed: apt-get install apache2-utils", file=sys.stderr)
        return 2
    targets = [t.split("=", 1) for t in args.targets]
    print(f"{args.rounds} rounds, -n {args.n} -c {args.c}, GET /api/notes (20 notes), medians")
    for name, base in targets:
        token = make_token(base)
        samples: dict[str, list[tuple[float, float]]] = {t: [] for t in TOOLS}
        for _ in range(args.rounds):
            for tool in TOOLS:
                samples[tool].append(run_tool(tool, base, token, args.n, args.c))
        for tool in TOOLS:
            rps = statistics.median(s[0] for s in samples[tool])
            p95 = statistics.median(s[1] for s in samples[tool])
            print(f"{name:10} {tool:12} {rps:8.0f} req/s   p95 {p95:6.1f} ms", flush=True)
        ab_rps = statistics.median(s[0] for s in samples["ab"])
        for tool in ("bench-ab", "bench-httpx"):
            ratio = statistics.median(s[0] for s in samples[tool]) / ab_rps
            print(f"{name:10} {tool:12} / ab = {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
