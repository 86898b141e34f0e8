"""Dev API throughput: `ab -n 1000 -c 10` GET /api/notes (bearer token, page of 20) on the same
PostgreSQL, same data, all servers in one run.

Servers:
  devkit      `devkit up --headless` (components = ["api"], fork reloading): the dev API as
              developers run it, access lines relayed to devkit's log
              (the child serves with granian, the default: devkit/warmfork/granian_serving.py)
  devkit-waitress  the same with DEVKIT_API_SERVER=waitress
  gunicorn    the same server/ under gunicorn, 2 workers x 4 threads
  express     the seed's stack: Express + pg under tsx (when node and npm are there)
Target (issue 13): devkit's req/s at least Express's. Report medians over --runs and ratios from
the same run: the machine is shared, absolute figures move. Each round runs every server once
(interleaved); the per-round ratio devkit/peer is printed, and its median is the headline figure
(a busy moment hits one round's servers alike more than it hits medians taken apart).

Run: .venv/bin/python benchmarks/bench_api.py [--runs 3] [--requests 1000] [--only devkit,...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import node_peer  # noqa: E402
from tests.support.pg import started_cluster  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

BIN = Path(sys.executable).parent
SERVERS = ("devkit", "devkit-waitress", "gunicorn", "express")
DEVKITS = ("devkit", "devkit-waitress")
SECRET = "bench-secret-" + "x" * 40


def http(method: str, url: str, body: dict[str, object] | None = None, token: str = "") -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def wait_ok(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} never answered 200")


def ab(url: str, token: str, requests: int, concurrency: int) -> tuple[float, float, int]:
    """(req/s, p95 ms, failed) from ApacheBench."""
    out = subprocess.run(
        [
            "ab",
            "-q",
            "-n",
            str(requests),
            "-c",
            str(concurrency),
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p95 = float(re.search(r"^\s+95%\s+(\d+)", out, re.M).group(1))  # type: ignore[union-attr]
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    return rps, p95, failed + (int(non2xx.group(1)) if non2xx else 0)


class Server:
    def __init__(self, name: str, root: Path, url: str, modules: Path | None) -> None:
        self.name, self.root, self.db_url, self.modules = name, root, url, modules
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        backend = {"DEVKIT_API_SERVER": "waitress" if self.name == "devkit-waitress" else "granian"}
        return {
            **os.environ,
            **backend,
            "PORT": str(self.port),
            "DATABASE_URL": self.db_url,
            "JWT_SECRET": SECRET,
            "APP_ENV": "development",
            "LOG_DIR": str(self.root / "logs"),
            "PYTHONUNBUFFERED": "1",
        }

    def start(self) -> None:
        if self.name in DEVKITS:
            (self.root / "pyproject.toml").write_text(
                '[project]\nname = "bench"\nversion = "0"\n\n[tool.devkit]\n'
                'components = ["api"]\napi_reload = "fork"\nadb_reverse = false\n'
                "migrate_on_start = false\n"
            )
            env_lines = [
                f"{k}={v}"
                for k, v in self.env().items()
                if k in ("PORT", "DATABASE_URL", "JWT_SECRET", "APP_ENV", "LOG_DIR")
            ]
            (self.root / ".env").write_text(
                "\n".join([*env_lines, "DEVKIT_LAN_HOST=127.0.0.1"]) + "\n"
            )
            (self.root / ".env").chmod(0o600)
            argv = [sys.executable, "-m", "devkit", "--root", str(self.root), "up", "--headless"]
        elif self.name == "gunicorn":
            argv = [
                str(BIN / "gunicorn"),
                "-w",
                "2",
                "--threads",
                "4",
                "-b",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "server.wsgi:app",
            ]
        else:
            assert self.modules is not None
            node_peer.make_project(self.root / "peer", self.modules)
            argv = [node_peer.tsx(self.modules), "server.ts"]
        cwd = self.root / "peer" if self.name == "express" else self.root
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_ok(f"http://127.0.0.1:{self.port}/status")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--only", default=",".join(SERVERS))
    args = parser.parse_args()
    if shutil.which("ab") is None:
        print("ab is missing: apt-get install apache2-utils")
        return 2
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    modules = node_peer.install() if "express" in names else None
    if "express" in names and modules is None:
        print("express: skipped (node/npm missing or the npm registry unreachable)")
        names.remove("express")
    samples: dict[str, list[tuple[float, float, int]]] = {n: [] for n in names}
    with started_cluster() as cluster, tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        from server import migrations

        db = cluster.url(cluster.create_database("bench_api"))
        migrations.apply_pending(db)
        root = Path(tmp)
        shutil.copytree(
            ROOT / "server", root / "server", ignore=shutil.ignore_patterns("__pycache__")
        )
        token = ""
        print(
            f"ab -n {args.requests} -c {args.concurrency} GET /api/notes?limit=20 (bearer), "
            f"{args.runs} run(s) each, servers interleaved; shared machine: medians and ratios"
        )
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for run in range(args.runs):
            for name in names:
                server = Server(name, root, db, modules)
                try:
                    server.start()  # inside: a server that never answers is stopped too
                    base = f"http://127.0.0.1:{server.port}"
                    if not token:
                        reply = http(
                            "POST",
                            f"{base}/api/v1/auth/register",
                            {"username": "bench", "password": "bench password 123"},
                        )
                        token = str(reply["token"])
                        for n in range(40):
                            http(
                                "POST",
                                f"{base}/api/v1/notes",
                                {"title": f"note {n}", "body": "b" * 80},
                                token,
                            )
                    ab(f"{base}/api/notes?limit=20", token, 200, args.concurrency)  # warm-up
                    result = ab(
                        f"{base}/api/notes?limit=20", token, args.requests, args.concurrency
                    )
                    samples[name].append(result)
                    print(
                        f"  run {run + 1} {name:14s} {result[0]:8.1f} req/s  p95 {result[1]:4.0f} ms"
                        f"  failed {result[2]}"
                    )
                finally:
                    server.stop()
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    medians = {n: statistics.median(r[0] for r in s) for n, s in samples.items() if s}
    for name, s in samples.items():
        if s:
            print(
                f"{name:14s} median {medians[name]:8.1f} req/s   p95 {statistics.median(r[1] for r in s):4.0f} ms"
            )
    for dev in DEVKITS:
        if not samples.get(dev):
            continue
        ratios: dict[str, float] = {}
        for name in ("gunicorn", "express"):
            rounds = list(zip(samples[dev], samples.get(name, []), strict=False))
            if rounds:
                per_round = [mine[0] / peer[0] for mine, peer in rounds]
                ratios[name] = statistics.median(per_round)
                listed = ", ".join(f"{r:.2f}" for r in per_round)
                print(
                    f"{dev} / {name} = {ratios[name]:.2f}x (median of same-round ratios: "
                    f"{listed}; ratio of medians {medians[dev] / medians[name]:.2f}x)"
                )
        if "express" in ratios:
            met = ratios["express"] >= 1.0
            print(f"target ({dev} >= express, same round): {'met' if met else 'NOT met'}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
