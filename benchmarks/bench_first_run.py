"""First run on a fresh clone: `./scripts/dev up --headless` until all components are healthy.

Each run clones the repository (its committed HEAD) into a temp folder, writes a .env with free
ports, and runs the README's own command with PostgreSQL on the local binaries (initdb
included: a fresh clone has no cluster). The time is split where scripts/lib.sh prints
"devkit: .venv ready": install (venv + packages) vs start (devkit up to all healthy).
Installers: uv with the committed uv.lock (package cache warm after the first run, which is
not counted) and pip from pyproject.toml's ranges (DEVKIT_NO_UV=1; pip's cache is warm too).
Target (issue 13): fresh clone to all healthy <= 5 s with a warm package cache.

Run: .venv/bin/python benchmarks/bench_first_run.py [--runs N] [--pip-runs M]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.ports import free_port  # noqa: E402

READY = "all components healthy"
INSTALLED = "devkit: .venv ready"
TARGET_S = 5.0


def fresh_clone(workdir: Path) -> Path:
    clone = Path(tempfile.mkdtemp(prefix="bench-first-run-", dir=workdir))
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env_lines = []
    for line in (clone / ".env.example").read_text().splitlines():
        name = line.partition("=")[0]
        if name == "PORT":
            line = f"PORT={free_port()}"
        elif name == "POSTGRES_PORT":
            line = f"POSTGRES_PORT={free_port()}"
        elif name in ("POSTGRES_PASSWORD", "JWT_SECRET"):
            line = f"{name}={secrets.token_hex(24)}"
        env_lines.append(line)
    (clone / ".env").write_text("\n".join(env_lines) + "\n")
    (clone / ".env").chmod(0o600)  # as devkit makes it: it warns about readable secrets
    return clone


def first_run(clone: Path, use_uv: bool, timeout: float = 300) -> tuple[float, float]:
    """(install seconds, start seconds) of `./scripts/dev up --headless` in `clone`."""
    env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1", "DEVKIT_TEST_DOCKER": "off"}
    env.pop("VIRTUAL_ENV", None)
    if not use_uv:
        env["DEVKIT_NO_UV"] = "1"
    argv = ["./scripts/dev", "up", "--headless", "--db-backend", "native"]
    begun = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=clone, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    installed = healthy = None
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            now = time.perf_counter() - begun
            if INSTALLED in line:
                installed = now
            elif READY in line:
                healthy = now
                break
            if now > timeout:
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if installed is None or healthy is None:
        raise RuntimeError("the first run did not reach all healthy:\n" + "".join(lines[-30:]))
    return installed, healthy - installed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="uv runs (after one warm-up)")
    parser.add_argument("--pip-runs", type=int, default=1, help="pip runs (0: skip)")
    parser.add_argument("--workdir", default="/tmp")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    results: dict[str, list[tuple[float, float]]] = {"uv": [], "pip": []}
    plan = [("uv", True)] * (args.runs + 1) + [("pip", False)] * args.pip_runs
    for index, (name, use_uv) in enumerate(plan):
        clone = fresh_clone(workdir)
        try:
            install, start = first_run(clone, use_uv)
        finally:
            shutil.rmtree(clone, ignore_errors=True)
        warmup = name == "uv" and index == 0
        print(
            f"{name:>3} run {index}: install {install:5.2f} s  start {start:5.2f} s  "
            f"total {install + start:5.2f} s" + ("  (warm-up, not counted)" if warmup else ""),
            flush=True,
        )
        if not warmup:
            results[name].append((install, start))
    print("\nmedians (the machine may be shared: compare within this run):")
    for name, runs in results.items():
        if not runs:
            continue
        install = statistics.median(r[0] for r in runs)
        start = statistics.median(r[1] for r in runs)
        total = statistics.median(r[0] + r[1] for r in runs)
        verdict = "" if name != "uv" else (" <= target" if total <= TARGET_S else " ABOVE target")
        print(
            f"  {name}: install {install:.2f} s + start {start:.2f} s = {total:.2f} s "
            f"(target {TARGET_S:.0f} s{verdict}; {len(runs)} runs)"
        )
    if results["uv"] and results["pip"]:
        ratio = statistics.median(r[0] for r in results["pip"]) / statistics.median(
            r[0] for r in results["uv"]
        )
        print(f"  install pip / uv = {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
