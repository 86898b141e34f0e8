"""`devkit up --headless` to "all components healthy": medians over several runs, one machine run.

Scenarios (each in a temp project; nothing is left running):
  engine      extra processes only (a TCP server + the stand-in Metro): devkit's own overhead
  native-warm components = ["postgres"], db_backend = "native", cluster already initialised
  native-cold the same from nothing (.devkit/postgres removed before each run: initdb included)
  stack       PostgreSQL + the real API (a copy of server/, migrations applied), warm and cold
  floor       no devkit: a fresh interpreter importing that server/ and calling create_app(),
              the least any way of starting the API pays (its libraries' imports)
Targets (issue 13): an existing cluster healthy within 0.4 s, from nothing (initdb included)
within 1.2 s; each figure is printed against its target. The figures depend on whether the
libraries have bytecode (.pyc): without it (a venv installed without compiling, and
PYTHONDONTWRITEBYTECODE=1) every start compiles flask, psycopg & co. from source, so the line
"bytecode:" says which it was, and the load average says how busy the machine was.

Run: .venv/bin/python benchmarks/bench_up.py [--runs N] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.ports import free_port  # noqa: E402
from tests.support.stack import StackProject, make_stack_project  # noqa: E402
from tests.support.standins import make_project, py_command  # noqa: E402

SERVE = (
    "import socket, sys, time; s = socket.socket(); "
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
    "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(600)"
)
READY = "all components healthy"


def time_up(root: Path, timeout: float = 60, then_until: Path | None = None) -> float:
    """Seconds from spawning `devkit up --headless` to its all-healthy line; then SIGTERM
    (once `then_until` exists, when given: what a longer run leaves for the next one)."""
    env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    begun = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit", "--root", str(root), "up", "--headless"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    elapsed = None
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if READY in line:
                elapsed = time.perf_counter() - begun
                if then_until is not None:
                    wait_file(then_until, 30)
                break
            if time.perf_counter() - begun > timeout:
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if elapsed is None:
        raise RuntimeError("devkit never became healthy:\n" + "".join(lines[-20:]))
    return elapsed


def wait_file(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} did not appear within {timeout:g}s")
        time.sleep(0.05)


def bytecode_note() -> str:
    """Whether imports here can use bytecode: the libraries' .pyc files, and writing new ones."""
    import sysconfig

    flask = Path(sysconfig.get_paths()["purelib"]) / "flask"
    cached = any(flask.glob("__pycache__/*.pyc")) if flask.is_dir() else False
    writes = not sys.dont_write_bytecode
    return (
        f"bytecode: site-packages {'compiled' if cached else 'NOT compiled'}, "
        f"{'writes .pyc' if writes else 'PYTHONDONTWRITEBYTECODE set (no .pyc written)'}"
    )


def time_command(argv: list[str], **kwargs: Any) -> float:
    begun = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, **kwargs)
    return time.perf_counter() - begun


