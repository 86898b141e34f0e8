"""The source watcher (devkit/host/watch.py): inotify (Linux default) against watchfiles.

Figures, both watchers in one run, with the settings the API's source watcher uses:
  detection    a save (truncate + write, as VS Code does; an atomic replace, as vim and
               formatters do) to the batch handed over by watch(), in the same process;
               median and 90th percentile over --rounds saves        target <= ~3-5 ms
  idle CPU     a process running only the watcher on the project's server/ for --seconds:
               its CPU time (all threads) / wall time; a process running an empty asyncio
               loop is the floor                                      target ~0 (all of
                                                                      `devkit up` < 1 %)
The machine is shared by parallel jobs: read medians and same-run ratios.

Run: .venv/bin/python benchmarks/bench_watch.py [--rounds 40] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devkit.host.watch import watch  # noqa: E402

BACKENDS = ("inotify", "watchfiles")
GAP_S = 0.08  # between saves: longer than the debounce, so each save is a batch of its own


async def detection(
    backend: str, folder: Path, rounds: int, how: str
) -> tuple[list[float], list[float]]:
    """Milliseconds from each save's start to the batch that reports it, and of the save
    itself (the file system's part)."""
    target = folder / "app.py"
    target.write_text("VALUE = 0\n")
    stop = asyncio.Event()
    arrived: asyncio.Queue[tuple[float, list[Path]]] = asyncio.Queue()

    async def consume() -> None:
        async for changed in watch([folder], stop_event=stop, backend=backend):
            arrived.put_nowait((time.perf_counter(), changed))

    task = asyncio.create_task(consume())
    probe = folder / "probe.py"
    while True:  # running once it reports a probe (watchfiles sets up in a thread)
        probe.write_text("x")
        try:
            _, changed = await asyncio.wait_for(arrived.get(), 0.5)
        except TimeoutError:
            continue
        if probe in changed:
            break
    await asyncio.sleep(GAP_S)
    while not arrived.empty():
        arrived.get_nowait()
    times: list[float] = []
    writes: list[float] = []
    for i in range(rounds):
        began = time.perf_counter()
        if how == "save":
            with target.open("w") as f:
                f.write(f"VALUE = {i}\n")
        else:
            tmp = folder / f".app.py.{i}.tmp"
            tmp.write_text(f"VALUE = {i}\n")
            os.replace(tmp, target)
        writes.append((time.perf_counter() - began) * 1000)
        while True:
            at, changed = await asyncio.wait_for(arrived.get(), 5)
            if target in changed:
                times.append((at - began) * 1000)
                break
        await asyncio.sleep(GAP_S)
        while not arrived.empty():
            arrived.get_nowait()
    stop.set()
    await asyncio.wait_for(task, 5)
    return times, writes


def idle_child(backend: str, folder: Path, seconds: float) -> None:
    """Run one watcher (or none) idle; print {"cpu": CPU seconds, "wall": seconds}."""

    async def run() -> None:
        stop = asyncio.Event()

        async def consume() -> None:
            async for _ in watch([folder], stop_event=stop, backend=backend):
                pass

        task = asyncio.create_task(consume()) if backend != "none" else None
        await asyncio.sleep(1.0)  # set-up done (watchfiles starts its thread)
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        print(json.dumps({"cpu": cpu, "wall": wall}), flush=True)
        stop.set()
        if task is not None:
            await asyncio.wait_for(task, 5)

    asyncio.run(run())


def idle_cpu(seconds: float) -> dict[str, float]:
    """Percent of a core per backend (and the empty loop), the processes run side by side."""
    folder = ROOT / "server"
    procs = {
        name: subprocess.Popen(
            [sys.executable, __file__, "--idle-child", name, str(folder), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("none", *BACKENDS)
    }
    result: dict[str, float] = {}
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=seconds + 60)
        figures = json.loads(out.strip().splitlines()[-1])
        result[name] = 100 * figures["cpu"] / figures["wall"]
    return result


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"median {statistics.median(times):6.2f} ms   p90 {p90:6.2f} ms   (n={len(times)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--idle-child", nargs=3, metavar=("BACKEND", "FOLDER", "SECONDS"))
    args = parser.parse_args()
    if args.idle_child:
        backend, folder, seconds = args.idle_child
        idle_child(backend, Path(folder), float(seconds))
        return 0
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores, shared)")
    print(f"detection, {args.rounds} saves each (API source watcher settings)")
    medians: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="watch-bench-") as tmp:
        for how in ("save", "replace"):
            for backend in BACKENDS:
                folder = Path(tmp) / f"{backend}-{how}"
                folder.mkdir()
                times, writes = asyncio.run(detection(backend, folder, args.rounds, how))
                medians[(backend, how)] = statistics.median(times)
                print(
                    f"  {how:8s} {backend:11s} {summary(times)}  "
                    f"(the write itself: median {statistics.median(writes):.2f} ms)"
                )
    for how in ("save", "replace"):
        ratio = medians[("watchfiles", how)] / medians[("inotify", how)]
        print(f"  {how}: watchfiles / inotify = {ratio:.1f}x")
    print(f"idle CPU, one process per watcher on server/ for {args.seconds:.0f} s (side by side)")
    for name, percent in idle_cpu(args.seconds).items():
        label = "empty asyncio loop" if name == "none" else name
        print(f"  {label:20s} {percent:6.3f} % of a core")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
