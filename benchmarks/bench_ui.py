"""Dashboard speed, measured on the real app in a real pseudo-terminal (120x40).

  ingest   lines/s from a thread publishing as fast as it can until the last line is on screen
  latency  key-press latency (terminal byte written -> action runs) under a 20,000 lines/s flood
  idle     CPU % of one core used by the dashboard process over 5 s, every component healthy

The dashboard runs in a child process on a pty (Textual's real Linux driver, real rendering);
the parent drains the terminal output, types keys and reads psutil. The supervisor is the
scripted test double (tests/ui/scripted.py), so only the UI's cost is measured. Medians.

Run: .venv/bin/python benchmarks/bench_ui.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.pty_child import spawn_on_pty  # noqa: E402

SIZE = (120, 40)  # columns, rows
INGEST_LINES = 200_000
FLOOD_RATE = 20_000
PRESSES = 30


# --- child: the dashboard ---------------------------------------------------------------------
def child(mode: str, report: str) -> int:
    from devkit.ui.app import DashboardApp
    from tests.ui.scripted import ScriptedController

    out = open(report, "a", buffering=1)
    controller = ScriptedController()

    class Bench(DashboardApp):
        started = 0.0

        def on_ready(self) -> None:
            out.write(f"ready {time.monotonic()}\n")
            if mode == "ingest":
                self.started = time.perf_counter()
                controller.flood(INGEST_LINES)
            elif mode == "flood":
                controller.flood(FLOOD_RATE * 120, per_second=FLOOD_RATE)

        def _flush_events(self) -> None:
            super()._flush_events()
            last = f"flood line {INGEST_LINES - 1}"
            if (
                mode == "ingest"
                and self.started
                and any(line.text == last for line in list(self.log_view.all_lines)[-3:])
            ):
                seconds = time.perf_counter() - self.started
                self.started = 0.0
                out.write(f"ingest {INGEST_LINES} {seconds} {self.dropped}\n")

        def action_toggle_follow(self) -> None:
            out.write(f"key {time.monotonic()} {self.bridge.received} {self.dropped}\n")
            super().action_toggle_follow()

    Bench(controller, lan_host="192.168.1.23").run()
    return 0


# --- parent: terminal, keys, measurements ------------------------------------------------------
class Terminal:
    def __init__(self, mode: str) -> None:
        self.report = Path(tempfile.mkstemp(prefix="bench_ui_", suffix=".txt")[1])
        self.proc, self.master = spawn_on_pty(
            "benchmarks.bench_ui",
            "--child",
            mode,
            str(self.report),
            env={"COLUMNS": str(SIZE[0]), "LINES": str(SIZE[1])},
            size=SIZE,
        )
        self.output = 0
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.output += len(data)
            if os.environ.get("BENCH_UI_DEBUG"):
                sys.stderr.write(data.decode(errors="replace"))

    def lines(self, kind: str) -> list[list[str]]:
        text = self.report.read_text() if self.report.exists() else ""
        return [line.split()[1:] for line in text.splitlines() if line.startswith(kind + " ")]

    def wait_for(self, kind: str, count: int = 1, timeout: float = 60.0) -> list[list[str]]:
        deadline = time.monotonic() + timeout
        while len(found := self.lines(kind)) < count:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"dashboard did not report {kind!r} (exit {self.proc.poll()})")
            time.sleep(0.01)
        return found

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        try:
            self.type("q")
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            os.close(self.master)
            self.report.unlink(missing_ok=True)


def bench_ingest() -> tuple[float, int]:
    term = Terminal("ingest")
    try:
        term.wait_for("ready")
        ((n, seconds, dropped),) = term.wait_for("ingest", timeout=120)
        return int(n) / float(seconds), int(dropped)
    finally:
        term.close()


def bench_latency() -> tuple[list[float], int, int]:
    term = Terminal("flood")
    try:
        term.wait_for("ready")
        time.sleep(1.0)  # let the flood reach its steady rate
        latencies = []
        for i in range(PRESSES):
            sent = time.monotonic()
            term.type("f")
            handled = term.wait_for("key", i + 1, timeout=10)[i][0]
            latencies.append(float(handled) - sent)
            time.sleep(0.1)
        _, received, dropped = term.lines("key")[-1]
        return latencies, int(received), int(dropped)
    finally:
        term.close()


def bench_idle(seconds: float = 5.0) -> float:
    import psutil

    term = Terminal("idle")
    try:
        term.wait_for("ready")
        time.sleep(1.0)
        proc = psutil.Process(term.proc.pid)
        before = proc.cpu_times()
        start = time.monotonic()
        time.sleep(seconds)
        after = proc.cpu_times()
        used = (after.user - before.user) + (after.system - before.system)
        return 100.0 * used / (time.monotonic() - start)
    finally:
        term.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "REPORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    ingest = [bench_ingest() for _ in range(args.runs)]
    rates = [rate for rate, _ in ingest]
    print(
        f"ingest: median {statistics.median(rates):,.0f} lines/s "
        f"(runs: {', '.join(f'{r:,.0f}' for r in rates)}; {INGEST_LINES:,} lines each from "
        f"an unpaced thread; lines skipped: {', '.join(str(d) for _, d in ingest)})"
    )
    floods = [bench_latency() for _ in range(args.runs)]
    ms = sorted(1000 * lat for lats, _, _ in floods for lat in lats)
    print(
        f"key latency under {FLOOD_RATE:,} lines/s: median {statistics.median(ms):.1f} ms, "
        f"p90 {ms[int(0.9 * (len(ms) - 1))]:.1f} ms, max {ms[-1]:.1f} ms "
        f"({len(ms)} presses; lines received/skipped: "
        f"{', '.join(f'{r}/{d}' for _, r, d in floods)})"
    )
    idle = [bench_idle() for _ in range(args.runs)]
    print(
        f"idle CPU: median {statistics.median(idle):.2f}% of a core "
        f"(runs: {', '.join(f'{v:.2f}' for v in idle)}; 5 s each, all healthy)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