def app_floor(stack: StackProject, base: Path, runs: int) -> float:
    """A fresh interpreter importing server/ and calling create_app(), no devkit at all: what
    any way of starting this API pays before it can answer (bytecode for server/ too, kept
    outside the project; create_app() opens no connection)."""
    env = {
        **os.environ,
        "DATABASE_URL": stack.database_url,
        "JWT_SECRET": "f" * 48,
        "PYTHONPYCACHEPREFIX": str(base / "pycache"),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    argv = [sys.executable, "-c", "import server; server.create_app()"]
    time_command(argv, cwd=stack.root, env=env)  # writes the bytecode
    value, _ = median(lambda: time_command(argv, cwd=stack.root, env=env), runs)
    return value


def warm_and_cold(label: str, root: Path, runs: int, api: bool = False) -> dict[str, float]:
    """Median `up` time with the cluster in place, then from nothing (.devkit removed).
    With the API, "existing" also means what an earlier run learned: the first run lasts until
    the warm parent has written the libraries the API imports (.devkit/api-preloads.txt)."""
    time_up(root, then_until=root / ".devkit" / "api-preloads.txt" if api else None)
    warm, _ = median(lambda: time_up(root), runs)

    def wipe() -> None:
        shutil.rmtree(root / ".devkit", ignore_errors=True)

    cold, _ = median(lambda: time_up(root), max(3, runs // 2), before=wipe)
    return {f"up: {label}, existing cluster": warm, f"up: {label}, from nothing": cold}


def median(fn, runs: int, before=None) -> tuple[float, list[float]]:
    values = []
    for _ in range(runs):
        if before:
            before()
        values.append(fn())
    return statistics.median(values), values


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the temp projects live (default: the system temp folder; "
        "initdb is ~2x slower in a busy /tmp than in a project folder)",
    )
    args = parser.parse_args()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="bench-up-", dir=args.workdir))
    results: dict[str, float] = {}
    load_before = os.getloadavg()[0]
    try:
        python, _ = median(lambda: time_command([sys.executable, "-c", "pass"]), args.runs)
        cli, _ = median(
            lambda: time_command([sys.executable, "-m", "devkit", "--version"]), args.runs
        )
        results["python -c pass"] = python
        results["devkit --version"] = cli

        web = free_port()
        engine = make_project(
            base / "engine",
            {
                "web": {
                    "command": py_command(SERVE) + f" {web}",
                    "readiness": {"tcp": f"127.0.0.1:{web}"},
                }
            },
            components=("metro",),
            expo_client=True,
            env={"METRO_PORT": str(free_port()), "PORT": str(free_port())},
        )
        results["up: engine (tcp server + stand-in metro)"], _ = median(
            lambda: time_up(engine), args.runs
        )

        pg_port = free_port()
        native = make_project(
            base / "native",
            components=("postgres",),
            extra={"db_backend": "native"},
            env={
                "POSTGRES_PORT": str(pg_port),
                "POSTGRES_USER": "aios",
                "POSTGRES_DB": "aios",
                "DATABASE_URL": f"postgresql://aios:pw-standin-123@127.0.0.1:{pg_port}/aios",
            },
        )
        results.update(warm_and_cold("native postgres", native, args.runs))
        # what a developer runs: PostgreSQL + the real API (a copy of server/, migrated)
        stack = make_stack_project(base / "stack", metro=False)
        results["floor: python -c 'import server; server.create_app()'"] = app_floor(
            stack, base, args.runs
        )
        results.update(warm_and_cold("native postgres + api", stack.root, args.runs, api=True))
    finally:
        shutil.rmtree(base, ignore_errors=True)

    print(
        f"medians over {args.runs} runs (one machine run; {os.cpu_count()} cores, load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after; {bytecode_note()}):"
    )
    for name, value in results.items():
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            verdict = (
                f"{'meets' if value <= target else 'MISSES'} the issue-13 target "
                f"{target * 1000:.0f} ms ({value / target:.2f} of it)"
            )
        print(f"  {name:<50} {value * 1000:8.0f} ms  {verdict}")
    floor = results["floor: python -c 'import server; server.create_app()'"]
    stack_up = results["up: native postgres + api, existing cluster"]
    print(
        f"  up with the API (existing cluster) beyond the floor: {1000 * (stack_up - floor):.0f} ms"
        f" (the 400 ms target is {'above' if floor < 0.4 else 'below'} the floor itself)"
    )
    engine_time = results["up: engine (tcp server + stand-in metro)"]
    print(
        f"  engine up / python start ratio: {engine_time / python:.1f}x; "
        f"devkit import+CLI overhead {1000 * (cli - python):.0f} ms; "
        f"engine beyond the CLI's own start {1000 * (engine_time - cli):.0f} ms"
    )
    return 0


TARGETS = {  # issue 13: seconds to "all components healthy"
    "up: native postgres, existing cluster": 0.4,
    "up: native postgres, from nothing": 1.2,
    "up: native postgres + api, existing cluster": 0.4,
    "up: native postgres + api, from nothing": 1.2,
}


if __name__ == "__main__":
    raise SystemExit(main())
