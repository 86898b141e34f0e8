"""What `devkit up` costs while nothing happens, and its memory with full log buffers.

Figures (issue 13 targets), one machine run, each printed against its target:
  idle CPU, dashboard   devkit's own process (supervisor, watchers, probes, UI timers) over
                        --seconds once everything is healthy: PostgreSQL + API + stand-in Metro,
                        the dashboard on a pseudo-terminal                      target < 1 %
  idle CPU, headless    the same with `up --headless`                          (no target)
  RSS, 10k lines each   devkit's resident memory after three extra processes printed 12k lines
                        each (log_buffer_lines = 10000), dashboard on a pty   target < 150 MB
The children's own CPU (PostgreSQL, the API, Metro) is printed beside, for scale; it is not
devkit's, nor is the machine's load average (1 min, at the start and the end of the windows),
printed because the machine may be shared. Medians over --runs idle windows when --runs > 1.

Run: .venv/bin/python benchmarks/bench_idle.py [--seconds 60] [--runs 1]
"""

from __future__ import annotations

import argparse
import os
import pty
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devkit.core.runstate import read_state  # noqa: E402
from tests.support.stack import make_stack_project  # noqa: E402
from tests.support.standins import make_project, py_command  # noqa: E402

CHATTY = (
    "import sys, time\n"
    "for i in range(12000):\n"
    "    print(f'line {i:05d} ' + 'x' * 100)\n"
    "print('done', flush=True)\n"
    "time.sleep(3600)\n"
)


def start(root: Path, dashboard: bool) -> tuple[subprocess.Popen[bytes], int | None]:
    """`devkit up`, on a pty when `dashboard` (its output drained by a thread)."""
    argv = [sys.executable, "-m", "devkit", "--root", str(root), "up"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "TERM": "xterm-256color"}
    if not dashboard:
        proc = subprocess.Popen(
            [*argv, "--headless"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env
        )
        return proc, None
    master, slave = pty.openpty()
    os.set_blocking(master, True)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)

    def drain() -> None:
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass

    threading.Thread(target=drain, daemon=True).start()
    return proc, master


def wait_healthy(root: Path, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"devkit exited with {proc.returncode} before all healthy")
        components = (read_state(root / ".devkit") or {}).get("components") or {}
        states = [entry.get("state") for entry in components.values()]
        if states and all(s in ("healthy", "disabled") for s in states):
            return
        time.sleep(0.1)
    raise RuntimeError(f"not all healthy within {timeout}s")


def stop(proc: subprocess.Popen[bytes], master: int | None) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if master is not None:
        os.close(master)


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def children_cpu(process: psutil.Process) -> float:
    total = 0.0
    for child in process.children(recursive=True):
        try:
            total += cpu_seconds(child)
        except psutil.NoSuchProcess:
            pass
    return total


def idle_cpu(root: Path, dashboard: bool, seconds: float, runs: int) -> tuple[float, float, str]:
    """(devkit's CPU %, its children's CPU %, the load average before -> after) over
    `seconds` of idling, medians of `runs`."""
    proc, master = start(root, dashboard)
    try:
        wait_healthy(root, proc)
        me = psutil.Process(proc.pid)
        time.sleep(3)  # let start-up work (imports in threads, first probes) finish
        own, kids = [], []
        load0 = os.getloadavg()[0]
        for _ in range(runs):
            own0, kids0, t0 = cpu_seconds(me), children_cpu(me), time.monotonic()
            time.sleep(seconds)
            wall = time.monotonic() - t0
            own.append(100 * (cpu_seconds(me) - own0) / wall)
            kids.append(100 * (children_cpu(me) - kids0) / wall)
        load = f"load {load0:.2f} -> {os.getloadavg()[0]:.2f}"
        return statistics.median(own), statistics.median(kids), load
    finally:
        stop(proc, master)


def buffered_rss(base: Path) -> float:
    """devkit's RSS (MB) once three processes printed 12k lines each, dashboard on a pty."""
    processes = {
        f"chatty{n}": {"command": py_command(CHATTY), "readiness": {"log": "^done$"}}
        for n in range(3)
    }
    root = make_project(base / "rss", processes, extra={"log_buffer_lines": 10000})
    proc, master = start(root, dashboard=True)
    try:
        wait_healthy(root, proc)
        me = psutil.Process(proc.pid)
        time.sleep(3)  # the dashboard flushes its batches
        return me.memory_info().rss / 1e6
    finally:
        stop(proc, master)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-idle-"))
    try:
        stack = make_stack_project(base / "stack", metro=True).root
        expo = stack / "client" / "node_modules" / "expo"  # Metro's pre-start package check
        expo.mkdir(parents=True, exist_ok=True)
        (expo / "package.json").write_text('{"name": "expo", "version": "51.0.0"}')
        dash, dash_kids, dash_load = idle_cpu(stack, True, args.seconds, args.runs)
        head, head_kids, head_load = idle_cpu(stack, False, args.seconds, args.runs)
        rss = buffered_rss(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"devkit up idle, {args.seconds:g}s windows x {args.runs} (machine shared: noisy):")
    print(
        f"  idle CPU, dashboard: {dash:5.2f} %  target < 1 %: "
        f"{'meets' if dash < 1 else 'MISSES'} ({dash / 1:.2f} of it); children {dash_kids:.2f} %; "
        f"{dash_load}"
    )
    print(
        f"  idle CPU, headless:  {head:5.2f} %  (dashboard / headless = {dash / head:.1f}x); "
        f"children {head_kids:.2f} %; {head_load}"
    )
    print(
        f"  RSS with 3 x 12k lines (10k kept each): {rss:6.1f} MB  target < 150 MB: "
        f"{'meets' if rss < 150 else 'MISSES'} ({rss / 150:.2f} of it)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
