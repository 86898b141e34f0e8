"""Drive the load with httpx when ApacheBench is not installed (or when asked).

Bounded: `concurrency` requests in flight at most, as that many threads sharing one
httpx.Client (its pool is thread-safe), split over a few worker processes (one per core, at
most 4). Why not AsyncClient: measured here against gunicorn, the async stack (anyio,
asyncio) spends ~2.1 ms of CPU per request, the sync client in threads ~0.8 ms (ab ~0.1 ms);
on two shared cores the client would otherwise be what gets measured. The request is built
once and sent again and again (a third less CPU than `client.get`). Like the seed's ab
command it opens a new connection per request unless keep_alive is set.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from devkit.bench.load import LoadSpec, Progress, no_progress
from devkit.bench.stats import LoadResult, from_latencies
from devkit.errors import DevkitError

# httpx imports its transport on the first request (~0.3 s of a 2 s run): load it beforehand,
# outside the timed part
TRANSPORT_MODULES = ("h11", "httpcore._sync.connection_pool", "httpcore._backends.sync")
MAX_PROCESSES = 4
MIN_REQUESTS_PER_PROCESS = 100  # below this a second process costs more than it gives


@dataclass
class Share:
    """What one worker process measured."""

    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    non_2xx: int = 0
    began: float = 0.0  # time.monotonic(): one clock for every process on the machine
    ended: float = 0.0


def _load(spec: LoadSpec, gate: Callable[[], None], tick: Callable[[], None]) -> Share:
    """Send spec.requests requests from spec.concurrency threads; `gate` runs once everything
    is ready (the parent starts every process at once), `tick` after each request."""
    for name in TRANSPORT_MODULES:
        importlib.import_module(name)
    limits = httpx.Limits(
        max_connections=spec.concurrency,
        max_keepalive_connections=spec.concurrency if spec.keep_alive else 0,
    )
    share = Share()
    lock = threading.Lock()
    issued = 0
    with httpx.Client(limits=limits, timeout=spec.timeout) as client:
        request = client.build_request("GET", spec.url, headers=dict(spec.headers))

        def worker() -> None:
            nonlocal issued
            while True:
                with lock:
                    if issued >= spec.requests:
                        return
                    issued += 1
                start = time.perf_counter()
                try:
                    response = client.send(request)
                except httpx.HTTPError as exc:
                    kind = type(exc).__name__
                    with lock:
                        share.failures[kind] = share.failures.get(kind, 0) + 1
                else:
                    elapsed_ms = (time.perf_counter() - start) * 1000
                    with lock:
                        share.latencies.append(elapsed_ms)
                        if not 200 <= response.status_code < 300:
                            share.non_2xx += 1
                tick()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(spec.concurrency)]
        gate()
        share.began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        share.ended = time.monotonic()
    return share


def _process_main(spec: LoadSpec, ready: Any, start: Any, counter: Any, out: Any) -> None:
    """A worker process: get ready, wait for the start signal, load, send the Share back."""

    def gate() -> None:
        ready.put(os.getpid())
        start.wait()

    def tick() -> None:
        with counter.get_lock():
            counter.value += 1

    try:
        out.put(_load(spec, gate, tick))
    except BaseException as exc:  # reported to the parent, which raises
        out.put(f"{type(exc).__name__}: {exc}")
        raise


def split(spec: LoadSpec, parts: int) -> list[LoadSpec]:
    """`parts` specs whose requests and concurrency add up to spec's."""
    return [
        replace(
            spec,
            requests=spec.requests // parts + (i < spec.requests % parts),
            concurrency=spec.concurrency // parts + (i < spec.concurrency % parts),
        )
        for i in range(parts)
    ]


def default_processes(spec: LoadSpec) -> int:
    cores = os.cpu_count() or 1
    by_size = max(1, spec.requests // MIN_REQUESTS_PER_PROCESS)
    return max(1, min(cores, MAX_PROCESSES, spec.concurrency, by_size))


def _result(spec: LoadSpec, shares: list[Share], began: float) -> LoadResult:
    failures: dict[str, int] = {}
    for share in shares:
        for kind, count in share.failures.items():
            failures[kind] = failures.get(kind, 0) + count
    return from_latencies(
        "httpx",
        spec.requests,
        [ms for share in shares for ms in share.latencies],
        failed=sum(failures.values()),
        non_2xx=sum(share.non_2xx for share in shares),
        duration_s=max(share.ended for share in shares) - began,
        failed_detail=failures,
    )


def _run_one(spec: LoadSpec, progress: Progress) -> LoadResult:
    done = 0
    step = max(1, spec.requests // 100)
    lock = threading.Lock()

    def tick() -> None:
        nonlocal done
        with lock:
            done += 1
            now = done
        if now % step == 0:
            progress(now, spec.requests)

    share = _load(spec, lambda: None, tick)
    return _result(spec, [share], share.began)


def _run_many(spec: LoadSpec, parts: int, progress: Progress) -> LoadResult:
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads
    ready, out, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    counter = ctx.Value("i", 0)
    procs = [
        ctx.Process(target=_process_main, args=(part, ready, start, counter, out), daemon=True)
        for part in split(spec, parts)
    ]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            ready.get(timeout=120)
        began = time.monotonic()
        start.set()
        shares: list[Share] = []
        while len(shares) < len(procs):
            try:
                got = out.get(timeout=0.1)
            except queue.Empty:
                progress(counter.value, spec.requests)
                if any(p.exitcode not in (None, 0) for p in procs) and out.empty():
                    raise DevkitError(
                        "a load worker process died", "run again with -c 1 to see the error"
                    ) from None
                continue
            if isinstance(got, str):
                raise DevkitError(f"a load worker failed: {got}", "check the URL and the server")
            shares.append(got)
    except queue.Empty:
        raise DevkitError(
            "the load workers did not start within 120 s", "the machine may be overloaded"
        ) from None
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
    progress(spec.requests, spec.requests)
    return _result(spec, shares, began)


def run_httpx(
    spec: LoadSpec, progress: Progress = no_progress, processes: int | None = None
) -> LoadResult:
    parts = processes or default_processes(spec)
    return _run_one(spec, progress) if parts <= 1 else _run_many(spec, parts, progress)
