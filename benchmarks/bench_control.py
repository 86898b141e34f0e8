"""The control socket's cost: latency from a line a component prints to its appearance in
`devkit logs -f` (and, for reference, in the headless output of `devkit up` itself), and the
supervisor's memory with two followers attached.

A `pulse` component prints `MARK i t` (t = time.time() just before the print) every
--interval seconds. The latency of a line is the reader's time.time() when the line arrives
minus t (same machine, same clock). Medians over --lines lines, all in one run.
RSS: of the `devkit up` process, with no follower, then with two `devkit logs -f` followers
after every line went through them.

Run: .venv/bin/python benchmarks/bench_control.py [--lines 50] [--interval 0.05]
"""

from __future__ import annotations

import argparse
import os
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

from tests.support.standins import make_project, py_command  # noqa: E402

PULSE = (
    "import os, sys, time\n"
    "print('pulse ready', flush=True)\n"
    "while not os.path.exists(sys.argv[1]):\n"  # wait for the go (the followers are attached)
    "    time.sleep(0.01)\n"
    "for i in range({lines}):\n"
    "    time.sleep({interval})\n"
    "    print('MARK', i, repr(time.time()), flush=True)\n"
    "print('pulse done', flush=True)\n"
    "time.sleep(600)\n"
)


class Reader:
    """Reads a process's stdout on a thread; records (arrival time, line) of MARK lines."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.marks: dict[int, float] = {}  # i -> latency
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            now = time.time()
            self.lines.append(line)
            text = line.rsplit("| ", 1)[-1].split()
            if len(text) == 3 and text[0] == "MARK":
                self.marks[int(text[1])] = now - float(text[2])

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"no {text!r}:\n{''.join(self.lines[-20:])}")
            time.sleep(0.01)


def devkit(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "devkit", "--root", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.05)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-control-"))
    go = work / "go"
    code = PULSE.format(lines=args.lines, interval=args.interval)
    root = make_project(
        work / "proj",
        {"pulse": {"command": py_command(code) + f" {go}", "readiness": {"log": "pulse ready"}}},
    )
    up = devkit(root, "up", "--headless")
    headless = Reader(up)
    followers: list[subprocess.Popen[str]] = []
    try:
        headless.wait_for("all components healthy")
        supervisor = psutil.Process(up.pid)
        rss_idle = supervisor.memory_info().rss
        followers = [devkit(root, "logs", "-f", "pulse", "-n", "1") for _ in range(2)]
        readers = [Reader(p) for p in followers]
        for reader in readers:
            reader.wait_for("pulse ready")
        go.write_text("go\n")  # the pulse starts printing
        for reader in [headless, *readers]:
            reader.wait_for("pulse done", 30 + args.lines * args.interval * 4)
        rss_two = supervisor.memory_info().rss
        print(f"{args.lines} lines, one every {args.interval * 1000:.0f} ms (shared machine)")
        headless_ms = statistics.median(headless.marks.values()) * 1000
        print(f"  headless `devkit up` output     median {headless_ms:6.2f} ms")
        for n, reader in enumerate(readers, 1):
            values = sorted(reader.marks.values())
            median = statistics.median(values) * 1000
            p90 = values[int(len(values) * 0.9) - 1] * 1000
            print(
                f"  `devkit logs -f` follower {n}     median {median:6.2f} ms  p90 {p90:6.2f} ms "
                f"({len(values)} lines; {median / headless_ms:.1f}x headless)"
            )
        print(
            f"  supervisor RSS: {rss_idle / 2**20:.1f} MiB without followers, "
            f"{rss_two / 2**20:.1f} MiB with two followers attached"
        )
    finally:
        for proc in [*followers, up]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*followers, up]:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
